// What every server-side stream that is not a client's shares: the connection and its parser,
// the stream header, stream errors, closing, the idle timer and stanza output in the stream's
// own namespace. IncomingStream, OutgoingStream and ComponentStream build on it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/session.h"
#include "core/worker.h"
#include "net/connection.h"
#include "xml/stream_parser.h"
#include "xmpp/stanza_error.h"

namespace parley::s2s {

class S2sService;

// Lives on its worker thread; never shared. Owned by the worker's session table.
class ServerStream : public core::Session,
                     protected net::Connection::Handler,
                     protected xml::StreamHandler {
 public:
  ~ServerStream() override;

  // core::Session. deliver() writes a routed stanza if the stream carries stanzas now.
  bool deliver(const xmpp::StanzaPtr& stanza) override;
  void sendStanza(const xml::Element& stanza) override;
  void closeWithStreamError(xmpp::StreamErrorCondition condition,
                            std::string_view text = {}) override;
  const xmpp::FullJid* jid() const override { return nullptr; }
  std::string peerIp() const override { return connection_->peer().ip(); }
  bool releaseIdleMemory(std::chrono::steady_clock::time_point now) override;

  // Closes with </stream:stream> (nothing went wrong: idle, or shutting down).
  void closeStream();
  bool isClosing() const { return closing_; }

 protected:
  // content_xmlns: the stream's default namespace (jabber:server, jabber:component:accept).
  ServerStream(S2sService& service, core::Worker& worker, net::Fd fd, net::SocketAddress peer,
               std::string_view content_xmlns, size_t max_stanza_bytes);

  // Whether routed stanzas may be written now (deliver() returns false otherwise).
  virtual bool carriesStanzas() const = 0;
  // Called exactly once when the stream ends, whichever side ended it and however: the
  // place to unregister routes and fail what waited for this stream. `reason` is for logs.
  virtual void onEnded(std::string_view reason) = 0;
  // "s2s#12 in a.example" for log lines.
  virtual std::string logPrefix() const = 0;

  void sendRaw(std::string_view bytes) { connection_->send(bytes); }
  // True (after logging it) if `element` is the peer's <stream:error/>: its </stream:stream>
  // follows, so there is nothing to answer. Subclasses call it first in onStanza().
  bool isPeerStreamError(const xml::Element& element) const;
  // Sends our stream header. `id` may be empty (the initiating side sends none).
  void sendHeader(std::string_view from, std::string_view to, std::string_view id,
                  bool declare_dialback);
  bool headerSent() const { return header_sent_; }
  // A new document from the next byte on (after STARTTLS or SASL success).
  void restartStream();
  // Starts closing the idle timer clock again: a stanza went in or out.
  void touch() { last_activity_ = worker_.loop().now(); }
  // Arms the idle timer (call once the stream is up).
  void startIdleTimer(std::chrono::seconds idle_timeout);
  // Closes the stream with a stream error if it is still not `done()` after `timeout`.
  void startDeadline(std::chrono::seconds timeout, std::function<bool()> done,
                     xmpp::StreamErrorCondition condition);

  // net::Connection::Handler and xml::StreamHandler (the stream header and stanzas are the
  // subclass's business).
  void onData(std::string_view bytes) override;
  void onClosed(std::string_view reason) override;
  void onStreamClose() override;

  S2sService& service_;
  core::Worker& worker_;
  std::unique_ptr<net::Connection> connection_;
  xml::StreamParser parser_;

 private:
  void end(std::string_view reason);
  void armIdleTimer(std::chrono::milliseconds delay);

  std::string content_xmlns_;
  bool header_sent_ = false;
  bool closing_ = false;
  bool ended_ = false;
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::milliseconds idle_timeout_{0};
  net::Loop::TimerId idle_timer_ = 0;
  net::Loop::TimerId deadline_timer_ = 0;
};

}  // namespace parley::s2s
