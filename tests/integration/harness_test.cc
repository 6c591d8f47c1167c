// Self-tests of the harness pieces that need no server: SCRAM vectors, base64, patterns.
#include <catch2/catch.hpp>
#include <regex>

#include "harness/raw_client.h"
#include "harness/scram_client.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

TEST_CASE("harness SCRAM client reproduces the RFC examples", "[harness]") {
  struct Vector {
    ScramHash hash;
    const char* nonce;
    const char* server_first;
    const char* client_final;
    const char* server_final;
  };
  const Vector vectors[] = {
      {ScramHash::Sha1, "fyko+d2lbbFgONRv9qkxdawL",  // RFC 5802 §5
       "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
       "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
       "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="},
      {ScramHash::Sha256, "rOprNGfwEbeRWgbNEkqO",  // RFC 7677 §3
       "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
       "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
       "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
       "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
  };
  for (const auto& v : vectors) {
    ScramClient scram(v.hash, "user", "pencil", "", "", false, v.nonce);
    CHECK(scram.clientFirst() == std::string("n,,n=user,r=") + v.nonce);
    CHECK(scram.clientFinal(v.server_first) == v.client_final);
    CHECK(scram.verifyServerFinal(v.server_final));
    CHECK_FALSE(scram.verifyServerFinal("v=AAAA"));
    CHECK_FALSE(scram.verifyServerFinal("e=invalid-proof"));
  }
}

TEST_CASE("harness SCRAM client: GS2 headers and bad server messages", "[harness]") {
  ScramClient plus(ScramHash::Sha256, "a,b=c", "x", "tls-exporter", "CBDATA", false, "N");
  CHECK(plus.clientFirst() == "p=tls-exporter,,n=a=2Cb=3Dc,r=N");
  std::string final_message = plus.clientFinal("r=NS,s=" + base64Encode("salt") + ",i=1");
  CHECK(final_message.rfind("c=" + base64Encode("p=tls-exporter,,CBDATA") + ",r=NS,p=", 0) == 0);

  ScramClient y(ScramHash::Sha1, "u", "p", "", "", true, "N");
  CHECK(y.clientFirst() == "y,,n=u,r=N");

  ScramClient bad(ScramHash::Sha1, "u", "p", "", "", false, "N");
  CHECK(bad.clientFinal("r=OTHER,s=c2FsdA==,i=4096").empty());  // nonce not extended
  CHECK(bad.clientFinal("r=N,s=c2FsdA==,i=4096").empty());      // nonce not extended at all
  CHECK(bad.clientFinal("r=NX,s=c2FsdA==,i=0").empty());
  CHECK(bad.clientFinal("r=NX,s=,i=4096").empty());
}

TEST_CASE("harness base64 and XML helpers", "[harness]") {
  std::string decoded;
  for (const std::string& text :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\0\xff", 2)}) {
    REQUIRE(base64Decode(base64Encode(text), decoded));
    CHECK(decoded == text);
  }
  CHECK(base64Decode("=", decoded));
  CHECK(decoded.empty());
  CHECK_FALSE(base64Decode("abc", decoded));
  CHECK(xmlEscape("<a href=\"x\">&'</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
}

TEST_CASE("harness patterns accept either quote style", "[harness]") {
  const std::regex error(streamErrorPattern("host-unknown"));
  CHECK(std::regex_search(
      "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", error));
  CHECK(std::regex_search(
      "<stream:error><host-unknown xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"></host-unknown>",
      error));
  CHECK_FALSE(std::regex_search(
      "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>", error));
  CHECK_FALSE(
      std::regex_search("<host-unknownx xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", error));

  const std::string features =
      "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
      "<mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>PLAIN</mechanism></mechanisms>"
      "</stream:features>";
  CHECK(saslMechanisms(features) == std::vector<std::string>{"SCRAM-SHA-256-PLUS", "PLAIN"});
  CHECK(saslFailureCondition(
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>") ==
        "not-authorized");
  CHECK(saslFailureCondition("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                             "<text>nope</text><encryption-required/></failure>") ==
        "encryption-required");
}

}  // namespace
}  // namespace parley::integration
