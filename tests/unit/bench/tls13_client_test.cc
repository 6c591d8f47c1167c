// The load generator's TLS 1.3 client handshake against OpenSSL's server, over memory BIOs:
// it completes with each signature scheme it offers, data crosses both ways (the server's
// session tickets are taken and ignored), and what it does not do or cannot trust fails.
#include "contrib/bench/tls13_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

namespace parley::bench {
namespace {

using Records = net::Tls13Records;

// A self-signed certificate for "localhost" with a fresh key of `type`.
struct Identity {
  explicit Identity(const char* type) {
    if (std::string(type) == "EC") {
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    } else if (std::string(type) == "RSA") {
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
    } else {
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
    }
    REQUIRE(key != nullptr);
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key);
    REQUIRE(X509_sign(cert, key, std::string(type) == "ED25519" ? nullptr : EVP_sha256()) > 0);
  }
  ~Identity() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

// An OpenSSL TLS server on memory BIOs.
struct Server {
  explicit Server(const Identity& id) {
    ctx = SSL_CTX_new(TLS_server_method());
    REQUIRE(ctx != nullptr);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    REQUIRE(SSL_CTX_use_certificate(ctx, id.cert) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(ctx, id.key) == 1);
  }
  void begin() {
    ssl = SSL_new(ctx);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_accept_state(ssl);
  }
  ~Server() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  void give(const std::string& bytes) {
    BIO_write(in, bytes.data(), static_cast<int>(bytes.size()));
  }
  std::string take() {
    std::string bytes;
    char buffer[4096];
    int n;
    while ((n = BIO_read(out, buffer, sizeof buffer)) > 0) bytes.append(buffer, n);
    return bytes;
  }
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  BIO *in = nullptr, *out = nullptr;
};

// Runs the handshake to its end: the client's result (error text, or "" when complete).
std::string shakeHands(Server& server, Tls13ClientHandshake& client, std::string& leftover) {
  server.begin();
  std::string hello = client.start();
  REQUIRE(!hello.empty());
  server.give(hello);
  for (int round = 0; round < 8; ++round) {
    SSL_do_handshake(server.ssl);
    std::string to_client = server.take();
    std::string to_server;
    auto done = client.receive(to_client, to_server);
    if (!done) return done.error();
    server.give(to_server);
    if (*done) {
      REQUIRE(SSL_do_handshake(server.ssl) == 1);
      leftover = client.takeLeftover();
      return "";
    }
  }
  return "no progress";
}

// Opens every whole record of `wire` with `records`; the application data.
std::string openAll(Records& records, std::string wire) {
  std::string data, reply;
  std::string out(wire.size(), '\0');
  while (size_t size = Records::recordSize(wire)) {
    REQUIRE(size <= wire.size());
    auto opened = records.open(std::string_view(wire).substr(0, size), out.data(), reply);
    REQUIRE(opened);
    if (opened->content == Records::Content::Data) data.append(out.data(), opened->size);
    wire.erase(0, size);
  }
  return data;
}

TEST_CASE("Tls13ClientHandshake: a full handshake with OpenSSL's server, data both ways",
          "[bench][tls13]") {
  const char* type = GENERATE("EC", "RSA", "ED25519");
  INFO(type);
  Identity id(type);
  Server server(id);
  ServerKeyCache keys;
  for (int connection = 0; connection < 2; ++connection) {  // the second one hits the cache
    Tls13ClientHandshake client("localhost", keys);
    std::string leftover;
    REQUIRE(shakeHands(server, client, leftover) == "");
    CHECK(SSL_version(server.ssl) == TLS1_3_VERSION);
    CHECK(SSL_session_reused(server.ssl) == 0);
    auto records = client.takeRecords();
    REQUIRE(records);

    REQUIRE(SSL_write(server.ssl, "<stream:stream>", 15) == 15);
    // OpenSSL sends its session tickets before the first data: taken and ignored.
    CHECK(openAll(*records, leftover + server.take()) == "<stream:stream>");

    std::string wire;
    REQUIRE(records->seal("<presence/>", wire));
    server.give(wire);
    char buffer[64];
    int n = SSL_read(server.ssl, buffer, sizeof buffer);
    REQUIRE(n == 11);
    CHECK(std::string(buffer, n) == "<presence/>");
    SSL_free(server.ssl);
    server.ssl = nullptr;
  }
}

// ejabberd asks every client for a certificate; one without answers with an empty Certificate.
TEST_CASE("Tls13ClientHandshake: a server that asks for a client certificate gets none",
          "[bench][tls13]") {
  Identity id("EC");
  Server server(id);
  SSL_CTX_set_verify(server.ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  ServerKeyCache keys;
  Tls13ClientHandshake client("localhost", keys);
  std::string leftover;
  REQUIRE(shakeHands(server, client, leftover) == "");  // the server accepted our Finished
  CHECK(SSL_get0_peer_certificate(server.ssl) == nullptr);
  auto records = client.takeRecords();
  REQUIRE(records);
  REQUIRE(SSL_write(server.ssl, "<features/>", 11) == 11);
  CHECK(openAll(*records, leftover + server.take()) == "<features/>");
}

TEST_CASE("Tls13ClientHandshake: what it does not offer or cannot trust fails", "[bench][tls13]") {
  Identity id("EC");
  Server server(id);
  ServerKeyCache keys;
  Tls13ClientHandshake client("localhost", keys);
  std::string leftover;
  SECTION("a server without X25519 (the only group offered) answers with an alert") {
    REQUIRE(SSL_CTX_set1_groups_list(server.ctx, "P-256") == 1);
    CHECK(shakeHands(server, client, leftover).find("alert") != std::string::npos);
  }
  SECTION("a server without TLS 1.3 answers with an alert") {
    SSL_CTX_set_max_proto_version(server.ctx, TLS1_2_VERSION);
    CHECK(shakeHands(server, client, leftover).find("alert") != std::string::npos);
  }
  SECTION("a server that only takes another cipher suite answers with an alert") {
    REQUIRE(SSL_CTX_set_ciphersuites(server.ctx, "TLS_AES_256_GCM_SHA384") == 1);
    CHECK(shakeHands(server, client, leftover).find("alert") != std::string::npos);
  }
  SECTION("a byte changed in the server's protected flight") {
    server.begin();
    server.give(client.start());
    SSL_do_handshake(server.ssl);
    std::string flight = server.take();
    flight[flight.size() - 3] ^= 0x01;  // inside the last record's tag
    std::string to_server;
    auto done = client.receive(flight, to_server);
    REQUIRE(!done);
    CHECK(done.error() == "bad_record_mac");
  }
  SECTION("the records may arrive a byte at a time") {
    server.begin();
    server.give(client.start());
    SSL_do_handshake(server.ssl);
    std::string flight = server.take();
    std::string to_server;
    bool complete = false;
    for (char c : flight) {
      auto done = client.receive(std::string_view(&c, 1), to_server);
      REQUIRE(done);
      complete = *done;
    }
    CHECK(complete);
    server.give(to_server);
    CHECK(SSL_do_handshake(server.ssl) == 1);
  }
}

}  // namespace
}  // namespace parley::bench
