// The load generator's client: the steps of a real login (RFC 6120 §5-§7, RFC 6121 §2, §4.2).
#include "bench_client.h"

#include "auth/base64.h"
#include "xml/namespaces.h"

namespace parley::bench {
namespace {

constexpr size_t kMaxStanza = 1 << 20;

std::string xmlEscaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

BenchClient::BenchClient(net::Loop& loop, const ClientSettings& settings,
                         const ClientEvents& events, size_t index, std::string user,
                         std::string password, const net::SocketAddress* source)
    : loop_(loop),
      settings_(settings),
      events_(events),
      index_(index),
      user_(std::move(user)),
      password_(std::move(password)),
      source_(source),
      parser_(static_cast<xml::StreamHandler&>(*this), xml::Limits{kMaxStanza, 64}) {}

BenchClient::~BenchClient() = default;

void BenchClient::start(Goal goal) {
  goal_ = goal;
  state_ = State::Connecting;
  started_ = loop_.now();
  connector_ = net::Connector::start(
      loop_, settings_.server, settings_.connect_timeout,
      [this](Result<net::Fd, std::string> fd) {
        connector_.reset();
        if (!fd) {
          state_ = State::Closed;
          if (events_.failed) events_.failed(*this, "connect: " + fd.error());
          if (events_.closed) events_.closed(*this);
          return;
        }
        onConnected(std::move(*fd));
      },
      source_);
}

void BenchClient::onConnected(net::Fd fd) {
  connection_ = std::make_unique<net::Connection>(loop_, std::move(fd), settings_.server,
                                                  static_cast<net::Connection::Handler&>(*this));
  connection_->start();
  openStream();
}

void BenchClient::openStream() {
  state_ = State::AwaitingHeader;
  send(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en' to='" +
      settings_.domain + "'>");
}

void BenchClient::send(std::string_view xml) {
  if (!connection_) return;
  if (!records_) return connection_->send(xml);
  sealed_.clear();
  if (auto sealed = records_->seal(xml, sealed_); !sealed) return fail(sealed.error().message);
  connection_->send(sealed_);
}

void BenchClient::close() {
  if (state_ == State::Closing || state_ == State::Closed || !connection_) return;
  state_ = State::Closing;
  send("</stream:stream>");
  if (records_) {
    sealed_.clear();
    records_->sealAlert(net::Tls13Records::kCloseNotify, sealed_);
    connection_->send(sealed_);
  }
  connection_->close();
}

void BenchClient::fail(const std::string& why) {
  if (state_ == State::Closing || state_ == State::Closed) return;
  state_ = State::Closing;
  if (events_.failed) events_.failed(*this, why);
  if (connection_) connection_->closeNow();
}

void BenchClient::onData(std::string_view bytes) {
  if (handshake_ || records_) return onTlsBytes(bytes);
  auto fed = parser_.feed(bytes);
  if (!fed) fail("XML from the server: " + fed.error().message);
}

// Our own TLS: the handshake's records, then application data for the parser.
void BenchClient::onTlsBytes(std::string_view bytes) {
  if (handshake_) {
    std::string out;
    auto done = handshake_->receive(bytes, out);
    if (!done) return fail("TLS: " + done.error());
    if (!out.empty()) connection_->send(out);
    if (!*done) return;
    records_ = handshake_->takeRecords();
    tls_in_ = handshake_->takeLeftover();
    handshake_.reset();
    tls_ = true;
    parser_.requestReset();
    openStream();
    bytes = {};
  }
  tls_in_.append(bytes);
  size_t offset = 0;
  std::string reply;
  while (records_ && state_ != State::Closed) {
    auto rest = std::string_view(tls_in_).substr(offset);
    size_t size = net::Tls13Records::recordSize(rest);
    if (size == 0 || size > rest.size()) break;
    opened_.resize(size);
    auto opened = records_->open(rest.substr(0, size), opened_.data(), reply);
    offset += size;
    if (!opened) return fail("TLS: " + opened.error().message);
    if (!reply.empty()) connection_->send(reply);
    reply.clear();
    if (opened->content == net::Tls13Records::Content::CloseNotify) {
      if (state_ != State::Closing) fail("the server closed TLS");
      return;
    }
    if (opened->content != net::Tls13Records::Content::Data) continue;
    auto fed = parser_.feed(std::string_view(opened_.data(), opened->size));
    if (!fed) return fail("XML from the server: " + fed.error().message);
  }
  tls_in_.erase(0, offset);
}

void BenchClient::onClosed(std::string_view reason) {
  bool expected = state_ == State::Closing;
  state_ = State::Closed;
  if (!expected && events_.failed) events_.failed(*this, "closed: " + std::string(reason));
  if (events_.closed) events_.closed(*this);
}

void BenchClient::onStreamOpen(const xml::Element& /*header*/) {
  if (state_ == State::AwaitingHeader) state_ = State::AwaitingFeatures;
}

void BenchClient::onStreamClose() {
  if (state_ != State::Closing) fail("the server closed the stream");
}

void BenchClient::onStanza(std::unique_ptr<xml::Element> stanza) {
  const auto& name = stanza->name();
  if (stanza->xmlns() == ns::kStreams) {
    if (name == "features" && state_ == State::AwaitingFeatures) return onFeatures(*stanza);
    if (name == "error") {
      const auto* condition = stanza->firstChild();
      return fail("stream error " + (condition ? condition->name() : std::string("?")));
    }
    return;
  }
  if (stanza->xmlns() == ns::kTls && state_ == State::StartingTls) {
    if (name != "proceed") return fail("STARTTLS refused");
    if (settings_.server_keys != nullptr) {
      handshake_ = std::make_unique<Tls13ClientHandshake>(settings_.domain, *settings_.server_keys);
      auto hello = handshake_->start();
      if (hello.empty()) return fail("TLS: no key share");
      connection_->send(hello);
      return;  // the stream restarts once the handshake is done (onTlsBytes)
    }
    connection_->startClientTls(settings_.tls, settings_.domain);
    tls_ = true;
    parser_.requestReset();
    openStream();
    return;
  }
  if (stanza->xmlns() == ns::kSasl) return onSasl(*stanza);
  if (name == "iq") return onIq(*stanza);
  if (name == "message" && state_ == State::Online && events_.message) {
    return events_.message(*this, *stanza);
  }
}

void BenchClient::onFeatures(const xml::Element& features) {
  if (!tls_) {
    if (features.child("starttls", ns::kTls) == nullptr) return fail("no STARTTLS offered");
    state_ = State::StartingTls;
    send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    return;
  }
  if (authenticated_) {
    state_ = State::Binding;
    send(
        "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench"
        "</resource></bind></iq>");
    return;
  }
  if (goal_ == Goal::Register) {
    state_ = State::Registering;
    send("<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>" +
         xmlEscaped(user_) + "</username><password>" + xmlEscaped(password_) +
         "</password></query></iq>");
    return;
  }
  bool scram = false;
  if (const auto* mechanisms = features.child("mechanisms", ns::kSasl)) {
    for (const auto& node : mechanisms->children()) {
      if (node.isElement() && node.element->text() == "SCRAM-SHA-1") scram = true;
    }
  }
  if (!scram) return fail("SCRAM-SHA-1 not offered");
  state_ = State::Authenticating;
  scram_ = std::make_unique<ScramSha1Client>(user_, password_, *settings_.cache);
  send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>" +
       auth::base64Encode(scram_->clientFirst()) + "</auth>");
}

void BenchClient::onSasl(const xml::Element& element) {
  if (state_ != State::Authenticating || !scram_) return fail("unexpected SASL element");
  auto decoded = auth::base64Decode(element.text());
  if (element.name() == "challenge") {
    auto final_message = decoded ? scram_->clientFinal(*decoded) : std::nullopt;
    if (!final_message) return fail("bad SCRAM challenge");
    send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
         auth::base64Encode(*final_message) + "</response>");
    return;
  }
  if (element.name() == "success") {
    if (!decoded || !scram_->verify(*decoded)) return fail("the server's SCRAM signature is wrong");
    authenticated_ = true;
    scram_.reset();
    parser_.requestReset();
    openStream();
    return;
  }
  const auto* condition = element.firstChild();
  fail("SASL failure " + (condition ? condition->name() : std::string("?")));
}

void BenchClient::onIq(const xml::Element& iq) {
  auto type = iq.attr("type");
  auto id = iq.attr("id");
  if (type == "get" || type == "set") {
    // Answer what the server asks: pings (XEP-0199), and service-unavailable to the rest.
    std::string head = "<iq id='" + xmlEscaped(id) + "' to='" + xmlEscaped(iq.attr("from")) + "'";
    const auto* payload = iq.firstChild();
    if (payload != nullptr && payload->xmlns() == ns::kPing) {
      send(head + " type='result'/>");
    } else {
      send(head +
           " type='error'><error type='cancel'><service-unavailable "
           "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    }
    return;
  }
  if (state_ == State::Registering && id == "reg") {
    bool exists = false;
    if (const auto* error = iq.child("error")) exists = error->child("conflict") != nullptr;
    if (type != "result" && !exists) return fail("registration refused");
    close();
    if (events_.registered) events_.registered(*this);
    return;
  }
  if (state_ == State::Binding && id == "bind") {
    if (type != "result") return fail("bind refused");
    state_ = State::FetchingRoster;
    send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
    return;
  }
  if (state_ == State::FetchingRoster && id == "roster") {
    if (type != "result") return fail("roster get refused");
    send("<presence/>");
    state_ = State::Online;
    online_at_ = loop_.now();
    if (events_.online) events_.online(*this);
  }
}

}  // namespace parley::bench
