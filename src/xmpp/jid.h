// XMPP addresses (RFC 7622): parsing, preparation, and the Jid / BareJid / FullJid types.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.h"

namespace parley::xmpp {

// Why a string is not a JID. RFC 7622 §3: each part is prepared and then must be
// non-empty and at most 1023 octets.
enum class JidError {
  Empty,
  EmptyLocalpart,
  EmptyDomainpart,
  EmptyResourcepart,
  LocalpartTooLong,
  DomainpartTooLong,
  ResourcepartTooLong,
  InvalidLocalpart,
  InvalidDomainpart,
  InvalidResourcepart,
};

std::string_view toString(JidError error);  // "empty-localpart", ... for log lines

// RFC 7622 §3.1: each part is at most 1023 octets once prepared.
inline constexpr std::size_t kMaxJidPartSize = 1023;

// Part preparation. Each returns the canonical form of one part, or nothing if the
// input is not allowed there (including empty or longer than kMaxJidPartSize once
// prepared). All three are idempotent: prep(prep(x)) == prep(x).
//
// nodeprep: the localpart. PRECIS UsernameCaseMapped as closely as libidn allows:
//   fullwidth/halfwidth forms mapped to their narrow forms, letters lowercased
//   (simple case mapping, so "ß" and "ς" are kept and "fußball" != "fussball",
//   unlike RFC 6122 nodeprep), NFC; then rejected if it has a compatibility
//   character (U+2163), a symbol or non-ASCII punctuation (U+265A), a space,
//   " & ' / : < > @, or anything stringprep's nodeprep prohibits (controls,
//   private use, unassigned code points, bad bidi).
//   Deviation: case data is Unicode 3.2 (stringprep's tables), so letters added
//   later are compared case-sensitively.
// nameprep: the domainpart. ASCII is lowercased; A-labels become U-labels and
//   non-ASCII labels go through IDNA2003 nameprep; one trailing dot is stripped;
//   U+3002, U+FF0E, U+FF61 are label separators; labels are LDH (plus '_') and at
//   most 63 octets in ASCII form. IPv4 literals and [IPv6] literals are accepted
//   and written in canonical form ("[0:0::1]" -> "[::1]").
// resourceprep: the resourcepart, stringprep's resourceprep (RFC 6122): case is
//   kept, spaces are allowed (also leading ones, RFC 7622 erratum 4560), controls
//   and non-ASCII spaces are not; compatibility characters are NFKC-mapped.
std::optional<std::string> nodeprep(std::string_view localpart);
std::optional<std::string> nameprep(std::string_view domainpart);
std::optional<std::string> resourceprep(std::string_view resourcepart);

class BareJid;
class FullJid;

// Any address: domain, local@domain, domain/resource or local@domain/resource.
// Always prepared: two Jids are the same address exactly when their strings are equal.
// Immutable value; one string inside, so copying is one allocation.
class Jid {
 public:
  // RFC 7622 §3.1: split at the first '/', then the part before it at the first '@'.
  static Result<Jid, JidError> parse(std::string_view text);
  static Result<Jid, JidError> fromParts(std::string_view localpart, std::string_view domainpart,
                                         std::string_view resourcepart);

  Jid(const BareJid& bare);  // NOLINT: implicit, a bare JID is a JID
  Jid(const FullJid& full);  // NOLINT: implicit, a full JID is a JID

  std::string_view localpart() const { return std::string_view(text_).substr(0, local_size_); }
  std::string_view domainpart() const;
  std::string_view resourcepart() const;  // empty when there is none

  bool hasLocalpart() const { return local_size_ > 0; }
  bool hasResource() const { return domain_end_ < text_.size(); }
  bool isBare() const { return !hasResource(); }                       // local@domain or domain
  bool isFull() const { return hasResource(); }                        // has a resource
  bool isDomain() const { return !hasLocalpart() && !hasResource(); }  // domain only

  BareJid bare() const;
  std::optional<BareJid> asBare() const;  // only if there is no resource
  std::optional<FullJid> asFull() const;  // only if there is a resource

  const std::string& toString() const { return text_; }

  friend bool operator==(const Jid&, const Jid&) = default;
  friend auto operator<=>(const Jid& a, const Jid& b) { return a.text_ <=> b.text_; }

 private:
  Jid(std::string text, std::size_t local_size, std::size_t domain_end)
      : text_(std::move(text)), local_size_(local_size), domain_end_(domain_end) {}

  std::string text_;
  std::size_t local_size_ = 0;  // 0: no localpart
  std::size_t domain_end_ = 0;  // == text_.size(): no resource
};

// local@domain or domain: an account, or a server. Never has a resource.
class BareJid {
 public:
  static Result<BareJid, JidError> fromParts(std::string_view localpart,
                                             std::string_view domainpart);

  std::string_view localpart() const { return std::string_view(text_).substr(0, local_size_); }
  std::string_view domainpart() const;
  bool hasLocalpart() const { return local_size_ > 0; }
  bool isDomain() const { return !hasLocalpart(); }

  // Binds one resource (prepared here) to this address.
  Result<FullJid, JidError> withResource(std::string_view resourcepart) const;

  const std::string& toString() const { return text_; }

  friend bool operator==(const BareJid&, const BareJid&) = default;
  friend auto operator<=>(const BareJid& a, const BareJid& b) { return a.text_ <=> b.text_; }

 private:
  friend class Jid;
  friend class FullJid;
  BareJid(std::string text, std::size_t local_size)
      : text_(std::move(text)), local_size_(local_size) {}

  std::string text_;
  std::size_t local_size_ = 0;
};

// [local@]domain/resource: one session (or one MUC occupant). Always has a resource,
// so code that must deliver to exactly one resource takes this type.
class FullJid {
 public:
  static Result<FullJid, JidError> fromParts(std::string_view localpart,
                                             std::string_view domainpart,
                                             std::string_view resourcepart);

  std::string_view localpart() const { return std::string_view(text_).substr(0, local_size_); }
  std::string_view domainpart() const;
  std::string_view resourcepart() const { return std::string_view(text_).substr(domain_end_ + 1); }
  bool hasLocalpart() const { return local_size_ > 0; }

  BareJid bare() const;
  std::string_view bareText() const { return std::string_view(text_).substr(0, domain_end_); }
  const std::string& toString() const { return text_; }

  friend bool operator==(const FullJid&, const FullJid&) = default;
  friend auto operator<=>(const FullJid& a, const FullJid& b) { return a.text_ <=> b.text_; }

 private:
  friend class Jid;
  friend class BareJid;
  FullJid(std::string text, std::size_t local_size, std::size_t domain_end)
      : text_(std::move(text)), local_size_(local_size), domain_end_(domain_end) {}

  std::string text_;
  std::size_t local_size_ = 0;
  std::size_t domain_end_ = 0;  // index of the '/'
};

}  // namespace parley::xmpp

template <>
struct std::hash<parley::xmpp::Jid> {
  std::size_t operator()(const parley::xmpp::Jid& jid) const noexcept {
    return std::hash<std::string>{}(jid.toString());
  }
};
template <>
struct std::hash<parley::xmpp::BareJid> {
  std::size_t operator()(const parley::xmpp::BareJid& jid) const noexcept {
    return std::hash<std::string>{}(jid.toString());
  }
};
template <>
struct std::hash<parley::xmpp::FullJid> {
  std::size_t operator()(const parley::xmpp::FullJid& jid) const noexcept {
    return std::hash<std::string>{}(jid.toString());
  }
};
