// RawClient: a byte-level XMPP client for what libstrophe cannot express (bad XML, SASL
// details, channel binding, stream-header errors), with TLS by OpenSSL.
#include "harness/raw_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <regex>

#include "harness/scram_client.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::string streamHeader(const std::string& to) {
  return "<?xml version='1.0'?><stream:stream to='" + xmlEscape(to) +
         "' version='1.0' xml:lang='en' xmlns='jabber:client' "
         "xmlns:stream='http://etherx.jabber.org/streams'>";
}

int millisUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

RawClient::~RawClient() { closeSocket(); }

void RawClient::closeSocket() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ssl_ctx_ != nullptr) {
    SSL_CTX_free(ssl_ctx_);
    ssl_ctx_ = nullptr;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

bool RawClient::connect(uint16_t port, bool direct_tls) {
  closeSocket();
  buffer_.clear();
  cursor_ = 0;
  closed_ = false;
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    closeSocket();
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  return !direct_tls || handshake(/*send_alpn=*/true);
}

bool RawClient::waitFd(short events, Clock::time_point deadline) const {
  pollfd pfd{fd_, events, 0};
  return poll(&pfd, 1, millisUntil(deadline)) > 0;
}

bool RawClient::handshake(bool send_alpn) {
  return handshakeWith("localhost", send_alpn ? "xmpp-client" : "");
}

bool RawClient::handshakeWith(const std::string& sni, const std::string& alpn,
                              const std::string& cert_file, const std::string& key_file) {
  if (fd_ < 0) return false;
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);
  if (!cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ssl_ctx_, cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ssl_ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    ERR_clear_error();
    return false;
  }
  ssl_ = SSL_new(ssl_ctx_);
  SSL_set_fd(ssl_, fd_);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
  if (!alpn.empty()) {
    std::string wire(1, static_cast<char>(alpn.size()));
    wire += alpn;
    SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  auto deadline = Clock::now() + kTimeout;
  for (;;) {
    int rc = SSL_connect(ssl_);
    if (rc == 1) return true;
    int error = SSL_get_error(ssl_, rc);
    short events = error == SSL_ERROR_WANT_READ    ? POLLIN
                   : error == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                   : 0;
    if (events == 0 || !waitFd(events, deadline)) {
      ERR_clear_error();
      return false;
    }
  }
}

bool RawClient::send(const std::string& data) {
  if (fd_ < 0) return false;
  auto deadline = Clock::now() + kTimeout;
  size_t sent = 0;
  while (sent < data.size()) {
    if (ssl_ != nullptr) {
      size_t written = 0;
      int rc = SSL_write_ex(ssl_, data.data() + sent, data.size() - sent, &written);
      if (rc == 1) {
        sent += written;
        continue;
      }
      int error = SSL_get_error(ssl_, rc);
      short events = error == SSL_ERROR_WANT_READ    ? POLLIN
                     : error == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                     : 0;
      if (events == 0 || !waitFd(events, deadline)) return false;
    } else {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!waitFd(POLLOUT, deadline)) return false;
      } else {
        return false;
      }
    }
  }
  return true;
}

bool RawClient::fill(Clock::time_point deadline) {
  if (fd_ < 0 || closed_) return false;
  char chunk[16384];
  for (;;) {
    if (ssl_ != nullptr) {
      size_t got = 0;
      int rc = SSL_read_ex(ssl_, chunk, sizeof chunk, &got);
      if (rc == 1) {
        buffer_.append(chunk, got);
        return true;
      }
      int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (!waitFd(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return false;
        continue;
      }
      ERR_clear_error();
      closed_ = true;  // close_notify, EOF or reset: the server is gone either way
      return false;
    }
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFd(POLLIN, deadline)) return false;
      continue;
    }
    closed_ = true;
    return false;
  }
}

std::optional<std::string> RawClient::readUntil(const std::string& literal, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    size_t at = buffer_.find(literal, cursor_);
    if (at != std::string::npos) {
      std::string out = buffer_.substr(cursor_, at + literal.size() - cursor_);
      cursor_ = at + literal.size();
      return out;
    }
    if (!fill(deadline) && (closed_ || Clock::now() >= deadline)) return std::nullopt;
  }
}

std::optional<std::string> RawClient::readUntilRegex(const std::string& pattern, Millis timeout,
                                                     std::vector<std::string>* groups) {
  const std::regex re(pattern);
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string window = buffer_.substr(cursor_);
    std::smatch found;
    if (std::regex_search(window, found, re)) {
      size_t end = static_cast<size_t>(found.position(0) + found.length(0));
      std::string out = window.substr(0, end);
      cursor_ += end;
      if (groups != nullptr) {
        groups->clear();
        for (size_t i = 0; i < found.size(); ++i) {
          groups->push_back(found[i].matched ? found[i].str() : "");
        }
      }
      return out;
    }
    if (!fill(deadline) && (closed_ || Clock::now() >= deadline)) return std::nullopt;
  }
}

bool RawClient::waitUnread(size_t n, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.size() - cursor_ < n) {
    if (!fill(deadline)) return false;
  }
  return true;
}

bool RawClient::waitClosed(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (!closed_) {
    if (!fill(deadline) && !closed_ && Clock::now() >= deadline) return false;
  }
  return true;
}

std::string RawClient::tlsExporter() const {
  if (ssl_ == nullptr) return "";
  static const char kLabel[] = "EXPORTER-Channel-Binding";
  unsigned char out[32];
  if (SSL_export_keying_material(ssl_, out, sizeof out, kLabel, sizeof kLabel - 1, nullptr, 0, 0) !=
      1) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string RawClient::tlsServerEndPoint() const {
  if (ssl_ == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  int md_nid = NID_undef;
  int pk_nid = NID_undef;
  OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, &pk_nid);
  const EVP_MD* md = nullptr;
  if (md_nid != NID_undef && md_nid != NID_md5 && md_nid != NID_sha1) {
    md = EVP_get_digestbynid(md_nid);
  }
  if (md == nullptr) md = EVP_sha256();  // RFC 5929 §4.1: MD5/SHA-1 (or none) -> SHA-256
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(cert, md, out, &length);
  X509_free(cert);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::optional<std::string> RawClient::readFeatures() {
  return readUntilRegex("</stream:features>|<stream:features\\s*/>");
}

std::optional<std::string> RawClient::openStream(const std::string& to) {
  if (!send(streamHeader(to))) return std::nullopt;
  return readFeatures();
}

std::optional<std::string> RawClient::startTls() {
  if (!send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")) return std::nullopt;
  if (!readUntilRegex(elementPattern("proceed", kTlsNs) + "[^>]*>")) return std::nullopt;
  // The end tag, if <proceed> was not self-closing; nothing else may precede the handshake.
  if (buffer_.compare(cursor_, 10, "</proceed>") == 0) cursor_ += 10;
  if (!handshake(/*send_alpn=*/false)) return std::nullopt;
  return openStream();
}

std::optional<std::string> RawClient::readSaslReply(std::string& kind, std::string& payload) {
  std::vector<std::string> groups;
  auto got = readUntilRegex(
      "<(success|failure|challenge)(\\s[^>]*)?/>|<(success|failure|challenge)(\\s[^>]*)?>"
      "([\\s\\S]*?)</\\3>",
      kTimeout, &groups);
  if (!got) return std::nullopt;
  kind = !groups[1].empty() ? groups[1] : groups[3];
  payload = groups[5];
  return got;
}

std::string saslFailureCondition(const std::string& failure_xml) {
  static const std::regex kChild("<([a-zA-Z-]+)[\\s/>]");
  for (auto it = std::sregex_iterator(failure_xml.begin(), failure_xml.end(), kChild);
       it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1].str();
    if (name != "failure" && name != "text") return name;
  }
  return "";
}

std::vector<std::string> saslMechanisms(const std::string& features) {
  static const std::regex kMechanism("<mechanism>\\s*([A-Z0-9_-]+)\\s*</mechanism>");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(features.begin(), features.end(), kMechanism);
       it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

AuthResult RawClient::authenticate(const std::string& user, const std::string& password,
                                   const std::string& mechanism, const std::string& cb_type,
                                   ScramTweaks tweaks) {
  auto authElement = [&mechanism](const std::string& data) {
    return "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + mechanism + "'>" +
           (data.empty() ? "=" : base64Encode(data)) + "</auth>";
  };
  auto responseElement = [](const std::string& data) {
    return "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
           (data.empty() ? std::string() : base64Encode(data)) + "</response>";
  };
  std::string kind;
  std::string payload;
  auto outcome = [&](const std::optional<std::string>& reply) -> AuthResult {
    if (!reply) return {false, "harness: no SASL reply (timeout or closed)"};
    if (kind == "success") return {true, ""};
    if (kind == "failure") return {false, saslFailureCondition(*reply)};
    return {false, "harness: unexpected " + kind};
  };

  if (mechanism == "PLAIN") {
    if (!send(authElement(std::string("\0", 1) + user + std::string("\0", 1) + password))) {
      return {false, "harness: send failed"};
    }
    return outcome(readSaslReply(kind, payload));
  }

  bool plus = mechanism.size() > 5 && mechanism.compare(mechanism.size() - 5, 5, "-PLUS") == 0;
  std::string base = plus ? mechanism.substr(0, mechanism.size() - 5) : mechanism;
  if (base != "SCRAM-SHA-1" && base != "SCRAM-SHA-256") {
    return {false, "harness: unsupported mechanism " + mechanism};
  }
  std::string binding_type = plus ? (cb_type.empty() ? "tls-exporter" : cb_type) : "";
  std::string binding_data;
  if (plus) {
    binding_data = binding_type == "tls-server-end-point" ? tlsServerEndPoint() : tlsExporter();
    if (binding_data.empty()) return {false, "harness: no channel binding data"};
    if (tweaks.corrupt_channel_binding) binding_data[0] = static_cast<char>(binding_data[0] ^ 1);
  }
  ScramClient scram(base == "SCRAM-SHA-1" ? ScramHash::Sha1 : ScramHash::Sha256, user, password,
                    binding_type, binding_data, tweaks.claim_cb_support);

  if (!send(authElement(scram.clientFirst()))) return {false, "harness: send failed"};
  auto reply = readSaslReply(kind, payload);
  if (!reply || kind != "challenge") return outcome(reply);
  std::string server_first;
  if (!base64Decode(payload, server_first)) return {false, "harness: bad base64 challenge"};
  std::string client_final = scram.clientFinal(server_first);
  if (client_final.empty()) return {false, "harness: " + scram.error()};
  if (!send(responseElement(client_final))) return {false, "harness: send failed"};

  reply = readSaslReply(kind, payload);
  if (reply && kind == "challenge") {  // server-final sent as a challenge (RFC 6120 §6.3.10)
    std::string server_final;
    base64Decode(payload, server_final);
    if (!scram.verifyServerFinal(server_final)) return {false, "harness: " + scram.error()};
    if (!send(responseElement(""))) return {false, "harness: send failed"};
    return outcome(readSaslReply(kind, payload));
  }
  AuthResult result = outcome(reply);
  if (result.success) {
    std::string server_final;
    if (!base64Decode(payload, server_final) || !scram.verifyServerFinal(server_final)) {
      return {false, "harness: server signature not verified: " + scram.error()};
    }
  }
  return result;
}

std::optional<std::string> RawClient::restartAndBind(const std::string& resource) {
  auto features = openStream();
  if (!features) return std::nullopt;
  if (!send("<iq type='set' id='bind-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            "<resource>" +
            xmlEscape(resource) + "</resource></bind></iq>")) {
    return std::nullopt;
  }
  auto reply = readUntilRegex("<iq[^>]*/>|<iq[^>]*>[\\s\\S]*?</iq>");
  if (!reply) return std::nullopt;
  std::smatch jid;
  if (!std::regex_search(*reply, jid, std::regex("<jid>([^<]+)</jid>"))) return std::nullopt;
  std::string bound = jid[1].str();
  // RFC 3921 legacy session: harmless when offered as optional, required by old clients.
  if (features->find("<session") != std::string::npos) {
    send(
        "<iq type='set' id='session-1'><session "
        "xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
    if (!readUntilRegex("<iq[^>]*/>|<iq[^>]*>[\\s\\S]*?</iq>")) return std::nullopt;
  }
  return bound;
}

LoginResult RawClient::loginRaw(uint16_t port, bool direct_tls, const std::string& user,
                                const std::string& password, const std::string& mechanism,
                                const std::string& cb_type, const std::string& resource) {
  LoginResult result;
  if (!connect(port, direct_tls)) {
    result.failure = "harness: connect/TLS failed";
    return result;
  }
  auto features = openStream();
  if (features && !direct_tls) features = startTls();
  if (!features) {
    result.failure = "harness: no stream features (received: " + buffer_ + ")";
    return result;
  }
  result.features = *features;
  AuthResult auth = authenticate(user, password, mechanism, cb_type);
  if (!auth.success) {
    result.failure = auth.condition;
    return result;
  }
  auto jid = restartAndBind(resource);
  if (!jid) {
    result.failure = "harness: bind failed (received: " + unread() + ")";
    return result;
  }
  result.success = true;
  result.jid = *jid;
  return result;
}

}  // namespace parley::integration
