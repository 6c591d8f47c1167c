// Routing decisions (RFC 6120 §10, RFC 6121 §8.5) with fake sessions on real workers.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "../storage/temp_dir.h"
#include "core/server.h"
#include "storage/store.h"
#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

// Records what the router delivers. Lives on its worker like a real session.
class FakeSession final : public Session {
 public:
  bool deliver(const xmpp::StanzaPtr& stanza) override {
    std::lock_guard lock(mutex);
    received.push_back(xml::toString(*stanza, "jabber:client"));
    return true;
  }
  void sendStanza(const xml::Element& stanza) override {
    std::lock_guard lock(mutex);
    received.push_back(xml::toString(stanza, "jabber:client"));
  }
  const xmpp::FullJid* jid() const override { return nullptr; }
  std::string peerIp() const override { return "127.0.0.1"; }
  void closeWithStreamError(xmpp::StreamErrorCondition condition, std::string_view) override {
    {
      std::lock_guard lock(mutex);
      stream_errors.emplace_back(xmpp::conditionName(condition));
    }
    // Server::shutdown() waits for every session to go; other errors are for the test to read.
    if (condition == xmpp::StreamErrorCondition::SystemShutdown) {
      if (auto* worker = currentWorker()) worker->release(ref());
    }
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mutex);
    return std::exchange(received, {});
  }

  std::mutex mutex;
  std::vector<std::string> received;
  std::vector<std::string> stream_errors;
};

struct Harness {
  storage::testing::TempDir dir;
  std::unique_ptr<Server> server;

  Harness() {
    auto config = parseConfig(
        "threads = 2\ndata_dir = \"" + dir.path().string() + "\"\n[hosts.\"example.com\"]\n",
        dir.path() / "test.toml");
    REQUIRE(config);
    auto created = Server::create(std::move(*config));
    REQUIRE(created);
    server = std::move(*created);
    for (auto user : {"juliet", "romeo"}) addUser(user);
    server->start();
  }
  ~Harness() { server->shutdown(); }

  void addUser(std::string_view user) {
    std::promise<bool> done;
    server->storage().accounts().create("example.com", user, storage::AccountRecord{},
                                        [&](auto result) { done.set_value(bool(result)); });
    REQUIRE(done.get_future().get());
  }

  // Runs fn on a worker thread and waits for it.
  template <class Fn>
  auto onWorker(uint32_t index, Fn fn) {
    std::promise<decltype(fn())> done;
    server->worker(index).loop().post([&] { done.set_value(fn()); });
    return done.get_future().get();
  }

  // A fake session bound to a full JID on a worker, with presence set.
  FakeSession* connect(std::string_view full, uint32_t worker, std::optional<int> priority) {
    auto jid = xmpp::Jid::parse(full)->asFull();
    REQUIRE(jid);
    return onWorker(worker, [&] {
      auto session = std::make_unique<FakeSession>();
      auto* raw = session.get();
      auto ref = server->worker(worker).adopt(std::move(session));
      server->registry().bind(*jid, ref);
      if (priority) server->registry().setPresence(*jid, ref, true, *priority);
      return raw;
    });
  }

  // Routes a stanza as if sent by the session `from` (on its worker).
  void send(FakeSession* from, std::string_view xml) {
    auto element = xml::parseElement(xml);
    REQUIRE(element);
    auto stanza = std::make_shared<const xml::Element>(std::move(*element));
    onWorker(from->ref().worker, [&] {
      server->router().routeFromClient(*from, stanza);
      return true;
    });
    settle();
  }

  // Lets posted deliveries run on both workers.
  void settle() {
    for (int round = 0; round < 3; ++round) {
      for (uint32_t i = 0; i < 2; ++i) onWorker(i, [] { return true; });
    }
  }
};

bool contains(const std::vector<std::string>& list, std::string_view needle) {
  for (const auto& item : list) {
    if (item.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("a message to a bare JID goes to the highest-priority resources", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  auto* low = h.connect("juliet@example.com/low", 0, 1);
  auto* high = h.connect("juliet@example.com/high", 1, 5);
  auto* high2 = h.connect("juliet@example.com/high2", 0, 5);
  auto* negative = h.connect("juliet@example.com/negative", 1, -1);
  h.send(romeo,
         "<message from='romeo@example.com/phone' to='juliet@example.com' type='chat'>"
         "<body>hi</body></message>");
  CHECK(low->take().empty());
  CHECK(negative->take().empty());
  CHECK(high->take().size() == 1);
  CHECK(high2->take().size() == 1);
  CHECK(romeo->take().empty());
}

TEST_CASE("a headline to a bare JID goes to every non-negative resource", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  auto* a = h.connect("juliet@example.com/a", 0, 1);
  auto* b = h.connect("juliet@example.com/b", 1, 5);
  auto* negative = h.connect("juliet@example.com/n", 1, -5);
  h.send(romeo,
         "<message from='romeo@example.com/phone' to='juliet@example.com' "
         "type='headline'><body>news</body></message>");
  CHECK(a->take().size() == 1);
  CHECK(b->take().size() == 1);
  CHECK(negative->take().empty());
}

TEST_CASE("a full JID reaches exactly that resource", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  auto* a = h.connect("juliet@example.com/a", 1, 10);
  auto* b = h.connect("juliet@example.com/b", 1, 0);
  h.send(romeo,
         "<message from='romeo@example.com/phone' to='juliet@example.com/b' type='chat'>"
         "<body>to b</body></message>");
  CHECK(a->take().empty());
  CHECK(b->take().size() == 1);
}

TEST_CASE("a chat to a gone resource falls back to the bare JID", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  auto* a = h.connect("juliet@example.com/a", 1, 0);
  h.send(romeo,
         "<message from='romeo@example.com/phone' to='juliet@example.com/gone' "
         "type='chat'><body>x</body></message>");
  CHECK(a->take().size() == 1);
}

TEST_CASE("an iq to a gone resource gets service-unavailable", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  h.send(romeo,
         "<iq from='romeo@example.com/phone' to='juliet@example.com/gone' type='get' "
         "id='q1'><query xmlns='jabber:iq:version'/></iq>");
  auto got = romeo->take();
  REQUIRE(got.size() == 1);
  CHECK(contains(got, "type='error'"));
  CHECK(contains(got, "<service-unavailable"));
  CHECK(contains(got, "id='q1'"));
  CHECK(contains(got, "from='juliet@example.com/gone'"));
}

TEST_CASE("a message to an unknown local user gets service-unavailable", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  h.send(romeo,
         "<message from='romeo@example.com/phone' to='nobody@example.com' type='chat'>"
         "<body>x</body></message>");
  auto got = romeo->take();
  REQUIRE(got.size() == 1);
  CHECK(contains(got, "<service-unavailable"));
  // RFC 6120 §8.3.1: errors are never answered with errors.
  h.send(romeo, "<message from='romeo@example.com/phone' to='nobody@example.com' type='error'/>");
  CHECK(romeo->take().empty());
}

TEST_CASE("a remote domain is not reachable without federation", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  h.send(romeo,
         "<message from='romeo@example.com/phone' to='someone@elsewhere.example' "
         "type='chat'><body>x</body></message>");
  auto got = romeo->take();
  REQUIRE(got.size() == 1);
  CHECK(contains(got, "<remote-server-not-found"));
}

TEST_CASE("a malformed 'to' gets jid-malformed", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  h.send(romeo,
         "<message from='romeo@example.com/phone' to='a@b@example.com' type='chat'>"
         "<body>x</body></message>");
  auto got = romeo->take();
  REQUIRE(got.size() == 1);
  CHECK(contains(got, "<jid-malformed"));
}

TEST_CASE("an unhandled iq to the server gets service-unavailable exactly once", "[router]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 0, 0);
  h.send(romeo,
         "<iq from='romeo@example.com/phone' to='example.com' type='get' id='u1'>"
         "<query xmlns='urn:example:unknown'/></iq>");
  auto got = romeo->take();
  REQUIRE(got.size() == 1);
  CHECK(contains(got, "<service-unavailable"));
}

TEST_CASE("module handlers answer server iqs: ping, version, disco", "[router][modules]") {
  Harness h;
  auto* romeo = h.connect("romeo@example.com/phone", 1, 0);
  h.send(romeo,
         "<iq from='romeo@example.com/phone' to='example.com' type='get' id='p1'>"
         "<ping xmlns='urn:xmpp:ping'/></iq>");
  auto got = romeo->take();
  REQUIRE(got.size() == 1);
  CHECK(contains(got, "type='result'"));
  h.send(romeo,
         "<iq from='romeo@example.com/phone' type='get' id='d1'>"
         "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  got = romeo->take();
  REQUIRE(got.size() == 1);
  CHECK(contains(got, "category='account'"));
  h.send(romeo,
         "<iq from='romeo@example.com/phone' to='example.com' type='get' id='d2'>"
         "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  got = romeo->take();
  REQUIRE(got.size() == 1);
  CHECK(contains(got, "var='urn:xmpp:ping'"));
  CHECK(contains(got, "var='jabber:iq:version'"));
  CHECK(contains(got, "var='urn:xmpp:time'"));
  CHECK(contains(got, "category='server'"));
}

TEST_CASE("binding a taken full JID returns the previous session", "[registry]") {
  SessionRegistry registry;
  auto jid = *xmpp::Jid::parse("juliet@example.com/balcony")->asFull();
  CHECK_FALSE(registry.bind(jid, SessionRef{.worker = 0, .id = 1}));
  auto previous = registry.bind(jid, SessionRef{.worker = 1, .id = 2});
  REQUIRE(previous);
  CHECK(*previous == SessionRef{.worker = 0, .id = 1});
  // The old session's late unbind must not remove the new binding.
  registry.unbind(jid, SessionRef{.worker = 0, .id = 1});
  REQUIRE(registry.find(jid));
  CHECK(registry.find(jid)->session == SessionRef{.worker = 1, .id = 2});
  registry.unbind(jid, SessionRef{.worker = 1, .id = 2});
  CHECK_FALSE(registry.find(jid));
  CHECK(registry.sessionCount() == 0);
}

TEST_CASE("routes() copies each resource's session, priority and availability", "[registry]") {
  SessionRegistry registry;
  auto bare = *xmpp::BareJid::fromParts("juliet", "example.com");
  auto balcony = *bare.withResource("balcony");
  auto chamber = *bare.withResource("chamber");
  CHECK_FALSE(registry.hasResources(bare));
  CHECK(registry.routes(bare).empty());
  registry.bind(balcony, SessionRef{.worker = 0, .id = 1});
  registry.bind(chamber, SessionRef{.worker = 1, .id = 2});
  registry.setPresence(chamber, SessionRef{.worker = 1, .id = 2}, true, 5);
  CHECK(registry.hasResources(bare));
  auto routes = registry.routes(bare);
  REQUIRE(routes.size() == 2);
  CHECK(routes[0].session == SessionRef{.worker = 0, .id = 1});
  CHECK_FALSE(routes[0].available);
  CHECK(routes[1].session == SessionRef{.worker = 1, .id = 2});
  CHECK(routes[1].available);
  CHECK(routes[1].priority == 5);
  // Another account in the same registry is not mixed in.
  CHECK(registry.routes(*xmpp::BareJid::fromParts("romeo", "example.com")).empty());
  registry.unbind(balcony, SessionRef{.worker = 0, .id = 1});
  registry.unbind(chamber, SessionRef{.worker = 1, .id = 2});
  CHECK_FALSE(registry.hasResources(bare));
}

// The registry's own hash table grows, probes and deletes by moving accounts back into the
// hole, and keeps a copy of up to two resources' routes on each account; thousands of
// accounts binding, changing presence and leaving in random order, checked after every step
// against a plain std::map, walk all of that.
TEST_CASE("the registry agrees with a plain map through thousands of binds and unbinds",
          "[registry]") {
  SessionRegistry registry;
  struct Bound {
    SessionRef ref;
    int priority = 0;
    bool available = false;
  };
  std::map<std::string, std::map<std::string, Bound>> model;  // bare -> resource -> binding
  std::mt19937 random(20261204);
  uint64_t next_id = 1;
  auto bare = [](size_t user) {
    // Short and long localparts: some bare JIDs fit a std::string's own buffer, most do not.
    std::string local = user % 3 == 0 ? "u" + std::to_string(user)
                                      : "someone-with-a-longer-name-" + std::to_string(user);
    return *xmpp::BareJid::fromParts(local, "example.com");
  };
  auto check = [&](size_t user) {
    auto jid = bare(user);
    auto routes = registry.routes(jid);
    auto it = model.find(jid.toString());
    size_t expected = it == model.end() ? 0 : it->second.size();
    REQUIRE(routes.size() == expected);
    CHECK(registry.hasResources(jid) == (expected > 0));
    if (it == model.end()) return;
    for (const auto& [resource, bound] : it->second) {
      auto found = registry.find(*jid.withResource(resource));
      REQUIRE(found);
      CHECK(found->session == bound.ref);
      auto route = std::find_if(routes.begin(), routes.end(),
                                [&](const ResourceRoute& r) { return r.session == bound.ref; });
      REQUIRE(route != routes.end());
      CHECK(route->priority == bound.priority);
      CHECK(route->available == bound.available);
    }
  };
  constexpr size_t kUsers = 3000;
  for (int step = 0; step < 40000; ++step) {
    size_t user = random() % kUsers;
    auto jid = bare(user);
    std::string resource = "r" + std::to_string(random() % 3);
    auto full = *jid.withResource(resource);
    auto& resources = model[jid.toString()];
    auto it = resources.find(resource);
    switch (random() % 3) {
      case 0: {
        SessionRef ref{.worker = 0, .slot = 0, .id = next_id++};
        auto previous = registry.bind(full, ref);
        REQUIRE(previous.has_value() == (it != resources.end()));
        if (previous) CHECK(*previous == it->second.ref);
        resources[resource] = Bound{ref};
        break;
      }
      case 1:
        if (it != resources.end()) {
          registry.unbind(full, it->second.ref);
          resources.erase(it);
        }
        break;
      default:
        if (it != resources.end()) {
          bool available = random() % 2 == 0;
          int priority = static_cast<int>(random() % 11) - 5;
          registry.setPresence(full, it->second.ref, available, priority);
          it->second.available = available;
          it->second.priority = priority;
        }
        break;
    }
    if (resources.empty()) model.erase(jid.toString());
    check(user);
    check(random() % kUsers);  // another account: the table moved things around it
  }
  size_t sessions = 0;
  for (const auto& [jid, resources] : model) sessions += resources.size();
  CHECK(registry.sessionCount() == sessions);
  for (size_t user = 0; user < kUsers; ++user) check(user);
  // Everyone leaves: every lookup misses, and the emptied table still answers.
  for (const auto& [text, resources] : model) {
    auto jid = *xmpp::Jid::parse(text);
    for (const auto& [resource, bound] : resources) {
      registry.unbind(*jid.bare().withResource(resource), bound.ref);
    }
  }
  model.clear();
  CHECK(registry.sessionCount() == 0);
  for (size_t user = 0; user < kUsers; ++user) check(user);
}

TEST_CASE("a worker trims the heap after many quiet sessions or as many closes as are open",
          "[worker]") {
  // A sweep in which 64 sessions went quiet trims, whatever else happened.
  CHECK_FALSE(shouldTrimHeap(63, 0, 10));
  CHECK(shouldTrimHeap(64, 0, 10));
  CHECK(shouldTrimHeap(64, 0, 100000));
  // Closes count from the last trim: at least 64, and at least as many as are open.
  CHECK_FALSE(shouldTrimHeap(0, 63, 0));
  CHECK(shouldTrimHeap(0, 64, 0));
  CHECK(shouldTrimHeap(0, 64, 64));
  CHECK_FALSE(shouldTrimHeap(0, 64, 65));
  CHECK_FALSE(shouldTrimHeap(0, 9999, 10000));  // steady churn on a big server
  CHECK(shouldTrimHeap(0, 10000, 10000));       // everyone left once over
  CHECK(shouldTrimHeap(0, 10000, 0));
}

TEST_CASE("a worker reuses a gone session's slot and never confuses the two", "[worker]") {
  Worker worker(3);
  auto first = worker.adopt(std::make_unique<FakeSession>());
  REQUIRE(worker.find(first) != nullptr);
  CHECK(worker.find(first)->ref() == first);
  worker.release(first);
  CHECK(worker.find(first) == nullptr);
  CHECK(worker.sessionCount() == 0);

  auto second = worker.adopt(std::make_unique<FakeSession>());
  CHECK(second.slot == first.slot);
  CHECK(second.id != first.id);
  CHECK(worker.find(first) == nullptr);
  REQUIRE(worker.find(second) != nullptr);
  CHECK(worker.find(second)->ref() == second);

  // A stale handle releases nothing; a handle of another worker finds nothing here.
  worker.release(first);
  CHECK(worker.sessionCount() == 1);
  auto elsewhere = second;
  elsewhere.worker = 4;
  CHECK(worker.find(elsewhere) == nullptr);
  auto third = worker.adopt(std::make_unique<FakeSession>());
  CHECK(third.slot != second.slot);
  CHECK(worker.sessionCount() == 2);
  size_t visited = 0;
  worker.forEachSession([&](Session&) { ++visited; });
  CHECK(visited == 2);
}

TEST_CASE("event handlers run by priority and the first Yes ends dispatch", "[events]") {
  EventBus bus;
  std::vector<int> order;
  auto key = events::message(Addressee::Bare);
  int owner_a = 0;
  int owner_b = 0;
  auto handler = [&](int id, Handled answer) {
    return std::function<Handled(StanzaEvent&)>([&order, id, answer](StanzaEvent&) {
      order.push_back(id);
      return answer;
    });
  };
  bus.hook(key, handler(1, Handled::No), priority::kDefault, &owner_a);
  bus.hook(key, handler(2, Handled::No), priority::kPolicy, &owner_b);
  bus.hook(key, handler(3, Handled::Yes), priority::kFallback, &owner_a);
  bus.hook(key, handler(4, Handled::No), priority::kFallback - 1, &owner_a);
  // The payload is not touched by these handlers.
  alignas(StanzaEvent) unsigned char storage[sizeof(StanzaEvent)];
  auto& event = *reinterpret_cast<StanzaEvent*>(storage);
  CHECK(bus.fire(key, event) == Handled::Yes);
  CHECK(order == std::vector<int>{2, 1, 3});
  bus.unhookAll(&owner_a);
  order.clear();
  CHECK(bus.fire(key, event) == Handled::No);
  CHECK(order == std::vector<int>{2});
  CHECK(events::iqGet(Addressee::Host, "urn:xmpp:ping", "ping").name ==
        "iq-get/host/urn:xmpp:ping:ping");
}

}  // namespace
}  // namespace parley::core
