// XMPP over WebSocket (RFC 7395) against the real server: the handshake and its refusals,
// a whole login with framing, messages to and from a TCP client, and bad frames closing one
// connection with the RFC 6455 close code while everyone else carries on.
#include <catch2/catch.hpp>
#include <regex>

#include "harness/scenario.h"
#include "harness/websocket_client.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

ServerOptions withHttp() {
  ServerOptions options;
  options.http_port = 0;
  options.https_port = 0;
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::unique_ptr<WebSocketClient> wsLogin(const ParleyServer& server, const std::string& user,
                                         const std::string& resource, bool tls = false) {
  auto client = std::make_unique<WebSocketClient>();
  REQUIRE(client->connect(tls ? server.httpsPort() : server.httpPort(), tls));
  REQUIRE(client->handshake() == 101);
  auto jid = client->login(user, passwordFor(user), resource);
  REQUIRE(jid);
  CHECK(*jid == user + "@localhost/" + resource);
  return client;
}

TEST_CASE("the WebSocket handshake answers 101 with the xmpp subprotocol", "[websocket]") {
  auto server = startServer(withHttp());
  WebSocketClient client;
  REQUIRE(client.connect(server->httpPort()));
  // RFC 6455 §1.3's example key.
  int status = client.sendHandshake(
      "GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
      "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, xmpp\r\n\r\n");
  INFO(client.responseHead());
  REQUIRE(status == 101);
  CHECK(client.responseHeader("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(client.responseHeader("Sec-WebSocket-Protocol") == "xmpp");
  CHECK(client.responseHeader("Upgrade") == "websocket");

  // RFC 7395 §3.3.1: the server answers <open/> with its own, then the features.
  REQUIRE(
      client.sendText("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' "
                      "version='1.0'/>"));
  auto open = client.readText();
  REQUIRE(open);
  CHECK(contains(*open, "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'"));
  CHECK(contains(*open, "from='localhost'"));
  CHECK(contains(*open, "version='1.0'"));
  auto features = client.readText();
  REQUIRE(features);
  // Each message is a document: the stream prefix is declared on the features element.
  CHECK(contains(*features, "<stream:features xmlns:stream='http://etherx.jabber.org/streams'"));
  // Loopback counts as secure (no STARTTLS over WebSocket): SASL is offered at once.
  CHECK(contains(*features, "<mechanism>PLAIN</mechanism>"));
  CHECK_FALSE(contains(*features, "starttls"));
}

TEST_CASE("bad WebSocket handshakes get the status RFC 6455 names", "[websocket]") {
  auto options = withHttp();
  options.http_extra = "websocket_origins = [\"http://localhost:5280\"]";
  auto server = startServer(options);
  struct Case {
    const char* what;
    std::string request;
    int status;
    const char* header;  // expected response header, or nullptr
  };
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  std::vector<Case> cases = {
      {"wrong version",
       "GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\n" + upgrade + key +
           "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
       426, "Sec-WebSocket-Version: 13"},
      {"no Upgrade header", "GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\n\r\n", 426,
       "Upgrade: websocket"},
      {"no xmpp subprotocol",
       "GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\n" + upgrade + key +
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
       400, nullptr},
      {"bad key",
       "GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\n" + upgrade +
           "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: xmpp\r\n\r\n",
       400, nullptr},
      {"origin not allowed",
       "GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\n" + upgrade + key +
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n"
           "Origin: https://evil.example\r\n\r\n",
       403, nullptr},
      {"POST", "POST /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", 405,
       "Allow: GET"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    WebSocketClient client;
    REQUIRE(client.connect(server->httpPort()));
    CHECK(client.sendHandshake(c.request) == c.status);
    INFO(client.responseHead());
    if (c.header) CHECK(contains(client.responseHead(), c.header));
  }
  // The allowed origin gets through.
  WebSocketClient allowed;
  REQUIRE(allowed.connect(server->httpPort()));
  CHECK(allowed.handshake("xmpp", "Origin: http://localhost:5280\r\n") == 101);
}

TEST_CASE("a WebSocket client logs in and chats with a TCP client", "[websocket]") {
  auto transport_tls = GENERATE(false, true);
  INFO((transport_tls ? "wss" : "ws"));
  auto server = startServer(withHttp());
  auto juliet = login(*server, "juliet", "garden");
  auto romeo = wsLogin(*server, "romeo", "browser", transport_tls);

  // Initial presence and a message from the browser to the TCP client.
  REQUIRE(romeo->sendText("<presence xmlns='jabber:client'/>"));
  REQUIRE(
      romeo->sendText("<message xmlns='jabber:client' to='juliet@localhost/garden' "
                      "type='chat'><body>hello over WebSocket 🌹</body></message>"));
  auto got = juliet->waitFor(messageWithBody("hello over WebSocket 🌹"));
  REQUIRE(got != nullptr);
  CHECK(got->from == "romeo@localhost/browser");

  // The answer arrives as one message, with its own jabber:client namespace.
  juliet->sendMessage("romeo@localhost/browser", "hello, browser");
  REQUIRE(juliet->syncWithServer());  // libstrophe writes from its event loop
  auto answer = romeo->readTextContaining("hello, browser");
  REQUIRE(answer);
  CHECK(std::regex_search(*answer, std::regex("^<message xmlns='jabber:client'")));
  CHECK(contains(*answer, "from='juliet@localhost/garden'"));

  // RFC 6455 §5.5.2: a ping is answered with a pong carrying the same data.
  REQUIRE(romeo->sendFrame(0x89, "are you there"));
  auto pong = romeo->readFrame();
  REQUIRE(pong);
  CHECK(pong->opcode == 0xA);
  CHECK(pong->payload == "are you there");

  // RFC 7395 §3.6: <close/> is answered with <close/>, then the WebSocket closes.
  REQUIRE(romeo->sendText("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"));
  auto close = romeo->readText();
  REQUIRE(close);
  CHECK(contains(*close, "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"));
  CHECK(romeo->readClose() == 1000);
  CHECK(romeo->waitClosed());
  CHECK(juliet->syncWithServer());
}

TEST_CASE("bad WebSocket frames close that connection with the RFC 6455 code", "[websocket]") {
  auto options = withHttp();
  options.max_stanza_bytes = 4096;
  auto server = startServer(options);
  auto juliet = login(*server, "juliet", "garden");
  struct Case {
    const char* what;
    uint8_t first_byte;
    std::string payload;
    bool masked;
    uint16_t code;
  };
  std::vector<Case> cases = {
      {"message over the stanza limit", 0x81, std::string(8000, 'x'), true, 1009},
      {"unmasked frame", 0x81, "<presence xmlns='jabber:client'/>", false, 1002},
      {"binary message", 0x82, "<presence xmlns='jabber:client'/>", true, 1003},
      {"invalid UTF-8", 0x81, "<message xmlns='jabber:client'><body>\xff</body></message>", true,
       1007},
      {"unknown opcode", 0x83, "x", true, 1002},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto romeo = wsLogin(*server, "romeo", "bad");
    REQUIRE(romeo->sendFrame(c.first_byte, c.payload, c.masked));
    CHECK(romeo->readClose() == c.code);
    CHECK(romeo->waitClosed());
    // Everyone else carries on, and the resource is free for the next round.
    CHECK(juliet->syncWithServer());
  }
  auto romeo = wsLogin(*server, "romeo", "good");
  juliet->sendMessage("romeo@localhost/good", "after the bad ones");
  REQUIRE(juliet->syncWithServer());
  CHECK(romeo->readTextContaining("after the bad ones"));
}

TEST_CASE("XMPP errors over WebSocket are stream errors in their own message", "[websocket]") {
  auto server = startServer(withHttp());
  SECTION("an <open/> in the wrong namespace") {
    WebSocketClient client;
    REQUIRE(client.connect(server->httpPort()));
    REQUIRE(client.handshake() == 101);
    REQUIRE(client.sendText("<open xmlns='jabber:client' to='localhost' version='1.0'/>"));
    auto error = client.readTextContaining("stream:error");
    REQUIRE(error);
    CHECK(contains(*error, "xmlns:stream='http://etherx.jabber.org/streams'"));
    CHECK(contains(*error, "invalid-namespace"));
    CHECK(client.readTextContaining("<close"));
    CHECK(client.readClose() == 1000);
  }
  SECTION("an unknown host") {
    WebSocketClient client;
    REQUIRE(client.connect(server->httpPort()));
    REQUIRE(client.handshake() == 101);
    REQUIRE(
        client.sendText("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' "
                        "to='elsewhere.example' version='1.0'/>"));
    auto error = client.readTextContaining("stream:error");
    REQUIRE(error);
    CHECK(contains(*error, "host-unknown"));
    CHECK(client.readClose() == 1000);
  }
  SECTION("malformed XML in a message") {
    auto romeo = wsLogin(*server, "romeo", "oops");
    REQUIRE(romeo->sendText("<message xmlns='jabber:client'><body>x</message>"));
    auto error = romeo->readTextContaining("stream:error");
    REQUIRE(error);
    CHECK(contains(*error, "not-well-formed"));
    CHECK(romeo->readClose() == 1000);
  }
}

}  // namespace
}  // namespace parley::integration
