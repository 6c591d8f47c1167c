// An external component's stream (XEP-0114, jabber:component:accept): the handshake with the
// shared secret, then stanzas from and to the component's domain, routed like a remote domain.
#pragma once

#include <string>

#include "s2s/server_stream.h"

namespace parley::s2s {

// Lives on the worker that accepted it; owned by that worker's session table.
class ComponentStream final : public ServerStream {
 public:
  ComponentStream(S2sService& service, core::Worker& worker, net::Fd fd, net::SocketAddress peer);
  void start();

 private:
  // ServerStream
  bool carriesStanzas() const override { return registered_; }
  void onEnded(std::string_view reason) override;
  std::string logPrefix() const override;
  // xml::StreamHandler
  void onStreamOpen(const xml::Element& header) override;
  void onStanza(std::unique_ptr<xml::Element> stanza) override;

  void handshake(const xml::Element& element);

  std::string domain_;
  std::string stream_id_;
  bool registered_ = false;
};

void acceptComponent(S2sService& service, core::Worker& worker, net::Fd fd,
                     const net::SocketAddress& peer);

}  // namespace parley::s2s
