// XMPP addresses (RFC 7622): splitting, per-part preparation with libidn, the JID types.
#include "xmpp/jid.h"

#include <arpa/inet.h>
#include <idna.h>
#include <stringprep.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include "util/log.h"
#include "util/utf8.h"

namespace parley::xmpp {
namespace {

using CodePoints = utf8::CodePoints;

// Bounds the work done on hostile input: a part this long cannot come back under
// kMaxJidPartSize after preparation in any realistic case, so it is refused unread.
constexpr std::size_t kMaxRawPartSize = 4 * kMaxJidPartSize;
constexpr std::size_t kMaxLabelSize = 63;  // RFC 1035 §2.3.4, in ASCII (A-label) form

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }  // NOLINT: libidn allocates with malloc
};

bool isAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// NFKC with stringprep's Unicode 3.2 tables. Input must not contain U+0000.
CodePoints nfkc(const CodePoints& cps) {
  std::unique_ptr<uint32_t, FreeDeleter> normalized(stringprep_ucs4_nfkc_normalize(
      reinterpret_cast<const uint32_t*>(cps.data()), static_cast<ssize_t>(cps.size())));
  PARLEY_CHECK(normalized != nullptr);  // only fails when out of memory
  CodePoints out;
  for (const uint32_t* p = normalized.get(); *p != 0; ++p) out.push_back(*p);
  return out;
}

bool hasCompatibilityMapping(char32_t cp) {
  if (cp < 0xA0) return false;  // ASCII and C1 controls are their own NFKC
  const CodePoints single(1, cp);
  return nfkc(single) != single;
}

// Runs one stringprep profile over code points; nothing if the profile refuses them.
std::optional<CodePoints> runStringprep(const CodePoints& cps, const Stringprep_profile* profile,
                                        Stringprep_profile_flags flags) {
  std::size_t capacity = cps.size() * 4 + 16;
  for (int attempt = 0; attempt < 4; ++attempt, capacity *= 4) {
    std::vector<uint32_t> buffer(cps.begin(), cps.end());
    buffer.resize(capacity);
    std::size_t size = cps.size();
    const int rc = stringprep_4i(buffer.data(), &size, capacity, flags, profile);
    if (rc == STRINGPREP_OK)
      return CodePoints(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size));
    if (rc != STRINGPREP_TOO_SMALL_BUFFER) return std::nullopt;
  }
  return std::nullopt;
}

// Simple (one code point to one) lowercase mapping, taken from stringprep's table B.3
// (Unicode 3.2 case folding). Multi-code-point foldings ("ß" -> "ss") are left out,
// and so are foldings of characters that are already lowercase, so the result is
// PRECIS' toLowerCase rather than case folding: "ς" stays "ς".
char32_t toLower(char32_t cp) {
  static const std::vector<std::pair<char32_t, char32_t>> kTable = [] {
    std::vector<std::pair<char32_t, char32_t>> table;
    for (const Stringprep_table_element* e = stringprep_rfc3454_B_3; e->start != 0 || e->end != 0;
         ++e) {
      if (e->end != e->start || e->map[1] != 0) continue;      // ranges, multi-code-point maps
      if (e->start == 0x03C2 || e->start == 0x0345) continue;  // final sigma, ypogegrammeni
      table.emplace_back(e->start, e->map[0]);
    }
    std::sort(table.begin(), table.end());
    return table;
  }();
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp;
  const auto it = std::lower_bound(kTable.begin(), kTable.end(), std::make_pair(cp, char32_t{0}));
  return (it != kTable.end() && it->first == cp) ? it->second : cp;
}

// RFC 7622 §3.3.1: characters the localpart may not carry even though PRECIS would.
bool isForbiddenInLocalpart(char32_t cp) {
  switch (cp) {
    case '"':
    case '&':
    case '\'':
    case '/':
    case ':':
    case '<':
    case '>':
    case '@':
      return true;
    default:
      return cp <= 0x20 || cp == 0x7F;
  }
}

// A coarse stand-in for PRECIS IdentifierClass' Symbols, Punctuation and Spaces
// categories (RFC 8264 §9.16-9.18) outside ASCII, by block; letters that live in
// these blocks are let through.
bool isSymbolOrPunctuation(char32_t cp) {
  struct Range {
    char32_t first, last;
  };
  static constexpr std::array kRanges = {
      Range{0x0080, 0x00BF},    // C1 controls, NBSP, Latin-1 punctuation and symbols
      Range{0x00D7, 0x00D7},    // multiplication sign
      Range{0x00F7, 0x00F7},    // division sign
      Range{0x2000, 0x214D},    // general punctuation ... letterlike symbols
      Range{0x214F, 0x2182},    // number forms
      Range{0x2185, 0x2BFF},    // arrows, math, technical, shapes, dingbats, braille
      Range{0x2E00, 0x2E7F},    // supplemental punctuation
      Range{0x3000, 0x3004},    // CJK spaces and punctuation (U+3005, U+3006 are letters)
      Range{0x3007, 0x3020},    // (U+3007 is a number letter, disallowed too)
      Range{0x3030, 0x3030},    // wavy dash
      Range{0x3036, 0x303A},    // circled postal mark, Hangzhou numerals
      Range{0x303D, 0x303F},    // part alternation mark ... half fill space
      Range{0xFE10, 0xFE6F},    // vertical, compatibility and small forms
      Range{0x1D000, 0x1D24F},  // musical symbols
      Range{0x1D300, 0x1D35F},  // Tai Xuan Jing symbols
      Range{0x1F000, 0x1FBFF},  // mahjong, cards, emoji, pictographs, legacy computing
  };
  return std::any_of(kRanges.begin(), kRanges.end(),
                     [cp](const Range& r) { return cp >= r.first && cp <= r.last; });
}

// An ASCII localpart needs none of the tables: NFKC leaves ASCII as it is, the only ASCII
// mapping is case, no ASCII character is a symbol, has a compatibility mapping or is
// right-to-left, and what nodeprep prohibits in ASCII (controls, space) is forbidden here too.
Result<std::string, JidError> prepareAsciiLocalpart(std::string_view raw) {
  std::string out(raw);
  for (char& c : out) {
    c = asciiLower(c);
    if (isForbiddenInLocalpart(static_cast<unsigned char>(c)))
      return Unexpected(JidError::InvalidLocalpart);
  }
  if (out.size() > kMaxJidPartSize) return Unexpected(JidError::LocalpartTooLong);
  return out;
}

Result<std::string, JidError> prepareLocalpart(std::string_view raw) {
  if (raw.empty()) return Unexpected(JidError::EmptyLocalpart);
  if (raw.size() > kMaxRawPartSize) return Unexpected(JidError::LocalpartTooLong);
  if (isAscii(raw)) return prepareAsciiLocalpart(raw);
  auto decoded = utf8::decode(raw);
  if (!decoded) return Unexpected(JidError::InvalidLocalpart);

  CodePoints mapped;
  mapped.reserve(decoded->size());
  for (const char32_t cp : *decoded) {
    if (cp == 0) return Unexpected(JidError::InvalidLocalpart);
    // RFC 8265 §3.3.2 step 1: fullwidth and halfwidth forms become their narrow forms.
    if (cp >= 0xFF01 && cp <= 0xFFEF) {
      for (const char32_t narrow : nfkc(CodePoints(1, cp))) mapped.push_back(toLower(narrow));
    } else {
      mapped.push_back(toLower(cp));
    }
  }
  for (const char32_t cp : mapped) {
    if (isForbiddenInLocalpart(cp) || isSymbolOrPunctuation(cp) || hasCompatibilityMapping(cp))
      return Unexpected(JidError::InvalidLocalpart);
  }
  // No code point has a compatibility decomposition, so NFKC here is NFC.
  CodePoints normalized = nfkc(mapped);
  // Nodeprep's prohibition and bidi tables (controls, private use, non-characters,
  // tagging, RFC 3454 §6) still apply; its own case folding is not used.
  if (!runStringprep(normalized, stringprep_xmpp_nodeprep, Stringprep_profile_flags{}))
    return Unexpected(JidError::InvalidLocalpart);
  std::string out = utf8::encode(normalized);
  if (out.size() > kMaxJidPartSize) return Unexpected(JidError::LocalpartTooLong);
  return out;
}

std::optional<std::string> prepareIpLiteral(std::string_view domain) {
  if (domain.front() == '[') {
    if (domain.size() < 3 || domain.back() != ']') return std::nullopt;
    const std::string inner(domain.substr(1, domain.size() - 2));
    in6_addr address{};
    if (inet_pton(AF_INET6, inner.c_str(), &address) != 1) return std::nullopt;
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &address, text, sizeof text);
    return "[" + std::string(text) + "]";
  }
  const std::string copy(domain);
  in_addr address{};
  if (inet_pton(AF_INET, copy.c_str(), &address) != 1) return std::nullopt;
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &address, text, sizeof text);
  return std::string(text);
}

// NR-LDH (plus '_', which deployed XMPP domains and SRV-style names use).
bool isValidAsciiLabel(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelSize) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// One label of a domain name, in U-label form; nothing if it is not a valid label.
std::optional<std::string> prepareLabel(std::string_view raw) {
  if (raw.empty()) return std::nullopt;
  std::string label;
  if (isAscii(raw)) {
    label.reserve(raw.size());
    for (const char c : raw) label.push_back(asciiLower(c));
    if (label.rfind("xn--", 0) != 0) {
      if (!isValidAsciiLabel(label)) return std::nullopt;
      return label;
    }
    // An A-label: RFC 7622 §3.2 compares domainparts as U-labels.
    char* unicode = nullptr;
    const int rc = idna_to_unicode_8z8z(label.c_str(), &unicode, IDNA_USE_STD3_ASCII_RULES);
    std::unique_ptr<char, FreeDeleter> owned(unicode);
    if (rc != IDNA_SUCCESS || unicode == nullptr) return std::nullopt;
    label = unicode;
    if (isAscii(label)) return std::nullopt;  // ToUnicode failed and gave the input back
  } else {
    label = raw;
  }
  const auto decoded = utf8::decode(label);
  if (!decoded || decoded->find(U'\0') != CodePoints::npos) return std::nullopt;
  const auto prepared = runStringprep(*decoded, stringprep_nameprep, Stringprep_profile_flags{});
  if (!prepared || prepared->empty()) return std::nullopt;
  std::string out = utf8::encode(*prepared);
  // The label must survive ToASCII with the STD3 rules and fit in 63 octets as an A-label.
  char* ascii = nullptr;
  const int rc = idna_to_ascii_8z(out.c_str(), &ascii, IDNA_USE_STD3_ASCII_RULES);
  std::unique_ptr<char, FreeDeleter> owned(ascii);
  if (rc != IDNA_SUCCESS || ascii == nullptr) return std::nullopt;
  const std::string_view ace(ascii);
  if (ace.empty() || ace.size() > kMaxLabelSize || ace.find('.') != std::string_view::npos)
    return std::nullopt;
  if (isAscii(out) && !isValidAsciiLabel(out)) return std::nullopt;
  return out;
}

Result<std::string, JidError> prepareDomainpart(std::string_view raw) {
  if (raw.empty()) return Unexpected(JidError::EmptyDomainpart);
  if (raw.size() > kMaxRawPartSize) return Unexpected(JidError::DomainpartTooLong);
  if (!utf8::decode(raw)) return Unexpected(JidError::InvalidDomainpart);

  // IDNA2003 label separators (U+3002, U+FF0E, U+FF61) become dots.
  std::string text;
  text.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::string_view rest = raw.substr(i);
    if (rest.rfind("\xE3\x80\x82", 0) == 0 || rest.rfind("\xEF\xBC\x8E", 0) == 0 ||
        rest.rfind("\xEF\xBD\xA1", 0) == 0) {
      text.push_back('.');
      i += 2;
    } else {
      text.push_back(raw[i]);
    }
  }
  // RFC 7622 §3.2: a trailing dot is not part of the domainpart.
  if (text.back() == '.') text.pop_back();
  if (text.empty()) return Unexpected(JidError::EmptyDomainpart);

  const bool looks_numeric = std::all_of(text.begin(), text.end(),
                                         [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (text.front() == '[' || looks_numeric) {
    auto literal = prepareIpLiteral(text);
    if (!literal) return Unexpected(JidError::InvalidDomainpart);
    return std::move(*literal);
  }

  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const auto label = prepareLabel(std::string_view(text).substr(start, dot - start));
    if (!label) return Unexpected(JidError::InvalidDomainpart);
    out += *label;
    if (dot == std::string::npos) break;
    out.push_back('.');
    start = dot + 1;
  }
  if (out.size() > kMaxJidPartSize) return Unexpected(JidError::DomainpartTooLong);
  return out;
}

Result<std::string, JidError> prepareResourcepart(std::string_view raw) {
  if (raw.empty()) return Unexpected(JidError::EmptyResourcepart);
  if (raw.size() > kMaxRawPartSize) return Unexpected(JidError::ResourcepartTooLong);
  if (isAscii(raw)) {
    // Resourceprep maps no ASCII character and prohibits only ASCII's controls (RFC 3454
    // table C.2.1; the space is allowed); NFKC leaves ASCII as it is.
    const bool control =
        std::any_of(raw.begin(), raw.end(), [](char c) { return c < 0x20 || c == 0x7F; });
    if (control) return Unexpected(JidError::InvalidResourcepart);
    if (raw.size() > kMaxJidPartSize) return Unexpected(JidError::ResourcepartTooLong);
    return std::string(raw);
  }
  const auto decoded = utf8::decode(raw);
  if (!decoded || decoded->find(U'\0') != CodePoints::npos)
    return Unexpected(JidError::InvalidResourcepart);
  // Unassigned code points are allowed: MUC nicknames are resourceparts, and people
  // put emoji newer than Unicode 3.2 in them.
  const auto prepared =
      runStringprep(*decoded, stringprep_xmpp_resourceprep, Stringprep_profile_flags{});
  if (!prepared) return Unexpected(JidError::InvalidResourcepart);
  if (prepared->empty()) return Unexpected(JidError::EmptyResourcepart);  // all mapped away
  std::string out = utf8::encode(*prepared);
  if (out.size() > kMaxJidPartSize) return Unexpected(JidError::ResourcepartTooLong);
  return out;
}

struct PreparedParts {
  std::string text;
  std::size_t local_size = 0;
  std::size_t domain_end = 0;
};

// Prepares whichever parts are present (nullopt: absent) and joins them.
Result<PreparedParts, JidError> prepareParts(std::optional<std::string_view> local,
                                             std::string_view domain,
                                             std::optional<std::string_view> resource) {
  std::string local_out;
  if (local) {
    auto prepared = prepareLocalpart(*local);
    if (!prepared) return Unexpected(prepared.error());
    local_out = std::move(*prepared);
  }
  auto domain_out = prepareDomainpart(domain);
  if (!domain_out) return Unexpected(domain_out.error());
  std::string resource_out;
  if (resource) {
    auto prepared = prepareResourcepart(*resource);
    if (!prepared) return Unexpected(prepared.error());
    resource_out = std::move(*prepared);
  }

  PreparedParts parts;
  parts.text.reserve(local_out.size() + domain_out->size() + resource_out.size() + 2);
  if (local) {
    parts.text = local_out;
    parts.text.push_back('@');
  }
  parts.local_size = local_out.size();
  parts.text += *domain_out;
  parts.domain_end = parts.text.size();
  if (resource) {
    parts.text.push_back('/');
    parts.text += resource_out;
  }
  return parts;
}

std::optional<std::string_view> optionalPart(std::string_view part) {
  return part.empty() ? std::nullopt : std::optional<std::string_view>(part);
}

// Where the domainpart starts in a prepared JID string.
std::size_t domainStart(std::size_t local_size) { return local_size == 0 ? 0 : local_size + 1; }

}  // namespace

std::string_view toString(JidError error) {
  switch (error) {
    case JidError::Empty:
      return "empty";
    case JidError::EmptyLocalpart:
      return "empty-localpart";
    case JidError::EmptyDomainpart:
      return "empty-domainpart";
    case JidError::EmptyResourcepart:
      return "empty-resourcepart";
    case JidError::LocalpartTooLong:
      return "localpart-too-long";
    case JidError::DomainpartTooLong:
      return "domainpart-too-long";
    case JidError::ResourcepartTooLong:
      return "resourcepart-too-long";
    case JidError::InvalidLocalpart:
      return "invalid-localpart";
    case JidError::InvalidDomainpart:
      return "invalid-domainpart";
    case JidError::InvalidResourcepart:
      return "invalid-resourcepart";
  }
  return "unknown";
}

std::optional<std::string> nodeprep(std::string_view localpart) {
  auto prepared = prepareLocalpart(localpart);
  if (!prepared) return std::nullopt;
  return std::move(*prepared);
}

std::optional<std::string> nameprep(std::string_view domainpart) {
  auto prepared = prepareDomainpart(domainpart);
  if (!prepared) return std::nullopt;
  return std::move(*prepared);
}

std::optional<std::string> resourceprep(std::string_view resourcepart) {
  auto prepared = prepareResourcepart(resourcepart);
  if (!prepared) return std::nullopt;
  return std::move(*prepared);
}

// ---- Jid

Result<Jid, JidError> Jid::parse(std::string_view text) {
  if (text.empty()) return Unexpected(JidError::Empty);
  std::optional<std::string_view> resource;
  std::string_view head = text;
  if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    head = text.substr(0, slash);
    resource = text.substr(slash + 1);
  }
  std::optional<std::string_view> local;
  std::string_view domain = head;
  if (const std::size_t at = head.find('@'); at != std::string_view::npos) {
    local = head.substr(0, at);
    domain = head.substr(at + 1);
  }
  auto parts = prepareParts(local, domain, resource);
  if (!parts) return Unexpected(parts.error());
  return Jid(std::move(parts->text), parts->local_size, parts->domain_end);
}

Result<Jid, JidError> Jid::fromParts(std::string_view localpart, std::string_view domainpart,
                                     std::string_view resourcepart) {
  auto parts = prepareParts(optionalPart(localpart), domainpart, optionalPart(resourcepart));
  if (!parts) return Unexpected(parts.error());
  return Jid(std::move(parts->text), parts->local_size, parts->domain_end);
}

Jid::Jid(const BareJid& bare)
    : text_(bare.text_), local_size_(bare.local_size_), domain_end_(bare.text_.size()) {}

Jid::Jid(const FullJid& full)
    : text_(full.text_), local_size_(full.local_size_), domain_end_(full.domain_end_) {}

std::string_view Jid::domainpart() const {
  const std::size_t start = domainStart(local_size_);
  return std::string_view(text_).substr(start, domain_end_ - start);
}

std::string_view Jid::resourcepart() const {
  if (!hasResource()) return {};
  return std::string_view(text_).substr(domain_end_ + 1);
}

BareJid Jid::bare() const { return BareJid(text_.substr(0, domain_end_), local_size_); }

std::optional<BareJid> Jid::asBare() const {
  if (hasResource()) return std::nullopt;
  return BareJid(text_, local_size_);
}

std::optional<FullJid> Jid::asFull() const {
  if (!hasResource()) return std::nullopt;
  return FullJid(text_, local_size_, domain_end_);
}

// ---- BareJid

Result<BareJid, JidError> BareJid::fromParts(std::string_view localpart,
                                             std::string_view domainpart) {
  auto parts = prepareParts(optionalPart(localpart), domainpart, std::nullopt);
  if (!parts) return Unexpected(parts.error());
  return BareJid(std::move(parts->text), parts->local_size);
}

std::string_view BareJid::domainpart() const {
  return std::string_view(text_).substr(domainStart(local_size_));
}

Result<FullJid, JidError> BareJid::withResource(std::string_view resourcepart) const {
  auto resource = prepareResourcepart(resourcepart);
  if (!resource) return Unexpected(resource.error());
  std::string text;
  text.reserve(text_.size() + 1 + resource->size());
  text = text_;
  text.push_back('/');
  text += *resource;
  return FullJid(std::move(text), local_size_, text_.size());
}

// ---- FullJid

Result<FullJid, JidError> FullJid::fromParts(std::string_view localpart,
                                             std::string_view domainpart,
                                             std::string_view resourcepart) {
  auto parts = prepareParts(optionalPart(localpart), domainpart, resourcepart);
  if (!parts) return Unexpected(parts.error());
  return FullJid(std::move(parts->text), parts->local_size, parts->domain_end);
}

std::string_view FullJid::domainpart() const {
  const std::size_t start = domainStart(local_size_);
  return std::string_view(text_).substr(start, domain_end_ - start);
}

BareJid FullJid::bare() const { return BareJid(text_.substr(0, domain_end_), local_size_); }

}  // namespace parley::xmpp
