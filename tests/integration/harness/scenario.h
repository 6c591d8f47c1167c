// Shorthands that make a test read like a conversation: start a server, log romeo in.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "harness/raw_client.h"
#include "harness/server.h"
#include "harness/strophe_client.h"

namespace parley::integration {

enum class Transport { StartTls, DirectTls };

inline const char* transportName(Transport transport) {
  return transport == Transport::StartTls ? "STARTTLS" : "direct TLS";
}

inline ClientOptions clientOptions(const ParleyServer& server,
                                   Transport transport = Transport::StartTls) {
  ClientOptions options;
  options.direct_tls = transport == Transport::DirectTls;
  options.port = options.direct_tls ? server.directTlsPort() : server.c2sPort();
  return options;
}

inline uint16_t portFor(const ParleyServer& server, Transport transport) {
  return transport == Transport::DirectTls ? server.directTlsPort() : server.c2sPort();
}

inline std::string passwordFor(const std::string& user) {
  if (user == "romeo") return kRomeoPassword;
  if (user == "juliet") return kJulietPassword;
  return user + "-pass";
}

// Starts a server and fails the test at once if it does not come up.
inline std::unique_ptr<ParleyServer> startServer(ServerOptions options = {}) {
  auto server = std::make_unique<ParleyServer>(std::move(options));
  REQUIRE(server->start());
  return server;
}

// USER logs in as USER@DOMAIN/RESOURCE (the server's one host) with libstrophe; the test
// stops if that fails.
inline std::unique_ptr<StropheClient> login(const ParleyServer& server, const std::string& user,
                                            const std::string& resource,
                                            Transport transport = Transport::StartTls) {
  auto client = std::make_unique<StropheClient>();
  std::string jid = user + "@" + server.domain() + "/" + resource;
  INFO(user << " logs in as " << jid << " over " << transportName(transport));
  bool connected = client->connect(jid, passwordFor(user), clientOptions(server, transport));
  INFO("stream error: " << client->streamError());
  REQUIRE(connected);
  REQUIRE(client->boundJid() == jid);
  return client;
}

// The condition element inside a stanza's <error/> (RFC 6120 §8.3), or "" if none.
inline std::string errorCondition(const ReceivedStanza& stanza) {
  const XmlNode* error = stanza.tree.child("error");
  if (!error) return "";
  for (const auto& child : error->children) {
    if (child.xmlns == "urn:ietf:params:xml:ns:xmpp-stanzas" && child.name != "text") {
      return child.name;
    }
  }
  return "";
}

// A predicate for "a message whose body is BODY".
inline StropheClient::Predicate messageWithBody(const std::string& body) {
  return [body](const ReceivedStanza& s) { return s.name == "message" && s.body == body; };
}

}  // namespace parley::integration
