// What the router needs of a connected, bound session; c2s (and later BOSH,
// WebSocket) sessions implement it.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "xmpp/jid.h"
#include "xmpp/stanza.h"

namespace parley::core {

// A generation-checked handle: the worker index and a session id that is never
// reused, so a handle to a closed session resolves to nothing.
struct SessionRef {
  uint32_t worker = 0;
  uint64_t id = 0;
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
  // End the stream with a stream error (RFC 6120 §4.9), e.g. conflict when a
  // newer session took over this full JID, or system-shutdown.
  virtual void closeWithStreamError(xmpp::StreamErrorCondition condition,
                                    std::string_view text = {}) = 0;

  SessionRef ref() const { return ref_; }
  void setRef(SessionRef ref) { ref_ = ref; }

 private:
  SessionRef ref_;
};

}  // namespace parley::core
