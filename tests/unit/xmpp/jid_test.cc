// Unit tests for JID parsing and preparation, including every RFC 7622 §3.5 example.
#include "xmpp/jid.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace parley::xmpp {
namespace {

struct ValidCase {
  const char* input;
  const char* prepared;
};

struct InvalidCase {
  const char* input;
  JidError error;
};

// RFC 7622 §3.5.1, examples 1-15, with the form we store them in.
TEST_CASE("RFC 7622 §3.5.1 valid examples", "[jid]") {
  const ValidCase cases[] = {
      {"juliet@example.com", "juliet@example.com"},
      {"juliet@example.com/foo", "juliet@example.com/foo"},
      {"juliet@example.com/foo bar", "juliet@example.com/foo bar"},
      {"juliet@example.com/foo@bar", "juliet@example.com/foo@bar"},
      {"foo\\20bar@example.com", "foo\\20bar@example.com"},
      {"fussball@example.com", "fussball@example.com"},
      {"fu\xC3\x9F"
       "ball@example.com",
       "fu\xC3\x9F"
       "ball@example.com"},                                                // ß kept
      {"\xCF\x80@example.com", "\xCF\x80@example.com"},                    // π
      {"\xCE\xA3@example.com/foo", "\xCF\x83@example.com/foo"},            // Σ -> σ
      {"\xCF\x83@example.com/foo", "\xCF\x83@example.com/foo"},            // σ
      {"\xCF\x82@example.com/foo", "\xCF\x82@example.com/foo"},            // ς kept
      {"king@example.com/\xE2\x99\x9A", "king@example.com/\xE2\x99\x9A"},  // ♚ in a resource
      {"example.com", "example.com"},
      {"example.com/foobar", "example.com/foobar"},
      {"a.example.com/b@example.net", "a.example.com/b@example.net"},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    const auto jid = Jid::parse(c.input);
    REQUIRE(jid.hasValue());
    CHECK(jid->toString() == c.prepared);
  }
}

// RFC 7622 §3.5.2, examples 16-23. Example 18 ("juliet@example.com/ foo") was
// removed by verified erratum 4560: OpaqueString allows a leading space.
TEST_CASE("RFC 7622 §3.5.2 invalid examples", "[jid]") {
  const InvalidCase cases[] = {
      {"\"juliet\"@example.com", JidError::InvalidLocalpart},
      {"foo bar@example.com", JidError::InvalidLocalpart},
      {"@example.com/", JidError::EmptyLocalpart},
      {"henry\xE2\x85\xA3@example.com", JidError::InvalidLocalpart},  // U+2163 ROMAN NUMERAL FOUR
      {"\xE2\x99\x9A@example.com", JidError::InvalidLocalpart},       // U+265A BLACK CHESS KING
      {"juliet@", JidError::EmptyDomainpart},
      {"/foobar", JidError::EmptyDomainpart},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    const auto jid = Jid::parse(c.input);
    REQUIRE_FALSE(jid.hasValue());
    CHECK(jid.error() == c.error);
  }
}

TEST_CASE("RFC 7622 erratum 4560: a leading space in the resourcepart is allowed", "[jid]") {
  const auto jid = Jid::parse("juliet@example.com/ foo");
  REQUIRE(jid.hasValue());
  CHECK(jid->resourcepart() == " foo");
}

TEST_CASE("More invalid JIDs", "[jid]") {
  const InvalidCase cases[] = {
      {"", JidError::Empty},
      {"@", JidError::EmptyLocalpart},
      {"@example.com", JidError::EmptyLocalpart},
      {"juliet@example.com/", JidError::EmptyResourcepart},
      {"example.com/", JidError::EmptyResourcepart},
      {"/", JidError::EmptyDomainpart},
      {"juliet@/foo", JidError::EmptyDomainpart},
      {"juliet@.", JidError::EmptyDomainpart},
      {"juliet@host@example.com", JidError::InvalidDomainpart},
      {"juliet@exa mple.com", JidError::InvalidDomainpart},
      {"juliet@example..com", JidError::InvalidDomainpart},
      {"juliet@.example.com", JidError::InvalidDomainpart},
      {"juliet@-example.com", JidError::InvalidDomainpart},
      {"juliet@example-.com", JidError::InvalidDomainpart},
      {"juliet@[::1", JidError::InvalidDomainpart},
      {"juliet@[example.com]", JidError::InvalidDomainpart},
      {"juliet@1.2.3", JidError::InvalidDomainpart},
      {"juliet@256.1.1.1", JidError::InvalidDomainpart},
      {"juliet@xn--zz", JidError::InvalidDomainpart},
      {"ju&liet@example.com", JidError::InvalidLocalpart},
      {"ju'liet@example.com", JidError::InvalidLocalpart},
      {"ju:liet@example.com", JidError::InvalidLocalpart},
      {"ju<liet@example.com", JidError::InvalidLocalpart},
      {"ju>liet@example.com", JidError::InvalidLocalpart},
      {"ju\tliet@example.com", JidError::InvalidLocalpart},
      {"ju\xC2\xA0liet@example.com", JidError::InvalidLocalpart},      // NBSP
      {"ju\xE2\x80\x8Bliet@example.com", JidError::InvalidLocalpart},  // zero-width space
      {"\xF0\x9F\x98\x80@example.com", JidError::InvalidLocalpart},    // emoji
      {"\xEE\x80\x80@example.com", JidError::InvalidLocalpart},        // private use
      {"\xC3\x28@example.com", JidError::InvalidLocalpart},            // bad UTF-8
      {"\xC0\xAF@example.com", JidError::InvalidLocalpart},            // overlong '/'
      {"\xED\xA0\x80@example.com", JidError::InvalidLocalpart},        // surrogate
      {"juliet@example.com/a\x01z", JidError::InvalidResourcepart},
      {"juliet@example.com/a\xE2\x80\xA8z", JidError::InvalidResourcepart},  // U+2028
      {"juliet@example.com/\xC3", JidError::InvalidResourcepart},            // truncated UTF-8
      {"juliet@example.com/\xC2\xAD", JidError::EmptyResourcepart},          // soft hyphen only
  };
  for (const auto& c : cases) {
    INFO(c.input);
    const auto jid = Jid::parse(c.input);
    REQUIRE_FALSE(jid.hasValue());
    CHECK(jid.error() == c.error);
  }
  // An embedded NUL is never part of a JID.
  const auto nul = Jid::parse(std::string("jul\0iet@example.com", 19));
  REQUIRE_FALSE(nul.hasValue());
  CHECK(nul.error() == JidError::InvalidLocalpart);
}

TEST_CASE("Preparation maps case, width, dots and literals", "[jid]") {
  const ValidCase cases[] = {
      {"Juliet@Example.COM/Balcony", "juliet@example.com/Balcony"},
      {"JULIET@EXAMPLE.COM", "juliet@example.com"},
      {"juliet@example.com./x", "juliet@example.com/x"},
      {"juliet@example.com.", "juliet@example.com"},
      {"\xC3\x89lise@example.com", "\xC3\xA9lise@example.com"},   // É -> é
      {"E\xCC\x81lise@example.com", "\xC3\xA9lise@example.com"},  // E + U+0301 -> é (NFC)
      {"\xEF\xBC\xAA"
       "uliet@example.com",
       "juliet@example.com"},  // fullwidth J
      {"\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD@example.com",
       "\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD@example.com"},
      {"juliet@M\xC3\x9CNCHEN.example", "juliet@m\xC3\xBCnchen.example"},
      {"juliet@xn--mnchen-3ya.example", "juliet@m\xC3\xBCnchen.example"},
      {"juliet@XN--MNCHEN-3YA.example", "juliet@m\xC3\xBCnchen.example"},
      {"juliet@example\xE3\x80\x82"
       "com",
       "juliet@example.com"},  // U+3002 ideographic dot
      {"juliet@192.0.2.1", "juliet@192.0.2.1"},
      {"juliet@[::1]", "juliet@[::1]"},
      {"juliet@[0:0:0:0:0:0:0:1]/r", "juliet@[::1]/r"},
      {"juliet@[2001:DB8::1]", "juliet@[2001:db8::1]"},
      {"user@do_main.example", "user@do_main.example"},
      {"localhost", "localhost"},
      {"juliet@example.com/Foo/Bar", "juliet@example.com/Foo/Bar"},  // '/' in a resource
      {"juliet@example.com/\xEF\xAC\x81", "juliet@example.com/fi"},  // ligature, NFKC
      {"room@muc.example/\xF0\x9F\x8D\xBA", "room@muc.example/\xF0\x9F\x8D\xBA"},  // emoji nick
      {"room@muc.example/ Trailing ", "room@muc.example/ Trailing "},
      {"room@muc.example/a\xC2\xA0z", "room@muc.example/a z"},  // NBSP becomes a space
  };
  for (const auto& c : cases) {
    INFO(c.input);
    const auto jid = Jid::parse(c.input);
    REQUIRE(jid.hasValue());
    CHECK(jid->toString() == c.prepared);
  }
}

TEST_CASE("Preparation is idempotent", "[jid]") {
  const char* inputs[] = {
      "Juliet@Example.COM/Balcony",
      "fu\xC3\x9F"
      "ball@example.com",
      "\xCE\xA3@example.com/foo",
      "E\xCC\x81lise@example.com",
      "juliet@xn--mnchen-3ya.example",
      "juliet@[0::1]/x",
      "king@example.com/\xE2\x99\x9A",
      "juliet@example.com/\xEF\xAC\x81",
      "\xEF\xBC\xAA"
      "uliet@example.com",
  };
  for (const char* input : inputs) {
    INFO(input);
    const auto once = Jid::parse(input);
    REQUIRE(once.hasValue());
    const auto twice = Jid::parse(once->toString());
    REQUIRE(twice.hasValue());
    CHECK(twice->toString() == once->toString());
    CHECK(*twice == *once);
  }
  for (const char* local : {"Juliet", "\xCE\xA3",
                            "fu\xC3\x9F"
                            "ball",
                            "\xC3\x89lise"}) {
    const auto once = nodeprep(local);
    REQUIRE(once);
    CHECK(nodeprep(*once) == once);
  }
}

TEST_CASE("Localpart and domainpart are case-insensitive, resourcepart is not", "[jid]") {
  CHECK(*Jid::parse("JULIET@EXAMPLE.COM/foo") == *Jid::parse("juliet@example.com/foo"));
  CHECK(*Jid::parse("juliet@example.com/Foo") != *Jid::parse("juliet@example.com/foo"));
  CHECK(*Jid::parse("fussball@example.com") != *Jid::parse("fu\xC3\x9F"
                                                           "ball@example.com"));
  CHECK(*Jid::parse("\xCE\xA3@example.com") == *Jid::parse("\xCF\x83@example.com"));
}

TEST_CASE("Parts longer than 1023 octets are refused", "[jid]") {
  const std::string max(1023, 'a');
  const std::string over(1024, 'a');
  CHECK(Jid::parse(max + "@example.com").hasValue());
  CHECK(Jid::parse(over + "@example.com").error() == JidError::LocalpartTooLong);
  CHECK(Jid::parse("juliet@example.com/" + max).hasValue());
  CHECK(Jid::parse("juliet@example.com/" + over).error() == JidError::ResourcepartTooLong);
  // 1023 octets of labels of 63.
  std::string domain;
  while (domain.size() + 64 <= 1023) domain += std::string(63, 'd') + ".";
  domain += std::string(1023 - domain.size(), 'e').substr(0, 63);
  REQUIRE(domain.size() <= 1023);
  CHECK(Jid::parse("juliet@" + domain).hasValue());
  std::string long_domain;
  while (long_domain.size() <= 1023) long_domain += std::string(63, 'd') + ".";
  long_domain += "com";
  CHECK(Jid::parse("juliet@" + long_domain).error() == JidError::DomainpartTooLong);
  CHECK(Jid::parse("juliet@" + std::string(64, 'd') + ".com").error() ==
        JidError::InvalidDomainpart);
  // Far too long: refused without preparing it.
  CHECK(Jid::parse(std::string(100000, 'a') + "@example.com").error() ==
        JidError::LocalpartTooLong);
  // Multi-byte characters count in octets.
  std::string pis;
  for (int i = 0; i < 512; ++i) pis += "\xCF\x80";
  CHECK(Jid::parse(pis + "@example.com").error() == JidError::LocalpartTooLong);
}

TEST_CASE("Jid accessors and kinds", "[jid]") {
  const auto full = Jid::parse("juliet@example.com/balcony");
  REQUIRE(full.hasValue());
  CHECK(full->localpart() == "juliet");
  CHECK(full->domainpart() == "example.com");
  CHECK(full->resourcepart() == "balcony");
  CHECK(full->isFull());
  CHECK_FALSE(full->isBare());
  CHECK_FALSE(full->isDomain());
  CHECK(full->hasResource());
  CHECK(full->bare().toString() == "juliet@example.com");
  CHECK_FALSE(full->asBare());
  REQUIRE(full->asFull());
  CHECK(full->asFull()->resourcepart() == "balcony");
  CHECK(full->asFull()->bare() == full->bare());

  const auto domain = Jid::parse("example.com");
  REQUIRE(domain.hasValue());
  CHECK(domain->isDomain());
  CHECK(domain->isBare());
  CHECK_FALSE(domain->hasLocalpart());
  CHECK(domain->localpart().empty());
  CHECK(domain->resourcepart().empty());
  CHECK_FALSE(domain->asFull());
  REQUIRE(domain->asBare());
  CHECK(domain->asBare()->isDomain());

  const auto service = Jid::parse("example.com/res");
  REQUIRE(service.hasValue());
  CHECK(service->isFull());
  CHECK(service->domainpart() == "example.com");
  CHECK(service->bare().toString() == "example.com");
  CHECK(service->asFull()->domainpart() == "example.com");
}

TEST_CASE("BareJid and FullJid conversions", "[jid]") {
  const auto bare = BareJid::fromParts("Juliet", "Example.com");
  REQUIRE(bare.hasValue());
  CHECK(bare->toString() == "juliet@example.com");
  CHECK(bare->localpart() == "juliet");
  CHECK(bare->domainpart() == "example.com");

  const auto full = bare->withResource("Balcony");
  REQUIRE(full.hasValue());
  CHECK(full->toString() == "juliet@example.com/Balcony");
  CHECK(full->localpart() == "juliet");
  CHECK(full->domainpart() == "example.com");
  CHECK(full->resourcepart() == "Balcony");
  CHECK(full->bare() == *bare);
  CHECK(bare->withResource("").error() == JidError::EmptyResourcepart);
  CHECK(bare->withResource("a\x01").error() == JidError::InvalidResourcepart);

  const Jid widened = *full;
  CHECK(widened.isFull());
  CHECK(widened.toString() == full->toString());
  CHECK(widened.asFull() == *full);
  const Jid widened_bare = *bare;
  CHECK(widened_bare.isBare());
  CHECK(widened_bare.asBare() == *bare);

  const auto host = BareJid::fromParts("", "example.com");
  REQUIRE(host.hasValue());
  CHECK(host->isDomain());
  CHECK(host->withResource("r")->toString() == "example.com/r");

  CHECK(FullJid::fromParts("a", "example.com", "").error() == JidError::EmptyResourcepart);
  CHECK(FullJid::fromParts("a", "example.com", "r")->toString() == "a@example.com/r");
  CHECK(BareJid::fromParts("a b", "example.com").error() == JidError::InvalidLocalpart);
  CHECK(Jid::fromParts("A", "Example.com", "R")->toString() == "a@example.com/R");
  CHECK(Jid::fromParts("", "example.com", "")->isDomain());
}

TEST_CASE("JIDs work as map keys", "[jid]") {
  std::unordered_map<BareJid, int> by_bare;
  by_bare[*BareJid::fromParts("juliet", "example.com")] = 1;
  CHECK(by_bare.count(Jid::parse("JULIET@example.com")->bare()) == 1);

  std::unordered_set<FullJid> fulls;
  fulls.insert(*Jid::parse("juliet@example.com/a")->asFull());
  fulls.insert(*Jid::parse("Juliet@example.com/a")->asFull());
  fulls.insert(*Jid::parse("juliet@example.com/A")->asFull());
  CHECK(fulls.size() == 2);

  std::map<Jid, int> ordered;
  ordered[*Jid::parse("b@example.com")] = 2;
  ordered[*Jid::parse("a@example.com")] = 1;
  CHECK(ordered.begin()->first.toString() == "a@example.com");
  std::unordered_set<Jid> jids{*Jid::parse("example.com"), *Jid::parse("EXAMPLE.com")};
  CHECK(jids.size() == 1);
}

TEST_CASE("Part preparation helpers", "[jid]") {
  CHECK(nodeprep("Juliet") == "juliet");
  CHECK_FALSE(nodeprep(""));
  CHECK_FALSE(nodeprep("a b"));
  CHECK_FALSE(nodeprep("a@b"));
  CHECK_FALSE(nodeprep(std::string(1024, 'a')));
  CHECK(nameprep("Example.COM.") == "example.com");
  CHECK_FALSE(nameprep(""));
  CHECK_FALSE(nameprep("a/b"));
  CHECK(resourceprep("Foo Bar") == "Foo Bar");
  CHECK_FALSE(resourceprep(""));
  CHECK_FALSE(resourceprep("\x7F"));
}

// Every ASCII character, alone and between letters, in each part: what RFC 7622 §3.3.1 (the
// localpart's exclusions), PRECIS and stringprep's nodeprep and resourceprep tables say.
TEST_CASE("Every ASCII character is allowed or refused in each part as the RFCs say", "[jid]") {
  const std::string forbidden_in_localpart = "\"&'/:<>@";
  for (int code = 0; code < 0x80; ++code) {
    const char c = static_cast<char>(code);
    const std::string inside = std::string("Ab") + c + "Yz";
    CAPTURE(code);
    const bool control = code < 0x20 || code == 0x7F;
    if (control || c == ' ' || forbidden_in_localpart.find(c) != std::string::npos) {
      CHECK_FALSE(nodeprep(std::string(1, c)));
      CHECK_FALSE(nodeprep(inside));
      CHECK(Jid::fromParts(inside, "example.com", "").error() == JidError::InvalidLocalpart);
    } else {
      const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      CHECK(nodeprep(std::string(1, c)) == std::string(1, lower));
      CHECK(nodeprep(inside) == std::string("ab") + lower + "yz");
    }
    if (control) {
      CHECK_FALSE(resourceprep(std::string(1, c)));
      CHECK_FALSE(resourceprep(inside));
      CHECK(Jid::fromParts("", "example.com", inside).error() == JidError::InvalidResourcepart);
    } else {
      CHECK(resourceprep(std::string(1, c)) == std::string(1, c));
      CHECK(resourceprep(inside) == inside);  // case kept
    }
  }
  CHECK(nodeprep(std::string(kMaxJidPartSize, 'A')) == std::string(kMaxJidPartSize, 'a'));
  CHECK_FALSE(nodeprep(std::string(kMaxJidPartSize + 1, 'a')));
  CHECK(resourceprep(std::string(kMaxJidPartSize, ' ')) == std::string(kMaxJidPartSize, ' '));
  CHECK_FALSE(resourceprep(std::string(kMaxJidPartSize + 1, 'a')));
  // Outside ASCII the full preparation still runs: mapped, normalized, refused.
  CHECK(nodeprep("J\xC3\x9Cliet") == "j\xC3\xBCliet");  // Ü lowercased
  CHECK(nodeprep("\xEF\xBC\xA1") == "a");               // fullwidth A
  CHECK_FALSE(nodeprep("a\xE2\x99\x9A"));               // a symbol, U+265A
  CHECK(resourceprep("a\xC2\xADz") == "az");            // soft hyphen mapped to nothing
  CHECK_FALSE(resourceprep("a\xE2\x80\x8Ez"));          // a bidi mark, prohibited
}

TEST_CASE("JidError names", "[jid]") {
  CHECK(toString(JidError::Empty) == "empty");
  CHECK(toString(JidError::InvalidLocalpart) == "invalid-localpart");
  CHECK(toString(JidError::ResourcepartTooLong) == "resourcepart-too-long");
}

}  // namespace
}  // namespace parley::xmpp
