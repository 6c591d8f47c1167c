// HTTP request/response helpers and the route table modules register into.
#include "core/http_route.h"

#include <strings.h>

#include <algorithm>

namespace parley::core {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string_view> findHeader(const std::vector<HttpHeader>& headers,
                                           std::string_view name) {
  for (const auto& header : headers) {
    if (equalsIgnoreCase(header.name, name)) return std::string_view(header.value);
  }
  return std::nullopt;
}

bool matches(std::string_view prefix, std::string_view path) {
  if (!prefix.empty() && prefix.back() == '/') return path.starts_with(prefix);
  return path == prefix;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  return findHeader(headers, name);
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  return findHeader(headers, name);
}

HttpResponse HttpResponse::text(int status, std::string body, std::string content_type) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.set("Content-Type", std::move(content_type));
  return response;
}

HttpResponse& HttpResponse::set(std::string_view name, std::string value) {
  for (auto& header : headers) {
    if (equalsIgnoreCase(header.name, name)) {
      header.value = std::move(value);
      return *this;
    }
  }
  headers.push_back({std::string(name), std::move(value)});
  return *this;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

bool HttpRoutes::add(HttpRoute route) {
  std::lock_guard lock(mutex_);
  for (const auto& existing : routes_) {
    if (existing.prefix == route.prefix) return false;
  }
  routes_.push_back(std::move(route));
  return true;
}

void HttpRoutes::removeAll(const void* owner) {
  std::lock_guard lock(mutex_);
  std::erase_if(routes_, [owner](const HttpRoute& route) { return route.owner == owner; });
}

std::optional<HttpRoute> HttpRoutes::match(std::string_view path) const {
  std::lock_guard lock(mutex_);
  const HttpRoute* best = nullptr;
  for (const auto& route : routes_) {
    if (matches(route.prefix, path) && (!best || route.prefix.size() > best->prefix.size()))
      best = &route;
  }
  if (!best) return std::nullopt;
  return *best;
}

}  // namespace parley::core
