// The dashboard's HTTP server: request parsing (the part a hostile client controls), and a real server on a free
// loopback port answering over a socket.
#include "report/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace dial {
namespace {

TEST(HttpParseTest, RequestLineQueryAndHeaders) {
  Result<HttpRequest> r = ParseHttpRequest(
      "GET /api/study?name=wer%20sweep&x=1+2&empty=&flag HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Thing:  spaced  \r\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/api/study");
  EXPECT_EQ(r->query.at("name"), "wer sweep");
  EXPECT_EQ(r->query.at("x"), "1 2");
  EXPECT_EQ(r->query.at("empty"), "");
  EXPECT_EQ(r->query.at("flag"), "");
  EXPECT_EQ(r->headers.at("host"), "127.0.0.1:8080");
  EXPECT_EQ(r->headers.at("x-thing"), "spaced");
}

TEST(HttpParseTest, MalformedInputIsRefusedWithWhatIsWrong) {
  Result<HttpRequest> no_version = ParseHttpRequest("GET /");
  ASSERT_FALSE(no_version.ok());
  EXPECT_NE(no_version.status().message().find("request line"), std::string::npos);
  EXPECT_FALSE(ParseHttpRequest("GET / SPDY/3").ok());
  Result<HttpRequest> absolute = ParseHttpRequest("GET http://evil.example/ HTTP/1.1");
  ASSERT_FALSE(absolute.ok());
  EXPECT_NE(absolute.status().message().find("not a path"), std::string::npos);
  Result<HttpRequest> header = ParseHttpRequest("GET / HTTP/1.1\r\nno colon here");
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.status().message().find("header"), std::string::npos);
  EXPECT_FALSE(ParseHttpRequest("GET /a%zz HTTP/1.1").ok());
  EXPECT_FALSE(ParseHttpRequest("GET /?q=%4 HTTP/1.1").ok());
}

TEST(HttpParseTest, PercentDecoding) {
  EXPECT_EQ(*PercentDecode("a%2Fb%20c", false), "a/b c");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_FALSE(PercentDecode("100%", false).ok());
}

TEST(HttpParseTest, LoopbackHosts) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "localhost.evil.example", "example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(HttpParseTest, ResponseHasLengthAndClosesTheConnection) {
  HttpResponse r;
  r.status = 405;
  r.body = "no";
  r.headers.push_back({"Allow", "GET"});
  const std::string bytes = SerializeHttpResponse(r);
  EXPECT_EQ(bytes.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_NE(bytes.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("Allow: GET\r\n"), std::string::npos);
  EXPECT_EQ(bytes.substr(bytes.size() - 6), "\r\n\r\nno");
}

// Sends `request` to 127.0.0.1:port and returns everything the server wrote back.
std::string Exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) out.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(HttpServerTest, ServesOnAFreePortUntilStopped) {
  HttpServerOptions options;
  options.port = 0;
  options.read_timeout = std::chrono::duration<double>(1.0);
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Listen(options);
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ((*server)->url(), "http://127.0.0.1:" + std::to_string(port) + "/");
  std::atomic<bool> stop{false};
  std::thread serving([&] {
    Status s = (*server)->Serve(
        [](const HttpRequest& request) {
          HttpResponse r;
          r.body = request.method + " " + request.path;
          return r;
        },
        &stop);
    EXPECT_TRUE(s.ok()) << s.message();
  });
  // A client that connects and says nothing must not hold up the next one.
  const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string ok = Exchange(port, "GET /x%20y?a=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("\r\n\r\nGET /x y"), std::string::npos) << ok;
  const std::string bad = Exchange(port, "NONSENSE\r\n\r\n");
  EXPECT_EQ(bad.rfind("HTTP/1.1 400 ", 0), 0u) << bad;
  const std::string huge = Exchange(port, "GET / HTTP/1.1\r\nX: " + std::string(40000, 'a') + "\r\n\r\n");
  EXPECT_EQ(huge.rfind("HTTP/1.1 431 ", 0), 0u) << huge.substr(0, 100);
  ::close(idle);
  stop = true;
  serving.join();
}

TEST(HttpParseTest, TwoHostHeadersAreRefused) {
  // The last one used to win: "Host: evil.example" then "Host: 127.0.0.1" passed the dashboard's loopback check.
  Result<HttpRequest> r = ParseHttpRequest("GET / HTTP/1.1\r\nHost: evil.example\r\nhost:127.0.0.1\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "more than one Host header");
  EXPECT_FALSE(ParseHttpRequest("GET / HTTP/1.1\r\nHOST: 127.0.0.1\r\nHost: 127.0.0.1\r\n").ok());
  EXPECT_TRUE(ParseHttpRequest("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\nX-A: 2\r\n").ok());
}

// The headers docs/dashboard.md promises on every answer.
void ExpectSecurityHeaders(const std::string& answer, const std::string& what) {
  for (const char* header :
       {"\r\nContent-Security-Policy: ", "\r\nX-Content-Type-Options: nosniff\r\n", "\r\nX-Frame-Options: DENY\r\n",
        "\r\nReferrer-Policy: no-referrer\r\n", "\r\nCache-Control: no-store\r\n"}) {
    EXPECT_NE(answer.find(header), std::string::npos) << what << ": no" << header << "in\n" << answer.substr(0, 400);
  }
}

TEST(HttpServerTest, EveryAnswerCarriesTheSecurityHeadersAndTwoHostsAreRefused) {
  HttpServerOptions options;
  options.port = 0;
  options.read_timeout = std::chrono::duration<double>(1.0);
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Listen(options);
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = (*server)->port();
  std::atomic<int> calls{0};
  std::atomic<bool> stop{false};
  std::thread serving([&] {
    Status s = (*server)->Serve(
        [&calls](const HttpRequest& request) {
          ++calls;
          if (request.path == "/throw") throw std::runtime_error("boom");
          HttpResponse r;
          if (request.path == "/own") r.headers.push_back({"content-security-policy", "default-src 'self'"});
          r.body = "hello";
          return r;
        },
        &stop);
    EXPECT_TRUE(s.ok()) << s.message();
  });
  const std::string ok = Exchange(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 ", 0), 0u) << ok;
  ExpectSecurityHeaders(ok, "200");
  const std::string bad = Exchange(port, "NONSENSE\r\n\r\n");
  EXPECT_EQ(bad.rfind("HTTP/1.1 400 ", 0), 0u) << bad;
  ExpectSecurityHeaders(bad, "400");
  const std::string huge = Exchange(port, "GET / HTTP/1.1\r\nX: " + std::string(40000, 'a') + "\r\n\r\n");
  EXPECT_EQ(huge.rfind("HTTP/1.1 431 ", 0), 0u) << huge.substr(0, 100);
  ExpectSecurityHeaders(huge, "431");
  const std::string thrown = Exchange(port, "GET /throw HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(thrown.rfind("HTTP/1.1 500 ", 0), 0u) << thrown;
  ExpectSecurityHeaders(thrown, "500");
  // A handler's own policy wins and is not repeated.
  const std::string own = Exchange(port, "GET /own HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_NE(own.find("content-security-policy: default-src 'self'\r\n"), std::string::npos) << own;
  EXPECT_EQ(own.find("Content-Security-Policy:"), std::string::npos) << own;
  const int calls_before = calls.load();
  const std::string two_hosts = Exchange(port, "GET / HTTP/1.1\r\nHost: evil.example\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(two_hosts.rfind("HTTP/1.1 400 ", 0), 0u) << two_hosts;
  EXPECT_NE(two_hosts.find("more than one Host header"), std::string::npos) << two_hosts;
  ExpectSecurityHeaders(two_hosts, "two Host headers");
  EXPECT_EQ(calls.load(), calls_before);  // the handler never saw it
  stop = true;
  serving.join();
}

TEST(HttpServerTest, APortInUseIsAnErrorNamingIt) {
  HttpServerOptions options;
  options.port = 0;
  Result<std::unique_ptr<HttpServer>> first = HttpServer::Listen(options);
  ASSERT_TRUE(first.ok());
  options.port = (*first)->port();
  Result<std::unique_ptr<HttpServer>> second = HttpServer::Listen(options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(std::to_string(options.port)), std::string::npos)
      << second.status().message();
}

}  // namespace
}  // namespace dial
