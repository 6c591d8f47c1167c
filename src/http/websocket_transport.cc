// XMPP over WebSocket (RFC 7395 §3): framing in, framing out.
#include "http/websocket_transport.h"

#include "util/log.h"
#include "xml/namespaces.h"
#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace parley::http {
namespace {

std::string_view trimmed(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Whether a message is the element <name .../> (any namespace; checked after parsing).
bool startsElement(std::string_view text, std::string_view name) {
  if (text.size() < name.size() + 2 || text[0] != '<' || text.substr(1, name.size()) != name)
    return false;
  char next = text[name.size() + 1];
  return next == ' ' || next == '/' || next == '>' || next == '\t' || next == '\r' || next == '\n';
}

void appendAttr(std::string& out, std::string_view name, std::string_view value) {
  out.append(" ").append(name).append("='");
  xml::appendEscapedAttr(out, value);
  out.append("'");
}

}  // namespace

bool isLoopbackIp(std::string_view ip) {
  return ip.starts_with("127.") || ip == "::1" || ip.starts_with("::ffff:127.");
}

std::string streamHeaderForOpen(const xml::Element& open) {
  std::string header = "<stream:stream xmlns='jabber:client' xmlns:stream='";
  // RFC 7395 §3.3.1: <open/> lives in the framing namespace; it stands for the stream
  // namespace. Anything else becomes a wrong stream namespace, and the session says so.
  xml::appendEscapedAttr(header, open.xmlns() == ns::kFraming ? ns::kStreams : open.xmlns());
  header.append("'");
  for (std::string_view name : {"to", "from", "version", "id"}) {
    if (const auto* value = open.findAttr(name)) appendAttr(header, name, *value);
  }
  if (const auto* lang = open.findAttr("xml:lang")) appendAttr(header, "xml:lang", *lang);
  header.append(">");
  return header;
}

WebSocketTransport::WebSocketTransport(std::unique_ptr<net::Connection> connection,
                                       std::string leftover, size_t max_message_bytes)
    : connection_(std::move(connection)),
      leftover_(std::move(leftover)),
      reader_(max_message_bytes) {
  connection_->setHandler(*this);
}

void WebSocketTransport::start() {
  // The connection already reads (it carried the HTTP request); what the client pipelined
  // after its handshake is the first input.
  if (!leftover_.empty()) {
    std::string bytes;
    bytes.swap(leftover_);
    onData(bytes);
  }
}

bool WebSocketTransport::isSecure() const {
  // As Prosody's secure_interfaces: a browser on this machine talks over loopback.
  return connection_->isTls() || isLoopbackIp(connection_->peer().ip());
}

void WebSocketTransport::onData(std::string_view bytes) {
  if (close_sent_) return;
  events_.clear();
  reader_.feed(bytes, events_);
  for (auto& event : events_) {
    if (close_sent_) return;
    switch (event.kind) {
      case ws::Event::Kind::Text:
        onMessage(event.payload);
        break;
      case ws::Event::Kind::Binary:
        // RFC 7395 §3.2: XMPP goes in text messages only.
        closeWith(ws::close_code::kUnsupportedData, "XMPP uses text messages");
        return;
      case ws::Event::Kind::Ping:
        connection_->send(ws::encodeFrame(ws::Opcode::Pong, event.payload));
        break;
      case ws::Event::Kind::Pong:
        break;
      case ws::Event::Kind::Close:
        // RFC 6455 §5.5.1: answer with a close frame, echoing the code; the session sees the
        // stream end as a closed connection.
        closeWith(event.code == ws::close_code::kNoStatus ? ws::close_code::kNormal : event.code,
                  {});
        return;
      case ws::Event::Kind::Error:
        log::debug("ws ", connection_->peer().toString(), ": ", event.payload);
        closeWith(event.code, event.payload);
        return;
    }
  }
}

void WebSocketTransport::onMessage(std::string_view text) {
  auto message = trimmed(text);
  if (message.empty()) return;  // whitespace: nothing to parse (RFC 7395 §3.3.3 forbids it)
  if (startsElement(message, "open")) {
    auto open = xml::parseElement(message, ns::kFraming);
    if (!open) {
      handler_->onData(
          "<stream:stream xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams'>");
      handler_->onData(message);  // the session's parser reports the same error
      return;
    }
    handler_->onData(streamHeaderForOpen(*open));
    return;
  }
  if (startsElement(message, "close")) {
    auto close = xml::parseElement(message, ns::kFraming);
    if (close && close->xmlns() == ns::kFraming) {
      handler_->onData("</stream:stream>");
      return;
    }
  }
  handler_->onData(message);
}

void WebSocketTransport::sendText(std::string_view text) {
  if (close_sent_) return;
  connection_->send(ws::encodeFrame(ws::Opcode::Text, text));
}

void WebSocketTransport::sendStreamHeader(std::string_view stream_id,
                                          std::string_view from_domain) {
  std::string open = "<open xmlns='";
  open.append(ns::kFraming).append("' version='1.0' xml:lang='en'");
  appendAttr(open, "id", stream_id);
  if (!from_domain.empty()) appendAttr(open, "from", from_domain);
  open.append("/>");
  sendText(open);
}

void WebSocketTransport::sendElement(std::string_view xml) {
  // RFC 7395 §3.3.3: every message is a complete document, so the "stream:" prefix of
  // features and errors is declared on the element itself.
  constexpr std::string_view kPrefix = "<stream:";
  if (!xml.starts_with(kPrefix)) return sendText(xml);
  auto name_end = xml.find_first_of(" />", kPrefix.size());
  if (name_end == std::string_view::npos) return sendText(xml);
  std::string framed(xml.substr(0, name_end));
  framed.append(" xmlns:stream='").append(ns::kStreams).append("'");
  framed.append(xml.substr(name_end));
  sendText(framed);
}

void WebSocketTransport::sendStanza(const xml::Element& stanza) {
  thread_local std::string buffer;
  buffer.clear();
  xml::serialize(stanza, buffer, {});  // with its own xmlns='jabber:client'
  sendText(buffer);
}

void WebSocketTransport::sendStreamClose() {
  std::string close = "<close xmlns='";
  close.append(ns::kFraming).append("'/>");
  sendText(close);
}

void WebSocketTransport::close() { closeWith(ws::close_code::kNormal, {}); }

void WebSocketTransport::closeWith(uint16_t code, std::string_view reason) {
  if (close_sent_) return;
  close_sent_ = true;
  connection_->send(ws::encodeClose(code, reason));
  connection_->close();
}

void WebSocketTransport::releaseIdleBuffers() {
  reader_.releaseIdleBuffers();
  std::vector<ws::Event>().swap(events_);
  connection_->releaseIdleBuffers();
}

}  // namespace parley::http
