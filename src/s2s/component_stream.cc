// XEP-0114 component streams: handshake, then stanzas of the component's domain.
#include "s2s/component_stream.h"

#include <algorithm>
#include <cctype>

#include "auth/credentials.h"
#include "s2s/service.h"
#include "util/log.h"
#include "xml/namespaces.h"
#include "xmpp/jid.h"
#include "xmpp/stream.h"

namespace parley::s2s {
namespace {

using xmpp::StreamErrorCondition;

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

ComponentStream::ComponentStream(S2sService& service, core::Worker& worker, net::Fd fd,
                                 net::SocketAddress peer)
    : ServerStream(service, worker, std::move(fd), std::move(peer), ns::kComponentAccept,
                   service.config().max_stanza_bytes) {}

std::string ComponentStream::logPrefix() const {
  return "component#" + std::to_string(ref().id) + " " +
         (domain_.empty() ? connection_->peer().toString() : domain_);
}

void ComponentStream::start() {
  connection_->start();
  startDeadline(
      service_.config().auth_timeout, [this] { return registered_; },
      StreamErrorCondition::ConnectionTimeout);
}

void ComponentStream::onStreamOpen(const xml::Element& header) {
  if (header.attr("xmlns") != ns::kComponentAccept || header.xmlns() != ns::kStreams) {
    return closeWithStreamError(StreamErrorCondition::InvalidNamespace);
  }
  // XEP-0114 §3: 'to' names the component's domain.
  auto domain = xmpp::nameprep(header.attr("to"));
  if (!domain || !service_.isComponent(*domain)) {
    return closeWithStreamError(StreamErrorCondition::HostUnknown);
  }
  domain_ = *domain;
  stream_id_ = auth::randomToken(20);
  sendHeader(domain_, {}, stream_id_, false);
}

void ComponentStream::onStanza(std::unique_ptr<xml::Element> element) {
  if (isClosing() || isPeerStreamError(*element)) return;
  if (!registered_) {
    if (element->is("handshake", ns::kComponentAccept)) return handshake(*element);
    return closeWithStreamError(StreamErrorCondition::NotAuthorized);
  }
  if (element->xmlns() != ns::kComponentAccept || !xmpp::isStanzaName(element->name())) {
    return closeWithStreamError(StreamErrorCondition::UnsupportedStanzaType);
  }
  auto from = xmpp::Jid::parse(element->attr("from"));
  auto to = xmpp::Jid::parse(element->attr("to"));
  if (!from || !to) return closeWithStreamError(StreamErrorCondition::ImproperAddressing);
  if (from->domainpart() != domain_) return closeWithStreamError(StreamErrorCondition::InvalidFrom);
  touch();
  element->renameNamespace(ns::kComponentAccept, ns::kClient);
  service_.server().router().routeFromRemote(xmpp::StanzaPtr(std::move(element)));
}

void ComponentStream::handshake(const xml::Element& element) {
  // XEP-0114 §3: hex(SHA-1(stream id + secret)), case-insensitive.
  const std::string* secret = service_.componentSecret(domain_);
  std::string expected =
      secret ? auth::hexEncode(auth::hashOf(auth::HashAlg::Sha1, stream_id_ + *secret)) : "";
  std::string presented = lowercase(element.text());
  if (expected.empty() || !auth::constantTimeEquals(presented, expected)) {
    log::warn(logPrefix(), ": handshake failed from ", connection_->peer().ip());
    return closeWithStreamError(StreamErrorCondition::NotAuthorized);
  }
  if (!service_.registerComponent(domain_, ref())) {
    return closeWithStreamError(StreamErrorCondition::Conflict, "The component is connected");
  }
  registered_ = true;
  sendRaw("<handshake/>");
  log::info(logPrefix(), ": component connected");
}

void ComponentStream::onEnded(std::string_view reason) {
  if (registered_) {
    service_.unregisterComponent(domain_, ref());
    log::info(logPrefix(), ": component disconnected: ", reason);
  }
}

void acceptComponent(S2sService& service, core::Worker& worker, net::Fd fd,
                     const net::SocketAddress& peer) {
  worker.emplace<ComponentStream>(service, worker, std::move(fd), peer).start();
}

}  // namespace parley::s2s
