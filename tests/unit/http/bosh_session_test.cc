// Unit tests for BOSH sessions (XEP-0124 §7-§14): held requests, rid order and window,
// repeated rids, too many requests, terminate, stream errors; with a fake client session and
// fake HTTP exchanges on one loop, one turn at a time.
#include "http/bosh_session.h"

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>

#include "xml/stream_parser.h"

namespace parley::http {
namespace {

class FakeExchange final : public Exchange {
 public:
  explicit FakeExchange(core::Worker& worker) : worker_(worker) {}
  const core::HttpRequest& request() const override { return request_; }
  core::Worker& worker() override { return worker_; }
  void respond(core::HttpResponse response) override {
    if (!answer) answer = std::move(response);
  }
  bool isOpen() const override { return !answer; }
  void onAbort(std::function<void()> fn) override { abort = std::move(fn); }
  void upgrade(core::HttpResponse /*response*/, Takeover /*take*/) override {}

  std::optional<core::HttpResponse> answer;
  std::function<void()> abort;

 private:
  core::Worker& worker_;
  core::HttpRequest request_;
};

// Stands in for the c2s session: answers a stream header with features, a closing tag with
// its own close, and records what it read.
class FakeSession final : public c2s::Transport::Handler {
 public:
  void onData(std::string_view bytes) override {
    input.append(bytes);
    if (bytes.starts_with("<stream:stream")) {
      transport->sendStreamHeader("stream-1", "localhost");
      transport->sendElement(
          "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
          "</stream:features>");
    } else if (bytes == "</stream:stream>") {
      transport->sendStreamClose();
      transport->close();
    }
  }
  void onClosed(std::string_view why) override {
    closed = true;
    reason = why;
  }

  BoshTransport* transport = nullptr;
  std::string input;
  bool closed = false;
  std::string reason;
};

bosh::Request parse(std::string body) {
  auto request = bosh::parseRequest(body, 65536, 33);
  REQUIRE(request);
  return std::move(*request);
}

// The parsed body of an answer.
xml::Element bodyOf(const FakeExchange& exchange) {
  REQUIRE(exchange.answer);
  REQUIRE(exchange.answer->status == 200);
  auto body = xml::parseElement(exchange.answer->body);
  REQUIRE(body);
  return std::move(*body);
}

struct Fixture {
  static constexpr uint64_t kRid = 1000;

  explicit Fixture(std::string creation_attrs = "ver='1.6' wait='60' hold='1'") {
    auto creation = parse("<body rid='" + std::to_string(kRid) + "' to='localhost' " +
                          creation_attrs + " xmlns='http://jabber.org/protocol/httpbind'/>");
    creation_exchange = std::make_shared<FakeExchange>(worker);
    transport =
        std::make_unique<BoshTransport>(table, worker, BoshSettings{}, creation,
                                        BoshResponder(creation_exchange), true, "127.0.0.1");
    session.transport = transport.get();
    transport->setHandler(session);
    transport->start();
    turn();
  }

  // One loop turn: timers due, posted work, then the end-of-turn flush.
  void turn() {
    worker.loop().stop();
    worker.loop().run();
  }

  std::shared_ptr<FakeExchange> send(uint64_t rid, std::string_view attrs = {},
                                     std::string_view payloads = {}) {
    auto exchange = std::make_shared<FakeExchange>(worker);
    std::string body = "<body rid='" + std::to_string(rid) + "' sid='" + transport->sid() + "' " +
                       std::string(attrs) +
                       " xmlns='http://jabber.org/protocol/httpbind' "
                       "xmlns:xmpp='urn:xmpp:xbosh'>" +
                       std::string(payloads) + "</body>";
    transport->handle(parse(body), BoshResponder(exchange));
    return exchange;
  }

  core::Worker worker{0};
  std::shared_ptr<BoshSessionTable> table =
      std::make_shared<BoshSessionTable>(std::chrono::seconds(60));
  FakeSession session;
  std::shared_ptr<FakeExchange> creation_exchange;
  std::unique_ptr<BoshTransport> transport;
};

TEST_CASE("BOSH session: creation answers with the features", "[bosh]") {
  Fixture f;
  CHECK(f.session.input ==
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "to='localhost' version='1.0'>");
  auto body = bodyOf(*f.creation_exchange);
  CHECK(body.attr("sid") == f.transport->sid());
  CHECK(f.transport->sid().size() == 32);  // 128 random bits, hexadecimal
  CHECK(body.attr("wait") == "60");
  CHECK(body.attr("hold") == "1");
  CHECK(body.attr("requests") == "2");
  CHECK(body.attr("authid") == "stream-1");
  CHECK(body.attr("from") == "localhost");
  CHECK(body.attr("secure") == "true");
  REQUIRE(body.firstChild());
  CHECK(body.firstChild()->is("features", "http://etherx.jabber.org/streams"));
  CHECK(f.table->find(f.transport->sid(), 0) == f.transport.get());
}

TEST_CASE("BOSH session: wait and hold are capped", "[bosh]") {
  Fixture f("ver='1.6' wait='3600' hold='5'");
  auto body = bodyOf(*f.creation_exchange);
  CHECK(body.attr("wait") == "60");
  CHECK(body.attr("hold") == "1");
  CHECK(body.attr("requests") == "2");
}

TEST_CASE("BOSH session: one request is held; a second returns the first", "[bosh]") {
  Fixture f;
  auto first = f.send(Fixture::kRid + 1);
  f.turn();
  CHECK_FALSE(first->answer);  // held: nothing to say yet
  auto second = f.send(Fixture::kRid + 2);
  f.turn();
  CHECK(bodyOf(*first).children().empty());  // hold=1: the older one comes back empty
  CHECK_FALSE(second->answer);

  SECTION("what the server sends goes out in the held request") {
    f.transport->sendStanza(
        *xml::parseElement("<message from='juliet@localhost'><body>hi</body>"
                           "</message>"));
    f.turn();
    auto body = bodyOf(*second);
    REQUIRE(body.firstChild());
    CHECK(body.firstChild()->is("message", "jabber:client"));
    CHECK(body.firstChild()->childText("body") == "hi");
  }
  SECTION("output while nothing is held waits for the next request") {
    f.transport->sendStanza(*xml::parseElement("<message><body>one</body></message>"));
    f.transport->sendStanza(*xml::parseElement("<message><body>two</body></message>"));
    f.turn();
    CHECK(bodyOf(*second).children().size() == 2);  // batched in one response
    f.transport->sendStanza(*xml::parseElement("<message><body>three</body></message>"));
    f.turn();
    auto third = f.send(Fixture::kRid + 3);
    f.turn();
    auto body = bodyOf(*third);
    REQUIRE(body.firstChild());
    CHECK(body.firstChild()->childText("body") == "three");
  }
}

TEST_CASE("BOSH session: payloads reach the session in rid order", "[bosh]") {
  Fixture f;
  auto input_before = f.session.input;
  auto later = f.send(Fixture::kRid + 2, {}, "<presence/>");
  f.turn();
  CHECK(f.session.input == input_before);  // waits for rid+1
  CHECK_FALSE(later->answer);
  auto earlier = f.send(Fixture::kRid + 1, {}, "<message to='a@localhost'/>");
  f.turn();
  CHECK(f.session.input == input_before + "<message to='a@localhost'/><presence/>");
  CHECK(earlier->answer);  // answered in order: the older returns, the newer is held
  CHECK_FALSE(later->answer);
}

TEST_CASE("BOSH session: a repeated rid gets the same response (§14.3)", "[bosh]") {
  Fixture f;
  auto first = f.send(Fixture::kRid + 1);
  f.transport->sendStanza(*xml::parseElement("<message><body>once</body></message>"));
  f.turn();
  REQUIRE(first->answer);
  auto again = f.send(Fixture::kRid + 1);
  REQUIRE(again->answer);
  CHECK(again->answer->body == first->answer->body);
  CHECK_FALSE(f.session.closed);

  SECTION("a held request sent again takes over") {
    auto held = f.send(Fixture::kRid + 2);
    auto resent = f.send(Fixture::kRid + 2);
    CHECK(held->answer);  // the old copy returns empty
    f.transport->sendStanza(*xml::parseElement("<message><body>late</body></message>"));
    f.turn();
    CHECK(bodyOf(*resent).firstChild()->childText("body") == "late");
  }
  SECTION("one no longer buffered ends the session with item-not-found") {
    auto second = f.send(Fixture::kRid + 2);
    auto third = f.send(Fixture::kRid + 3);
    f.turn();
    auto stale = f.send(Fixture::kRid);  // the creation request: answered three requests ago
    CHECK(bodyOf(*stale).attr("condition") == "item-not-found");
    CHECK(bodyOf(*third).attr("type") == "terminate");  // the held one is told too
    f.turn();
    CHECK(f.session.closed);
    CHECK(f.table->find(f.transport->sid(), 0) == nullptr);
  }
}

TEST_CASE("BOSH session: a rid beyond the window ends the session (§14.2)", "[bosh]") {
  Fixture f;
  auto jump = f.send(Fixture::kRid + 3);  // the window is rid+1 .. rid+2
  auto body = bodyOf(*jump);
  CHECK(body.attr("type") == "terminate");
  CHECK(body.attr("condition") == "item-not-found");
  f.turn();
  CHECK(f.session.closed);
}

TEST_CASE("BOSH session: a legacy client gets HTTP 404 instead (§17.1)", "[bosh]") {
  Fixture f("wait='60' hold='1'");  // no 'ver'
  auto jump = f.send(Fixture::kRid + 5);
  REQUIRE(jump->answer);
  CHECK(jump->answer->status == 404);
}

TEST_CASE("BOSH session: more requests at once than allowed (§11)", "[bosh]") {
  Fixture f;
  auto one = f.send(Fixture::kRid + 1);
  auto two = f.send(Fixture::kRid + 2);
  auto three = f.send(Fixture::kRid + 3);  // none answered yet: requests='2' exceeded
  CHECK(bodyOf(*three).attr("condition") == "policy-violation");
  CHECK(bodyOf(*one).attr("condition") == "policy-violation");
  CHECK(bodyOf(*two).attr("condition") == "policy-violation");
  f.turn();
  CHECK(f.session.closed);
}

TEST_CASE("BOSH session: terminate delivers its payloads, then ends", "[bosh]") {
  Fixture f;
  auto held = f.send(Fixture::kRid + 1);
  f.turn();
  auto bye = f.send(Fixture::kRid + 2, "type='terminate'", "<presence type='unavailable'/>");
  CHECK(f.session.input.ends_with("<presence type='unavailable'/></stream:stream>"));
  f.turn();
  CHECK(bodyOf(*held).children().empty());
  auto body = bodyOf(*bye);
  CHECK(body.attr("type") == "terminate");
  CHECK(body.findAttr("condition") == nullptr);
  f.turn();
  CHECK(f.session.closed);
  // The sid is gone: the route answers item-not-found from now on.
  CHECK_FALSE(f.table->lookup(f.transport->sid()).worker);
}

TEST_CASE("BOSH session: a stream error becomes remote-stream-error", "[bosh]") {
  Fixture f;
  auto held = f.send(Fixture::kRid + 1);
  f.turn();
  f.transport->sendElement(
      "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
  f.transport->sendStreamClose();
  f.transport->close();
  f.turn();
  auto body = bodyOf(*held);
  CHECK(body.attr("type") == "terminate");
  CHECK(body.attr("condition") == "remote-stream-error");
  REQUIRE(body.firstChild());
  CHECK(body.firstChild()->is("error", "http://etherx.jabber.org/streams"));
  f.turn();
  CHECK(f.session.closed);

  // The held request carried it, so the sid keeps no last word.
  CHECK_FALSE(f.table->lookup(f.transport->sid()).last_body);
}

TEST_CASE("BOSH session: a stream error while nothing is held waits for the next request",
          "[bosh]") {
  Fixture f;
  f.transport->sendElement(
      "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
      "</stream:error>");
  f.transport->close();
  f.turn();
  f.turn();
  CHECK(f.session.closed);
  auto found = f.table->lookup(f.transport->sid());
  CHECK_FALSE(found.worker);
  REQUIRE(found.last_body);
  CHECK(found.last_body->find("system-shutdown") != std::string::npos);
  CHECK_FALSE(f.table->lookup(f.transport->sid()).last_body);  // said once
}

TEST_CASE("BOSH session: a dropped connection is no longer held", "[bosh]") {
  Fixture f;
  auto held = f.send(Fixture::kRid + 1);
  f.turn();
  f.transport->abandon(Fixture::kRid + 1);
  // Output now waits for a new request instead of vanishing into the dead one.
  f.transport->sendStanza(*xml::parseElement("<message><body>kept</body></message>"));
  f.turn();
  if (held->answer) CHECK(bodyOf(*held).children().empty());
  auto resent = f.send(Fixture::kRid + 1);
  REQUIRE(resent->answer);
  CHECK(bodyOf(*resent).children().empty());
  auto next = f.send(Fixture::kRid + 2);
  f.turn();
  CHECK(bodyOf(*next).firstChild()->childText("body") == "kept");
}

TEST_CASE("BOSH session: restart feeds a new stream header", "[bosh]") {
  Fixture f;
  auto auth = f.send(Fixture::kRid + 1, {}, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  f.transport->sendElement("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  f.turn();
  CHECK(bodyOf(*auth).firstChild()->is("success", "urn:ietf:params:xml:ns:xmpp-sasl"));
  f.session.input.clear();
  auto restart = f.send(Fixture::kRid + 2, "xmpp:restart='true' to='localhost' xml:lang='en'");
  CHECK(f.session.input ==
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "to='localhost' version='1.0' xml:lang='en'>");
  f.turn();
  CHECK(bodyOf(*restart).firstChild()->is("features", "http://etherx.jabber.org/streams"));
}

TEST_CASE("BOSH session: terminate right after SASL success just ends", "[bosh]") {
  Fixture f;
  f.transport->sendElement("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  f.turn();
  f.session.input.clear();
  auto bye = f.send(Fixture::kRid + 1, "type='terminate'");
  CHECK(f.session.input.empty());  // no stream is open to close
  f.turn();
  CHECK(bodyOf(*bye).attr("type") == "terminate");
  f.turn();
  CHECK(f.session.closed);
}

}  // namespace
}  // namespace parley::http
