// Configuration values that are parsed from text: addresses, durations, domain names.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "core/config.h"

namespace parley::core {
namespace {

using std::chrono::seconds;

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

bool isIpv4(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool isIpv6(const std::string& text) {
  in6_addr addr{};
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

}  // namespace

std::string ListenAddress::toString() const {
  std::string port_text = std::to_string(port);
  if (isIpv6()) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

namespace {

struct AddressRules {
  std::optional<uint16_t> default_port;
  bool allow_names = false;
  bool allow_any = false;
};

Result<ListenAddress, std::string> parseAddress(std::string_view text, const AddressRules& rules) {
  if (text.empty()) return Unexpected(std::string("empty address"));
  std::string host;
  std::string_view rest;
  bool bracketed = text.front() == '[';
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Unexpected(std::string("missing ']'"));
    host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!isIpv6(host)) return Unexpected("'" + host + "' is not an IPv6 address");
  } else {
    size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      return Unexpected(std::string("write IPv6 addresses in brackets, as [::1]:5222"));
    }
    host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }

  ListenAddress address;
  if (rest.empty()) {
    if (!rules.default_port) return Unexpected(std::string("missing port"));
    address.port = *rules.default_port;
  } else {
    if (rest.front() != ':') return Unexpected(std::string("expected ':' after ']'"));
    std::string_view digits = rest.substr(1);
    if (digits.empty()) return Unexpected(std::string("missing port"));
    if (digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Unexpected("invalid port '" + std::string(digits) + "'");
    }
    unsigned long port = std::stoul(std::string(digits));
    if (port > 65535) return Unexpected("port " + std::string(digits) + " is out of range");
    address.port = static_cast<uint16_t>(port);
  }

  if (bracketed || isIpv4(host) || (rules.allow_any && host == "*")) {
    address.host = host;
  } else if (host.empty()) {
    return Unexpected(std::string("missing host"));
  } else if (rules.allow_names) {
    auto name = normalizeDomain(host);
    if (!name) return Unexpected(name.error());
    address.host = *name;
  } else {
    return Unexpected("'" + host + "' is not an IP address (use e.g. 127.0.0.1" +
                      (rules.allow_any ? ", [::1] or *)" : " or [::1])"));
  }
  return address;
}

}  // namespace

Result<ListenAddress, std::string> parseListenAddress(std::string_view text) {
  return parseAddress(text,
                      {.default_port = std::nullopt, .allow_names = false, .allow_any = true});
}

Result<ListenAddress, std::string> parseHostPort(std::string_view text,
                                                 std::optional<uint16_t> default_port,
                                                 bool allow_names) {
  return parseAddress(text, {.default_port = default_port, .allow_names = allow_names});
}

Result<seconds, std::string> parseDuration(std::string_view text) {
  if (text.empty()) return Unexpected(std::string("empty duration"));
  constexpr int64_t kMax = int64_t{100} * 365 * 86400;  // a century is plenty
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t number = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      number = number * 10 + (text[i] - '0');
      if (number > kMax) return Unexpected("duration '" + std::string(text) + "' is too long");
      ++i;
    }
    if (i == start) return Unexpected("invalid duration '" + std::string(text) + "'");
    if (i == text.size()) {
      return Unexpected("duration '" + std::string(text) + "' needs a unit: s, m, h or d");
    }
    int64_t unit = 0;
    switch (text[i]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return Unexpected("invalid duration '" + std::string(text) + "' (units: s, m, h, d)");
    }
    ++i;
    total += number * unit;
    if (total > kMax) return Unexpected("duration '" + std::string(text) + "' is too long");
  }
  return seconds(total);
}

Result<std::string, std::string> normalizeDomain(std::string_view text) {
  if (text.empty()) return Unexpected(std::string("empty name"));
  if (text.front() == '[') {
    if (text.back() != ']' || !isIpv6(std::string(text.substr(1, text.size() - 2)))) {
      return Unexpected(std::string("invalid IPv6 literal"));
    }
    return lowercase(text);
  }
  std::string name = lowercase(text);
  if (name.size() > 253) return Unexpected(std::string("name longer than 253 characters"));
  for (char c : name) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return Unexpected(std::string("non-ASCII name; write it in its xn-- (punycode) form"));
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return Unexpected("invalid character '" + std::string(1, c) + "'");
    }
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    std::string_view label = std::string_view(name).substr(start, end - start);
    if (label.empty()) return Unexpected(std::string("empty label"));
    if (label.size() > 63) return Unexpected(std::string("label longer than 63 characters"));
    if (label.front() == '-' || label.back() == '-') {
      return Unexpected(std::string("label starts or ends with '-'"));
    }
    start = end + 1;
  }
  return name;
}

}  // namespace parley::core
