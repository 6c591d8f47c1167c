// Server-side streams: shared plumbing of s2s and component streams.
#include "s2s/server_stream.h"

#include "util/log.h"
#include "xml/namespaces.h"
#include "xml/serializer.h"
#include "xmpp/stream.h"

namespace parley::s2s {
namespace {

using xmpp::StreamErrorCondition;

}  // namespace

ServerStream::ServerStream(S2sService& service, core::Worker& worker, net::Fd fd,
                           net::SocketAddress peer, std::string_view content_xmlns,
                           size_t max_stanza_bytes)
    : service_(service),
      worker_(worker),
      connection_(std::make_unique<net::Connection>(worker.loop(), std::move(fd), std::move(peer),
                                                    static_cast<net::Connection::Handler&>(*this))),
      parser_(*this, xml::Limits{max_stanza_bytes, 32}),
      content_xmlns_(content_xmlns),
      last_activity_(worker.loop().now()) {}

ServerStream::~ServerStream() {
  worker_.loop().cancelTimer(idle_timer_);
  worker_.loop().cancelTimer(deadline_timer_);
}

bool ServerStream::deliver(const xmpp::StanzaPtr& stanza) {
  if (closing_ || !carriesStanzas()) return false;
  sendStanza(*stanza);
  return true;
}

void ServerStream::sendStanza(const xml::Element& stanza) {
  // The server holds stanzas in jabber:client; on this stream they are in its own namespace.
  thread_local std::string buffer;
  buffer.clear();
  xml::serializeRenamed(stanza, buffer, content_xmlns_, ns::kClient, content_xmlns_);
  connection_->send(buffer);
  touch();
}

void ServerStream::sendHeader(std::string_view from, std::string_view to, std::string_view id,
                              bool declare_dialback) {
  std::string header = "<?xml version='1.0'?><stream:stream xmlns='";
  header.append(content_xmlns_).append("' xmlns:stream='").append(ns::kStreams).append("'");
  if (declare_dialback) header.append(" xmlns:db='").append(ns::kDialback).append("'");
  if (!from.empty()) header.append(" from='").append(xml::escapeAttr(from)).append("'");
  if (!to.empty()) header.append(" to='").append(xml::escapeAttr(to)).append("'");
  if (!id.empty()) header.append(" id='").append(xml::escapeAttr(id)).append("'");
  header.append(" version='1.0' xml:lang='en'>");
  connection_->send(header);
  header_sent_ = true;
}

bool ServerStream::releaseIdleMemory(std::chrono::steady_clock::time_point now) {
  static constexpr std::chrono::seconds kQuietFor{5};
  if (closing_ || !carriesStanzas() || now - last_activity_ < kQuietFor) return false;
  connection_->releaseIdleBuffers();
  return parser_.hibernate();
}

bool ServerStream::isPeerStreamError(const xml::Element& element) const {
  if (!element.is("error", ns::kStreams)) return false;
  std::string condition = "(no condition)";
  std::string text;
  for (const auto& node : element.children()) {
    if (!node.isElement() || node.element->xmlns() != ns::kStreamErrors) continue;
    if (node.element->name() == "text") {
      text = node.element->text();
    } else {
      condition = node.element->name();
    }
  }
  log::info(logPrefix(), ": the peer sent a stream error: ", condition, text.empty() ? "" : " (",
            text, text.empty() ? "" : ")");
  return true;
}

void ServerStream::restartStream() {
  header_sent_ = false;
  parser_.requestReset();
}

void ServerStream::closeWithStreamError(StreamErrorCondition condition, std::string_view text) {
  if (closing_ || ended_) return;
  // RFC 6120 §4.9.1.2: an error before our header still needs a header first.
  if (!header_sent_) sendHeader({}, {}, {}, false);
  log::info(logPrefix(), ": closing with stream error ", xmpp::conditionName(condition),
            text.empty() ? "" : ": ", text);
  connection_->send(xmpp::streamErrorXml(condition, text) + "</stream:stream>");
  closing_ = true;
  parser_.stop();
  end(xmpp::conditionName(condition));
  connection_->close();
}

void ServerStream::closeStream() {
  if (closing_ || ended_) return;
  if (!header_sent_) sendHeader({}, {}, {}, false);
  connection_->send("</stream:stream>");
  closing_ = true;
  end("closed by us");
  connection_->close();
}

void ServerStream::onData(std::string_view bytes) {
  if (closing_) return;
  auto fed = parser_.feed(bytes);
  if (!fed) {
    log::debug(logPrefix(), ": ", fed.error().message);
    closeWithStreamError(xmpp::streamErrorFor(fed.error().kind));
  }
}

void ServerStream::onStreamClose() {
  if (closing_) return;
  // RFC 6120 §4.4: answer the closing tag with ours, then close.
  connection_->send("</stream:stream>");
  closing_ = true;
  end("closed by the peer");
  connection_->close();
}

void ServerStream::onClosed(std::string_view reason) {
  log::debug(logPrefix(), ": connection closed: ", reason);
  end(reason);
  worker_.release(ref());
}

void ServerStream::end(std::string_view reason) {
  if (ended_) return;
  ended_ = true;
  worker_.loop().cancelTimer(idle_timer_);
  idle_timer_ = 0;
  worker_.loop().cancelTimer(deadline_timer_);
  deadline_timer_ = 0;
  onEnded(reason);
}

void ServerStream::startIdleTimer(std::chrono::seconds idle_timeout) {
  if (idle_timer_ != 0 || ended_) return;
  idle_timeout_ = std::chrono::duration_cast<std::chrono::milliseconds>(idle_timeout);
  armIdleTimer(idle_timeout_);
}

void ServerStream::armIdleTimer(std::chrono::milliseconds delay) {
  auto ref = this->ref();
  auto& worker = worker_;
  idle_timer_ = worker_.loop().addTimer(delay, [&worker, ref] {
    auto* stream = dynamic_cast<ServerStream*>(worker.find(ref));
    if (stream == nullptr) return;
    stream->idle_timer_ = 0;
    auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(worker.loop().now() -
                                                                      stream->last_activity_);
    if (idle >= stream->idle_timeout_) {
      log::info(stream->logPrefix(), ": idle for ", stream->idle_timeout_.count() / 1000,
                " s, closing");
      stream->closeStream();
      return;
    }
    stream->armIdleTimer(stream->idle_timeout_ - idle);  // there was traffic meanwhile
  });
}

void ServerStream::startDeadline(std::chrono::seconds timeout, std::function<bool()> done,
                                 StreamErrorCondition condition) {
  worker_.loop().cancelTimer(deadline_timer_);
  auto ref = this->ref();
  auto& worker = worker_;
  deadline_timer_ =
      worker_.loop().addTimer(std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
                              [&worker, ref, done = std::move(done), condition] {
                                auto* stream = dynamic_cast<ServerStream*>(worker.find(ref));
                                if (stream == nullptr) return;
                                stream->deadline_timer_ = 0;
                                if (!done())
                                  stream->closeWithStreamError(condition, "Took too long");
                              });
}

}  // namespace parley::s2s
