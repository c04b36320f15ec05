// The dashboard's HTTP/1.1 server (http_server.h): POSIX sockets, one thread per connection, Connection: close.
#include "report/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "util/strings.h"

namespace dial {
namespace {

// How often the accept loop looks at the stop flag.
constexpr int kPollMilliseconds = 200;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Carried by every answer, errors (400, 431, 500) included, as docs/dashboard.md promises; a value the handler set
// for one of these names wins (the dashboard's own Content-Security-Policy lets its page load its scripts).
constexpr std::pair<const char*, const char*> kSecurityHeaders[] = {
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cache-Control", "no-store"},
};

void AddSecurityHeaders(HttpResponse& response) {
  for (const auto& [name, value] : kSecurityHeaders) {
    const std::string lower = Lower(name);
    const bool set = std::any_of(response.headers.begin(), response.headers.end(),
                                 [&](const auto& header) { return Lower(header.first) == lower; });
    if (!set) response.headers.emplace_back(name, value);
  }
}

// Sends `response` with the security headers.
bool SendResponse(int fd, HttpResponse response) {
  AddSecurityHeaders(response);
  return SendAll(fd, SerializeHttpResponse(response));
}

HttpResponse PlainError(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = message + "\n";
  return r;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const bool complete = i + 2 < text.size();
      const int hi = complete ? HexDigit(text[i + 1]) : -1;
      const int lo = complete ? HexDigit(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgument("bad percent escape in '" + std::string(text) + "' at offset " + std::to_string(i));
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Result<HttpRequest> ParseHttpRequest(std::string_view head) {
  HttpRequest request;
  const size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
      line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    return InvalidArgument("malformed request line '" + std::string(line.substr(0, 200)) + "'");
  }
  request.method = std::string(line.substr(0, sp1));
  request.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  if (request.target.empty() || request.target[0] != '/') {
    return InvalidArgument("request target '" + request.target.substr(0, 200) + "' is not a path");
  }
  const size_t question = request.target.find('?');
  DIAL_ASSIGN_OR_RETURN(request.path, PercentDecode(std::string_view(request.target).substr(0, question), false));
  if (question != std::string::npos) {
    std::string_view query = std::string_view(request.target).substr(question + 1);
    const size_t hash = query.find('#');
    if (hash != std::string_view::npos) query = query.substr(0, hash);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      DIAL_ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq), true));
      std::string value;
      if (eq != std::string_view::npos) {
        DIAL_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
      }
      request.query[key] = value;
    }
  }
  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    const size_t end = rest.find("\r\n");
    const std::string_view header = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    if (header.empty()) break;
    const size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgument("malformed header line '" + std::string(header.substr(0, 200)) + "'");
    }
    std::string name = Lower(Trim(header.substr(0, colon)));
    // Two Host headers would let a check of one (the dashboard's loopback check) and a proxy's use of the other
    // disagree; RFC 9112 §3.2 has a server answer 400.
    if (name == "host" && request.headers.count(name) > 0) {
      return InvalidArgument("more than one Host header");
    }
    request.headers[std::move(name)] = std::string(Trim(header.substr(colon + 1)));
  }
  return request;
}

std::string SerializeHttpResponse(const HttpResponse& response) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + ReasonPhrase(response.status) + "\r\n";
  out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "Connection: close\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  out += response.body;
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string lower = Lower(host);
  if (lower == "localhost" || lower == "localhost.") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, lower.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, lower.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Status HttpServerOptions::Validate() const {
  if (host.empty()) return InvalidArgument("--host: an address is needed (127.0.0.1 by default)");
  if (port < 0 || port > 65535) return InvalidArgument("--port: " + std::to_string(port) + " is not a TCP port");
  if (read_timeout.count() <= 0) return InvalidArgument("http server: the read timeout must be positive");
  if (max_connections < 1) return InvalidArgument("http server: max_connections must be at least 1");
  return Status::Ok();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Listen(const HttpServerOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  std::string host = options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.port);
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return IoError("--host " + options.host + ": cannot resolve it: " + gai_strerror(rc));
  std::string last_error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    const int actual_port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                                        : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    freeaddrinfo(found);
    return std::unique_ptr<HttpServer>(new HttpServer(fd, actual_port, options));
  }
  freeaddrinfo(found);
  return IoError("cannot listen on " + options.host + " port " + port + ": " + last_error);
}

HttpServer::~HttpServer() { ::close(fd_); }

std::string HttpServer::url() const {
  std::string host = options_.host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port_) + "/";
}

void HttpServer::ServeConnection(int client, const HttpHandler& handler) {
  timeval timeout{};
  const double seconds = options_.read_timeout.count();
  timeout.tv_sec = static_cast<time_t>(seconds);
  timeout.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(timeout.tv_sec)) * 1e6);
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::string head;
  char buffer[4096];
  size_t end = std::string::npos;
  const auto deadline = std::chrono::steady_clock::now() + options_.read_timeout;
  while (end == std::string::npos) {
    if (head.size() > options_.max_head_bytes) {
      SendResponse(client, PlainError(431, "request head over " + std::to_string(options_.max_head_bytes) + " bytes"));
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) return;
    const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // closed, or no request within the timeout (a browser's speculative connection)
    head.append(buffer, static_cast<size_t>(n));
    end = head.find("\r\n\r\n");
  }
  head.resize(end);
  Result<HttpRequest> request = ParseHttpRequest(head);
  HttpResponse response;
  if (!request.ok()) {
    response = PlainError(400, request.status().message());
  } else {
    try {
      response = handler(*request);
    } catch (const std::exception& e) {
      response = PlainError(500, std::string("internal error: ") + e.what());
    }
  }
  SendResponse(client, std::move(response));
}

Status HttpServer::Serve(const HttpHandler& handler, const std::atomic<bool>* stop) {
  std::mutex mu;
  std::condition_variable cv;
  int active = 0;  // GUARDED_BY(mu)
  Status result = Status::Ok();
  while (stop == nullptr || !stop->load()) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, kPollMilliseconds);
    if (ready < 0 && errno != EINTR) {
      result = IoError(std::string("waiting for connections failed: ") + std::strerror(errno));
      break;
    }
    if (ready <= 0) continue;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return active < options_.max_connections; });
    }
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;  // the peer gave up in between, or EINTR
    {
      std::lock_guard<std::mutex> lock(mu);
      ++active;
    }
    std::thread([this, client, &handler, &mu, &cv, &active] {
      ServeConnection(client, handler);
      ::shutdown(client, SHUT_WR);
      ::close(client);
      std::lock_guard<std::mutex> lock(mu);
      --active;
      cv.notify_all();
    }).detach();
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return active == 0; });
  return result;
}

}  // namespace dial
