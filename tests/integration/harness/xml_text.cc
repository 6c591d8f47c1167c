// Small text helpers for the integration tests: XML escaping, base64, stream-error patterns.
#include "harness/xml_text.h"

#include <openssl/evp.h>

#include <cctype>
#include <vector>

namespace parley::integration {

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string base64Encode(std::string_view bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  int length = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                               static_cast<int>(bytes.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(length));
}

bool base64Decode(std::string_view text, std::string& bytes) {
  std::string clean;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  }
  bytes.clear();
  if (clean.empty() || clean == "=") return true;  // RFC 6120 §6.4.2: "=" is empty data
  if (clean.size() % 4 != 0) return false;
  std::vector<unsigned char> out(clean.size() / 4 * 3 + 1);
  int length = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()),
                               static_cast<int>(clean.size()));
  if (length < 0) return false;
  size_t padding = 0;
  if (clean.back() == '=') ++padding;
  if (clean[clean.size() - 2] == '=') ++padding;
  bytes.assign(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(length) - padding);
  return true;
}

std::string regexLiteral(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string attributePattern(std::string_view name, std::string_view value) {
  return regexLiteral(name) + "\\s*=\\s*(?:'" + regexLiteral(value) + "'|\"" + regexLiteral(value) +
         "\")";
}

std::string elementPattern(std::string_view name, std::string_view xmlns) {
  return "<" + regexLiteral(name) + "\\s+(?:[^>]*\\s)?" + attributePattern("xmlns", xmlns);
}

std::string streamErrorPattern(std::string_view condition) {
  return elementPattern(condition, "urn:ietf:params:xml:ns:xmpp-streams");
}

}  // namespace parley::integration
