// What the router needs of a connected, bound session; c2s (and later BOSH,
// WebSocket) sessions implement it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <typeindex>
#include <unordered_map>

#include "xmpp/jid.h"
#include "xmpp/stanza.h"

namespace parley::core {

// A generation-checked handle: the worker index and a session id that is never
// reused, so a handle to a closed session resolves to nothing.
struct SessionRef {
  uint32_t worker = 0;
  uint32_t slot = 0;  // its place in the worker's table; reused once the session is gone
  uint64_t id = 0;    // unique for the server's lifetime
  bool operator==(const SessionRef&) const = default;
  bool valid() const { return id != 0; }
};

// Lives on its worker thread; every method is called only there.
class Session {
 public:
  virtual ~Session() = default;

  // Write a routed stanza to the client. The stanza is shared and immutable.
  // Returns false if the session no longer takes stanzas (it is closing); the
  // router then treats the stanza as addressed to a resource that is gone.
  virtual bool deliver(const xmpp::StanzaPtr& stanza) = 0;
  // Writes a stanza on the stream whatever the negotiation state: replies to a
  // client that has not bound a resource yet (in-band registration).
  virtual void sendStanza(const xml::Element& stanza) = 0;
  // End the stream with a stream error (RFC 6120 §4.9), e.g. conflict when a
  // newer session took over this full JID, or system-shutdown.
  virtual void closeWithStreamError(xmpp::StreamErrorCondition condition,
                                    std::string_view text = {}) = 0;

  // The bound full JID, or nullptr before binding.
  virtual const xmpp::FullJid* jid() const = 0;
  // The client's IP address, for per-address limits.
  virtual std::string peerIp() const = 0;
  // Whether the user logged in anonymously (SASL ANONYMOUS).
  virtual bool isAnonymous() const { return false; }
  // Called every few seconds on the session's thread: a session quiet since long enough frees
  // what it can rebuild (parser state, buffer capacity), so idle sessions stay small. Returns
  // whether it freed anything.
  virtual bool releaseIdleMemory(std::chrono::steady_clock::time_point /*now*/) { return false; }

  SessionRef ref() const { return ref_; }
  void setRef(SessionRef ref) { ref_ = ref; }

  // Per-session state a module keeps (one object per type), created on first use,
  // gone with the session. Session thread only.
  template <class T>
  T& data() {
    auto& slot = data_[std::type_index(typeid(T))];
    if (!slot) slot = std::make_shared<T>();
    return *static_cast<T*>(slot.get());
  }
  template <class T>
  T* findData() {
    auto it = data_.find(std::type_index(typeid(T)));
    return it == data_.end() ? nullptr : static_cast<T*>(it->second.get());
  }

 private:
  SessionRef ref_;
  std::unordered_map<std::type_index, std::shared_ptr<void>> data_;
};

}  // namespace parley::core
