// A small HTTP/1.1 server for the dashboard: one request per connection (answered with Connection: close), a thread
// per connection, a handler that sees a parsed request and returns a whole response. No TLS, no request bodies, no
// keep-alive: it serves a few pages and JSON documents to a browser on the same machine or behind a token.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dial/status.h"

namespace dial {

struct HttpRequest {
  std::string method;                          // as sent: "GET", "POST", ...
  std::string target;                          // the request target as sent: "/api/study?name=a%20b"
  std::string path;                            // decoded path without the query: "/api/study"
  std::map<std::string, std::string> query;    // decoded; a repeated key keeps its last value
  std::map<std::string, std::string> headers;  // names lower-cased; a repeated header keeps its last value (a
                                               // repeated Host is refused)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, in order
};

// Parses a request head (request line and headers, up to and without the blank line). InvalidArgument naming what
// is malformed: a bad request line, a header without a colon, a bad percent escape, a target that is not a path,
// more than one Host header.
Result<HttpRequest> ParseHttpRequest(std::string_view head);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in a query). InvalidArgument on a bad escape.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// The bytes sent for `response`: status line, Content-Type, Content-Length, Connection: close, the extra headers, the
// body.
std::string SerializeHttpResponse(const HttpResponse& response);

// True for the names and literals of this machine's loopback interface: localhost, 127.0.0.0/8, ::1 (with or without
// brackets).
bool IsLoopbackHost(std::string_view host);

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an address literal or a name getaddrinfo resolves
  int port = 8080;                 // 0: any free port (HttpServer::port() says which)
  // A client that sends no complete request head in this long is dropped.
  std::chrono::duration<double> read_timeout{5.0};
  size_t max_head_bytes = 16 * 1024;
  // Connections served at once; more wait in the listen queue.
  int max_connections = 32;

  Status Validate() const;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Binds and listens. IoError naming the address when it cannot (in use, not an address of this machine...).
  static Result<std::unique_ptr<HttpServer>> Listen(const HttpServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // http://HOST:PORT/ as a browser would open it (IPv6 literals in brackets).
  std::string url() const;

  // Serves until *stop is true (checked several times a second), then waits for the requests in flight. The handler
  // is called from several threads at once; it must be thread-safe. A malformed request is answered 400 without
  // calling it, an oversized head 431. Every answer carries the security headers of docs/dashboard.md
  // (Content-Security-Policy, X-Content-Type-Options, X-Frame-Options, Referrer-Policy, Cache-Control) unless the
  // handler set its own value for one.
  Status Serve(const HttpHandler& handler, const std::atomic<bool>* stop);

 private:
  HttpServer(int fd, int port, HttpServerOptions options) : fd_(fd), port_(port), options_(std::move(options)) {}
  void ServeConnection(int client, const HttpHandler& handler);

  const int fd_;
  const int port_;
  const HttpServerOptions options_;
};

}  // namespace dial
