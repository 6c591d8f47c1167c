// A BOSH session (XEP-0124, XEP-0206) as the transport of a c2s client session: the requests
// of one sid in rid order, the held requests that carry what the server sends, and the
// session table that finds a sid's worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "c2s/transport.h"
#include "core/worker.h"
#include "http/bosh_body.h"
#include "http/exchange.h"

namespace parley::http {

// The limits of every BOSH session on the server.
struct BoshSettings {
  std::chrono::seconds max_wait{60};    // a held request is answered empty after this at most
  std::chrono::seconds inactivity{60};  // no request held for this long: the session ends
  std::chrono::seconds polling{2};      // announced as the shortest polling interval
  unsigned max_hold = 1;                // requests held at once
  size_t max_queued_bytes = 1 << 20;    // output waiting for a request; past it the session ends
};

// One HTTP request waiting for its answer. Created on the exchange's worker; respond() may be
// called on any worker: the answer (and the last reference to the exchange) goes back to the
// exchange's own worker. Destroyed unanswered, it answers with an empty <body/>, so a held
// request is never left hanging.
class BoshResponder {
 public:
  explicit BoshResponder(std::shared_ptr<Exchange> exchange);
  BoshResponder(BoshResponder&& other) noexcept = default;
  BoshResponder& operator=(BoshResponder&& other) noexcept;
  BoshResponder(const BoshResponder&) = delete;
  BoshResponder& operator=(const BoshResponder&) = delete;
  ~BoshResponder();

  void respond(core::HttpResponse response);

 private:
  core::Worker* home_ = nullptr;
  std::shared_ptr<Exchange> exchange_;
};

class BoshTransport;

// sid -> the worker of its session. Thread-safe. A session that ended with something still to
// say (a stream error, while no request was held) leaves its last body here for the next
// request to collect, for one inactivity period.
class BoshSessionTable {
 public:
  explicit BoshSessionTable(std::chrono::seconds tombstone_life)
      : tombstone_life_(tombstone_life) {}

  // Registers a transport on `worker` under a new random 128-bit sid.
  std::string add(uint32_t worker, BoshTransport* transport);
  // Unregisters; with `last_body`, the next request for the sid gets it.
  void remove(const std::string& sid, std::optional<std::string> last_body = std::nullopt);

  struct Lookup {
    std::optional<uint32_t> worker;        // the session lives there
    std::optional<std::string> last_body;  // or it ended with this to say (now forgotten)
  };
  Lookup lookup(const std::string& sid);
  // On `worker`'s thread only: its transport for the sid, or nullptr. The pointer is valid
  // for the current callback (transports are destroyed on their worker).
  BoshTransport* find(const std::string& sid, uint32_t worker) const;
  size_t size() const;

 private:
  struct Entry {
    uint32_t worker;
    BoshTransport* transport;
  };
  struct Tombstone {
    std::string body;
    std::chrono::steady_clock::time_point expires;
  };
  void expireTombstones(std::chrono::steady_clock::time_point now);  // mutex held

  std::chrono::seconds tombstone_life_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> sessions_;
  std::unordered_map<std::string, Tombstone> tombstones_;
};

// Lives on the worker thread where the session was created; owned by its c2s::ClientSession.
// What the client sends is fed to the session as the bytes of one XML stream: a synthesized
// header at creation and on xmpp:restart, the payloads of each request in rid order, and the
// closing tag on type='terminate'. What the session sends is queued and goes out, at the end
// of the loop turn, in the response to the oldest held request.
class BoshTransport final : public c2s::Transport {
 public:
  // `creation` is the session creation request (already checked: 'to' names a host); its
  // responder is held until the stream features are ready. `secure`: HTTPS or loopback.
  BoshTransport(std::shared_ptr<BoshSessionTable> table, core::Worker& worker,
                const BoshSettings& settings, const bosh::Request& creation,
                BoshResponder creation_responder, bool secure, std::string peer_ip);
  ~BoshTransport() override;

  const std::string& sid() const { return sid_; }

  // A later request of this session, on this worker.
  void handle(bosh::Request request, BoshResponder responder);
  // The HTTP connection of request `rid` closed before its answer.
  void abandon(uint64_t rid);

  // c2s::Transport
  void start() override;
  void sendStreamHeader(std::string_view stream_id, std::string_view from_domain) override;
  void sendElement(std::string_view xml) override;
  void sendStanza(const xml::Element& stanza) override;
  void sendStreamClose() override {}  // the terminate body stands for it
  void close() override;
  bool isSecure() const override { return secure_; }
  std::string peerIp() const override { return peer_ip_; }
  std::string describePeer() const override { return "bosh " + peer_ip_; }
  void setReadPaused(bool paused) override;
  void releaseIdleBuffers() override;

 private:
  struct Held {
    uint64_t rid;
    BoshResponder responder;
    net::Loop::TimerId wait_timer;
  };
  struct Waiting {
    bosh::Request request;
    BoshResponder responder;
  };

  void hold(uint64_t rid, BoshResponder responder);
  void process(bosh::Request request, BoshResponder responder);
  void drain();
  void feed(std::string_view bytes);
  void queue(std::string_view xml);
  void scheduleFlush();
  void flush();
  void answerOldest(std::string_view payloads);
  void answerUpTo(uint64_t rid);
  void finishClose();
  // Ends the session from this side (a binding error, inactivity, too much output):
  // `responder` (if any) and every request still waiting get `condition`.
  void terminate(bosh::Condition condition, BoshResponder* responder, std::string_view reason);
  void end(std::string reason, std::optional<std::string> last_body);
  void armInactivity();
  core::HttpResponse response(std::string body) const;
  std::string logPrefix() const;

  std::shared_ptr<BoshSessionTable> table_;
  core::Worker& worker_;
  BoshSettings settings_;
  std::string sid_;
  std::string to_, lang_, xmpp_version_, ver_, content_type_;
  bool legacy_ = false;  // no 'ver' at creation: binding errors as HTTP statuses (§17.1)
  unsigned wait_ = 60, hold_ = 1, requests_ = 2;
  bool secure_ = false;
  std::string peer_ip_;

  uint64_t next_rid_ = 0;                                  // the rid to process next
  std::deque<Held> held_;                                  // in rid order
  std::map<uint64_t, Waiting> waiting_;                    // arrived early, or while paused
  std::deque<std::pair<uint64_t, std::string>> answered_;  // for repeated rids (§14.3)
  std::string creation_input_;  // payloads of the creation request, fed in start()
  std::string output_;          // queued payloads
  std::string authid_, from_;
  bool creation_answered_ = false;
  bool stream_error_ = false;      // output_ holds a <stream:error/>
  bool awaiting_restart_ = false;  // SASL succeeded; the next stream header is due
  bool flush_scheduled_ = false;
  bool closing_ = false;  // the session called close()
  bool ended_ = false;    // unregistered; onClosed posted
  bool paused_ = false;
  net::Loop::TimerId inactivity_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards posted work
};

}  // namespace parley::http
