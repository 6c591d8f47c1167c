// The client stream over TCP: the stream header and stanzas written as one XML document.
#include "c2s/tcp_transport.h"

#include "xml/namespaces.h"
#include "xml/serializer.h"

namespace parley::c2s {

std::string streamHeaderXml(std::string_view stream_id, std::string_view from_domain) {
  std::string header =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
      "xml:lang='en' id='";
  header.append(stream_id).append("'");
  if (!from_domain.empty())
    header.append(" from='").append(xml::escapeAttr(from_domain)).append("'");
  header.append(">");
  return header;
}

TcpTransport::TcpTransport(net::Loop& loop, net::Fd fd, net::SocketAddress peer,
                           SSL_CTX* direct_tls_ctx)
    : connection_(loop, std::move(fd), std::move(peer),
                  static_cast<net::Connection::Handler&>(*this)) {
  if (direct_tls_ctx) connection_.startServerTls(direct_tls_ctx);
}

void TcpTransport::start() {
  if (!connection_.isTls()) connection_.start();
}

void TcpTransport::sendStreamHeader(std::string_view stream_id, std::string_view from_domain) {
  connection_.send(streamHeaderXml(stream_id, from_domain));
}

void TcpTransport::sendStanza(const xml::Element& stanza) {
  thread_local std::string buffer;
  buffer.clear();
  xml::serialize(stanza, buffer, ns::kClient);
  connection_.send(buffer);
}

}  // namespace parley::c2s
