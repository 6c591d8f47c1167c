// Connection implementation: nonblocking reads/writes, coalesced output, TLS over our buffers.
#include "net/connection.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>

#include "util/log.h"

namespace parley::net {
namespace {

using namespace std::chrono_literals;

constexpr size_t kReadBufferSize = 16 * 1024;  // one TLS record's worth of plaintext
// A TLS 1.3 record decrypts to its content, its content type and padding: one byte more.
constexpr size_t kPlaintextBufferSize = Tls13Records::kMaxInnerPlaintext;
constexpr size_t kFlushThreshold = 64 * 1024;  // past this, send() writes at once
constexpr size_t kKeepCapacity = 4 * 1024;     // an emptied buffer larger than this is freed
constexpr int kMaxReadsPerEvent = 8;           // then other connections get their turn
constexpr auto kCloseTimeout = 10s;            // graceful close: peer must read by then
constexpr auto kLingerTime = 2s;               // after SHUT_WR: drain input, then close

// Shared by every connection on the thread: only idle buffers would otherwise cost memory.
// What read() returns (plaintext, or TLS records), and what TLS records decrypt to.
char* readBuffer() {
  thread_local std::array<char, kReadBufferSize> buffer;
  return buffer.data();
}
char* plaintextBuffer() {
  thread_local std::array<char, kPlaintextBufferSize> buffer;
  return buffer.data();
}
// The records a flush makes, when they can go to the socket at once (see writeTls); an emptied
// one larger than this is freed.
constexpr size_t kKeepSealCapacity = 2 * kFlushThreshold;
std::string& sealBuffer() {
  thread_local std::string buffer;
  return buffer;
}

void releaseIfLarge(std::string& buffer) {
  if (buffer.empty() && buffer.capacity() > kKeepCapacity) std::string().swap(buffer);
}

bool stillHere(const std::weak_ptr<char>& guard) { return !guard.expired(); }

// After a graceful close (shutdown(SHUT_WR)), closing a socket that still has unread input
// makes the kernel send RST, which can destroy our last bytes (</stream:stream>) in flight
// before the peer reads them. So keep the socket for a moment, discard what arrives, and
// close on EOF or after kLingerTime.
void lingerClose(Loop& loop, Fd fd) {
  struct Lingering {
    Fd fd;
    Loop::TimerId timer = 0;
  };
  auto lingering = std::make_shared<Lingering>();
  lingering->fd = std::move(fd);
  int raw = lingering->fd.get();
  auto done = [&loop, raw](Lingering& l) {
    loop.cancelTimer(l.timer);
    loop.remove(raw);  // before close(2), so a reused fd number is never touched
    l.fd.reset();
  };
  loop.add(raw, EPOLLIN | EPOLLRDHUP, [lingering, done](uint32_t events) {
    char sink[4096];
    for (;;) {
      ssize_t n = ::read(lingering->fd.get(), sink, sizeof sink);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(events & (EPOLLHUP | EPOLLERR))) {
        return;
      }
      done(*lingering);
      return;
    }
  });
  lingering->timer = loop.addTimer(kLingerTime, [lingering, done] { done(*lingering); });
}

std::string lowercase(const char* text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string sniOf(SSL* ssl) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? lowercase(name) : std::string();
}

std::string alpnOf(SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return data != nullptr ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}

std::optional<std::string> channelBindingOf(SSL* ssl, std::string_view type) {
  if (type == "tls-exporter") {
    // RFC 9266 §3 / RFC 7627 §5.4: without EMS, TLS 1.2 exporters are not safe to bind to.
    if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1) return std::nullopt;
    static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
    std::string out(32, '\0');
    // An empty context, not "no context": they differ in TLS 1.2 (RFC 5705).
    if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                   kLabel, sizeof kLabel - 1, nullptr, 0, 1) != 1) {
      ERR_clear_error();
      return std::nullopt;
    }
    return out;
  }
  if (type == "tls-server-end-point") {
    X509* cert = SSL_get_certificate(ssl);
    if (cert == nullptr) return std::nullopt;
    int md_nid = NID_undef;
    int pkey_nid = NID_undef;
    if (OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, &pkey_nid) != 1) {
      md_nid = NID_undef;
    }
    const EVP_MD* md = nullptr;
    if (md_nid != NID_undef && md_nid != NID_md5 && md_nid != NID_sha1) {
      md = EVP_get_digestbynid(md_nid);
    }
    if (md == nullptr) md = EVP_sha256();  // RFC 5929 §4.1; also signatures with no hash
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, md, digest, &len) != 1) {
      ERR_clear_error();
      return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(digest), len);
  }
  return std::nullopt;  // "tls-unique" and anything else
}

}  // namespace

struct Connection::LeanTls {
  std::string sni, alpn;
  std::optional<std::string> exporter, end_point;  // the channel bindings, made at the handoff
};

Connection::Connection(Loop& loop, Fd fd, SocketAddress peer, Handler& handler)
    : loop_(loop), handler_(&handler), fd_(std::move(fd)), peer_(peer) {}

// On the stack of a call that hands data to the handler: the contract says the handler does
// not destroy the connection synchronously, and if it does anyway, the call still finds out
// (a weak_ptr would do the same at the price of a cold cache line per event).
class Connection::Watch {
 public:
  explicit Watch(Connection& connection) : connection_(&connection), outer_(connection.watch_) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
    // GCC 12 does not see that the destructor takes the pointer back.
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
    connection.watch_ = this;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  }
  ~Watch() {
    if (connection_ != nullptr) connection_->watch_ = outer_;
  }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  bool stillHere() const { return connection_ != nullptr; }

 private:
  friend class Connection;
  Connection* connection_;
  Watch* outer_;
};

Connection::~Connection() {
  for (Watch* watch = watch_; watch != nullptr; watch = watch->outer_) watch->connection_ = nullptr;
  if (flush_scheduled_) loop_.cancelEndOfTurn(this);
  loop_.cancelTimer(close_timer_);
  if (registered_) loop_.remove(fd_.get());
  ssl_.reset();  // frees our BIO too
  if (linger_ && fd_.valid()) lingerClose(loop_, std::move(fd_));
}

// ---- setup ----

void Connection::start() {
  PARLEY_ASSERT(state_ == State::Idle);
  if (state_ != State::Idle) return;
  state_ = State::Open;
  registerWithLoop();
  if (!out_.empty()) scheduleFlush();
}

void Connection::startServerTls(SSL_CTX* ctx) { startTls(ctx, false, {}); }

void Connection::startClientTls(SSL_CTX* ctx, const std::string& server_name) {
  startTls(ctx, true, server_name);
}

void Connection::startTls(SSL_CTX* ctx, bool as_client, const std::string& server_name) {
  PARLEY_CHECK(tls_ == TlsState::None);
  if (state_ == State::Closing || state_ == State::Closed) return;
  ERR_clear_error();
  ssl_.reset(SSL_new(ctx));
  BIO* bio = ssl_ ? BIO_new(bioMethod()) : nullptr;
  if (bio == nullptr) {
    finish("TLS setup failed: " + opensslErrors(), false);
    return;
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // one reference, owned by the SSL
  if (as_client) {
    // RFC 6066 §3: SNI carries DNS names only, never IP literals.
    in6_addr scratch{};
    bool is_ip = inet_pton(AF_INET, server_name.c_str(), &scratch) == 1 ||
                 inet_pton(AF_INET6, server_name.c_str(), &scratch) == 1;
    if (!server_name.empty() && !is_ip &&
        SSL_set_tlsext_host_name(ssl_.get(), server_name.c_str()) != 1) {
      finish("TLS setup failed: SNI: " + opensslErrors(), false);
      return;
    }
    SSL_set_connect_state(ssl_.get());
  } else {
    SSL_set_accept_state(ssl_.get());
    handoff_ = std::make_unique<Tls13Handoff>(ssl_.get());
  }
  // STARTTLS: <proceed/> (and anything else queued) goes out in plaintext before the handshake.
  if (out_offset_ < out_.size()) tls_out_.append(out_, out_offset_);
  out_.clear();
  out_offset_ = 0;
  tls_ = TlsState::Handshaking;
  if (state_ == State::Idle) {
    state_ = State::Open;
    registerWithLoop();
  } else {
    updateInterest();
  }
  if (as_client) handshakeStep();  // the ClientHello, queued behind the plaintext
  if (state_ != State::Closed) scheduleFlush();
}

// ---- the BIO over our buffers ----

BIO_METHOD* Connection::bioMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "parley connection");
    PARLEY_CHECK(m != nullptr);
    BIO_meth_set_read(m, &Connection::bioRead);
    BIO_meth_set_write(m, &Connection::bioWrite);
    BIO_meth_set_ctrl(m, &Connection::bioCtrl);
    return m;
  }();
  return method;
}

int Connection::bioRead(BIO* bio, char* out, int len) {
  auto* self = static_cast<Connection*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->tls_feed_.empty()) {
    BIO_set_retry_read(bio);  // SSL_ERROR_WANT_READ: the caller reads the socket again
    return -1;
  }
  size_t n = std::min(self->tls_feed_.size(), static_cast<size_t>(std::max(len, 0)));
  std::memcpy(out, self->tls_feed_.data(), n);
  self->tls_feed_.remove_prefix(n);
  return static_cast<int>(n);
}

int Connection::bioWrite(BIO* bio, const char* data, int len) {
  auto* self = static_cast<Connection*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (len <= 0) return 0;
  self->tls_out_.append(data, static_cast<size_t>(len));
  return len;
}

long Connection::bioCtrl(BIO* /*bio*/, int cmd, long /*num*/, void* /*ptr*/) {
  // OpenSSL flushes after each flight; our caller writes tls_out_ when it returns.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

void Connection::registerWithLoop() {
  if (registered_) return;
  registered_ = true;
  interest_ = EPOLLIN | EPOLLRDHUP;
  loop_.add(
      fd_.get(), interest_ | EPOLLET,
      [](void* self, uint32_t events) { static_cast<Connection*>(self)->onEvents(events); }, this);
  updateInterest();
}

void Connection::updateInterest() {
  if (!registered_ || state_ == State::Closed) return;
  bool reading = state_ == State::Open && !readingStopped();
  uint32_t want = 0;
  if (reading) want |= EPOLLIN | EPOLLRDHUP;
  if (write_blocked_) want |= EPOLLOUT;
  if (want != interest_) {
    loop_.modify(fd_.get(), want | EPOLLET);
    interest_ = want;
  }
}

// ---- events ----

void Connection::onEvents(uint32_t events) {
  Watch watch(*this);
  if (state_ == State::Closed) return;
  if (events & EPOLLERR) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    finish(std::string("socket error: ") + std::strerror(err != 0 ? err : EIO), false);
    return;
  }
  if (events & EPOLLOUT) {
    write_blocked_ = false;
    flushOutput();
    if (!watch.stillHere() || state_ == State::Closed) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    // The end of input comes once: a short read no longer means there is nothing left.
    if (events & (EPOLLRDHUP | EPOLLHUP)) peer_hung_up_ = true;
    if (interest_ & EPOLLIN) {
      // On HUP the read returns what is left, then EOF (now or next turn): no spin.
      onReadable();
    } else if (events & EPOLLHUP) {
      finish("connection hung up", false);
      return;
    }
  }
  if (watch.stillHere()) updateInterest();
}

void Connection::onReadable() {
  if (state_ != State::Open || read_paused_) return;
  bool more = tls_ == TlsState::None ? readPlain() : readTls();
  if (more) scheduleRead();
}

// Edge-triggered epoll reports the socket again only when more arrives: what we stopped short
// of (the per-event cap, a handler that switched to TLS) is read on a later turn. Reading
// stopped for backpressure resumes through updateInterest: re-arming EPOLLIN re-checks the
// socket (epoll_ctl MOD).
void Connection::scheduleRead() {
  if (read_scheduled_) return;
  read_scheduled_ = true;
  std::weak_ptr<char> guard = alive_;
  loop_.post([this, guard] {
    if (!stillHere(guard)) return;
    read_scheduled_ = false;
    if (state_ != State::Open || readingStopped()) return;
    onReadable();
    if (stillHere(guard)) updateInterest();
  });
}

bool Connection::readPlain() {
  Watch watch(*this);
  char* buffer = readBuffer();
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    ssize_t n = ::read(fd_.get(), buffer, kReadBufferSize);
    if (n > 0) {
      ++stats_.reads;
      stats_.bytes_in += static_cast<uint64_t>(n);
      bool drained = static_cast<size_t>(n) < kReadBufferSize && !peer_hung_up_;
      handler_->onData(std::string_view(buffer, static_cast<size_t>(n)));
      if (!watch.stillHere()) return false;
      // The handler may have closed, paused, or switched to TLS (STARTTLS).
      if (state_ != State::Open || readingStopped() || tls_ != TlsState::None) return !drained;
      if (drained) return false;
      continue;
    }
    if (n == 0) {
      finish("peer closed the connection", false);
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    finish(std::string("read failed: ") + std::strerror(errno), false);
    return false;
  }
  return true;  // the cap: the socket may hold more
}

// Reads what the socket holds once, then lets OpenSSL (or Tls13Records) take every record in
// it; a record cut off at the end stays in OpenSSL's buffer (or in tls_in_) until the rest
// arrives.
bool Connection::readTls() {
  Watch watch(*this);
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    bool drained = false;
    bool from_leftover = !tls_in_.empty();
    if (from_leftover && !holdsOnlyPartOfARecord()) {
      tls_feed_ = tls_in_;  // left over from last time: before anything newer
    } else {
      char* buffer = readBuffer();
      ssize_t n = ::read(fd_.get(), buffer, kReadBufferSize);
      if (n == 0) {
        // A peer that closes TCP without close_notify is normal for XMPP; the XML stream has
        // its own end (</stream:stream>), so truncation is detected there.
        finish("peer closed the connection", false);
        return false;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        finish(std::string("read failed: ") + std::strerror(errno), false);
        return false;
      }
      ++stats_.reads;
      tls_feed_ = std::string_view(buffer, static_cast<size_t>(n));
      if (from_leftover) {  // the rest of a record we hold the start of
        tls_in_.append(tls_feed_);
        tls_feed_ = tls_in_;
      }
      drained = static_cast<size_t>(n) < kReadBufferSize && !peer_hung_up_;
    }
    bool go_on = processTlsInput();
    if (!watch.stillHere()) return false;
    keepUnreadTlsInput(from_leftover);
    if (!go_on || state_ != State::Open || drained) return !drained && state_ == State::Open;
  }
  return true;  // the cap: the socket, or what we or OpenSSL already hold, may have more
}

bool Connection::processTlsInput() {
  if (tls_ == TlsState::Handshaking && !handshakeStep()) return false;
  if (readingStopped()) return false;
  bool go_on = decryptInput();
  // What OpenSSL answered on its own (a KeyUpdate, an alert) goes out at the end of the turn.
  if (state_ != State::Closed && tls_out_offset_ < tls_out_.size()) scheduleFlush();
  return go_on;
}

// Unread input outlives this turn only in tls_in_ (the read buffer is the thread's).
void Connection::keepUnreadTlsInput(bool from_leftover) {
  if (tls_feed_.empty() || state_ == State::Closed) {
    tls_in_.clear();
    releaseIfLarge(tls_in_);
  } else if (from_leftover) {
    tls_in_.erase(0, tls_in_.size() - tls_feed_.size());
  } else {
    tls_in_.assign(tls_feed_);
  }
  tls_feed_ = {};
}

// Right after the handshake, OpenSSL has read nothing beyond the client's Finished and written
// nothing but its flight and the session ticket: the records from here on are all ours.
void Connection::handOffTls() {
  if (!handoff_) return;
  auto records = handoff_->take(ssl_.get());
  handoff_.reset();
  if (!records) return;
  records_ = std::move(records);
  lean_ = std::make_unique<LeanTls>();
  lean_->sni = sniOf(ssl_.get());
  lean_->alpn = alpnOf(ssl_.get());
  lean_->exporter = channelBindingOf(ssl_.get(), "tls-exporter");
  lean_->end_point = channelBindingOf(ssl_.get(), "tls-server-end-point");
  ssl_.reset();
}

// Decrypts every complete record in the feed, handing the plaintext over in pieces as large
// as the buffer: many small stanzas that arrived together reach the parser in one call.
bool Connection::decryptInput() {
  if (records_) return openRecords();
  Watch watch(*this);
  char* buffer = plaintextBuffer();
  size_t used = 0;
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), buffer + used, static_cast<int>(kReadBufferSize - used));
    int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), n);
    int saved_errno = errno;
    if (n > 0) used += static_cast<size_t>(n);
    if (used > 0 && (n <= 0 || used == kReadBufferSize)) {
      stats_.bytes_in += used;
      handler_->onData(std::string_view(buffer, used));
      used = 0;
      if (!watch.stillHere() || state_ != State::Open || readingStopped()) return false;
    }
    if (n > 0) continue;
    switch (err) {
      case SSL_ERROR_WANT_READ:
        return true;
      case SSL_ERROR_ZERO_RETURN:
        finish("peer closed the TLS stream", false);
        return false;
      case SSL_ERROR_SYSCALL: {
        std::string detail = opensslErrors();
        if (!detail.empty()) {
          finish("TLS error: " + detail, false);
        } else if (saved_errno != 0) {
          finish(std::string("read failed: ") + std::strerror(saved_errno), false);
        } else {
          finish("peer closed the connection", false);
        }
        return false;
      }
      default:
        finish("TLS error: " + opensslErrors(), false);
        return false;
    }
  }
}

// decryptInput with Tls13Records: the same batching, and a record cut off at the end stays in
// the feed (then in tls_in_) until the rest arrives.
bool Connection::openRecords() {
  Watch watch(*this);
  char* buffer = plaintextBuffer();
  size_t used = 0;
  auto deliver = [&] {
    if (used == 0) return true;
    stats_.bytes_in += used;
    handler_->onData(std::string_view(buffer, used));
    used = 0;
    return watch.stillHere() && state_ == State::Open && !readingStopped();
  };
  for (;;) {
    size_t size = Tls13Records::recordSize(tls_feed_);
    if (size > Tls13Records::kMaxRecordSize) {  // refused before the rest of it arrives
      failTls({Tls13Records::kRecordOverflow, "record of " + std::to_string(size) + " bytes"});
      return false;
    }
    if (size == 0 || size > tls_feed_.size()) return deliver();
    if (size - Tls13Records::kHeaderSize > kPlaintextBufferSize - used && !deliver()) {
      return false;
    }
    auto opened = records_->open(tls_feed_.substr(0, size), buffer + used, tls_out_);
    tls_feed_.remove_prefix(size);
    if (!opened) {
      // What came before the bad record is good. A pause does not postpone the end: the record
      // is gone from the feed.
      bool open = deliver();
      if (watch.stillHere() && (open || state_ == State::Open)) failTls(opened.error());
      return false;
    }
    switch (opened->content) {
      case Tls13Records::Content::Data:
        used += opened->size;
        break;
      case Tls13Records::Content::Control:  // a KeyUpdate answered into tls_out_, or nothing
        break;
      case Tls13Records::Content::CloseNotify: {
        bool open = deliver();
        if (watch.stillHere() && (open || state_ == State::Open)) {
          finish("peer closed the TLS stream", false);
        }
        return false;
      }
    }
  }
}

// Tells the peer why (best effort) and closes.
void Connection::failTls(const Tls13Records::Failure& failure) {
  if (failure.alert != Tls13Records::kNoAlert) {
    records_->sealAlert(failure.alert, tls_out_);
    writeSocket();
  }
  finish("TLS error: " + failure.message, false);
}

bool Connection::handshakeStep() {
  Watch watch(*this);
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    tls_ = TlsState::Established;
    handOffTls();
    log::debug("connection ", peer_.toString(), ": ", tlsVersion(), " established, SNI '",
               sniHostname(), "', ALPN '", alpnProtocol(), "'", lean_ ? ", records ours" : "");
    handler_->onTlsEstablished();
    if (!watch.stillHere() || state_ == State::Closed) return false;
    // Our last flight (client: Finished; server: the session ticket) leaves at the end of the
    // turn, with what the handler answers to data that came with it.
    scheduleFlush();
    return state_ == State::Open;
  }
  int err = SSL_get_error(ssl_.get(), r);
  int saved_errno = errno;
  if (err == SSL_ERROR_WANT_READ) {
    if (tls_out_offset_ < tls_out_.size()) scheduleFlush();  // our flight
    return false;
  }
  std::string detail = opensslErrors();
  if (detail.empty()) {
    detail = (err == SSL_ERROR_SYSCALL && saved_errno != 0) ? std::strerror(saved_errno)
                                                            : "connection closed";
  }
  writeSocket();  // best effort: the alert that tells the peer why
  finish("TLS handshake failed: " + detail, false);
  return false;
}

// ---- output ----

size_t Connection::pendingOutputBytes() const {
  return (out_.size() - out_offset_) + (tls_out_.size() - tls_out_offset_);
}

void Connection::send(std::string_view data) {
  if (state_ == State::Closing || state_ == State::Closed || data.empty()) return;
  out_.append(data);
  if (!output_backlogged_ && pendingOutputBytes() > kOutputHighWater) {
    output_backlogged_ = true;
    updateInterest();
  }
  bool can_write_now = state_ == State::Open && !write_blocked_ && tls_ != TlsState::Handshaking;
  if (can_write_now && out_.size() - out_offset_ > kFlushThreshold) {
    flushOutput();
  } else if (state_ != State::Idle) {
    scheduleFlush();
  }
}

void Connection::scheduleFlush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  loop_.atEndOfTurn(&Connection::flushAtEndOfTurn, this);  // cancelled by ~Connection
}

void Connection::flushAtEndOfTurn(void* arg) {
  auto* self = static_cast<Connection*>(arg);
  self->flush_scheduled_ = false;
  if (!self->write_blocked_) self->flushOutput();  // blocked: EPOLLOUT resumes it
}

void Connection::flushOutput() {
  if (state_ == State::Closed || state_ == State::Idle) return;
  if (tls_ == TlsState::None) {
    if (out_offset_ < out_.size() && writeSocket() == WriteResult::Failed) return;
  } else {
    // Handshaking: application data waits; what the handshake wrote goes out.
    if (tls_ == TlsState::Established && out_offset_ < out_.size() &&
        writeTls() == WriteResult::Failed) {
      return;
    }
    if (state_ == State::Closing && tls_ == TlsState::Established && !close_notify_sent_ &&
        out_offset_ == out_.size()) {
      close_notify_sent_ = true;
      // close_notify, behind the last data; we do not wait for theirs.
      if (records_) {
        records_->sealAlert(Tls13Records::kCloseNotify, tls_out_);
      } else {
        ERR_clear_error();
        SSL_shutdown(ssl_.get());
        ERR_clear_error();
      }
    }
    // Blocked (writeTls kept what the socket did not take): EPOLLOUT resumes.
    if (!write_blocked_ && tls_out_offset_ < tls_out_.size() &&
        writeSocket() == WriteResult::Failed) {
      return;
    }
  }
  if (state_ == State::Closing && pendingOutputBytes() == 0) {
    ::shutdown(fd_.get(), SHUT_WR);
    finish("closed", true);
    return;
  }
  bool drained = output_backlogged_ && pendingOutputBytes() < kOutputLowWater;
  if (drained) output_backlogged_ = false;
  updateInterest();
  if (drained) {
    deliverPendingTls();
    std::weak_ptr<char> guard = alive_;
    loop_.atEndOfTurn([this, guard] {
      if (stillHere(guard) && state_ == State::Open) handler_->onOutputDrained();
    });
  }
}

// Writes what is queued for the socket: out_ in plaintext, tls_out_ once TLS started.
Connection::WriteResult Connection::writeSocket() {
  bool plain = tls_ == TlsState::None;
  std::string& buffer = plain ? out_ : tls_out_;
  size_t& offset = plain ? out_offset_ : tls_out_offset_;
  size_t before = offset;
  WriteResult result = sendToSocket(buffer, offset);
  if (plain) stats_.bytes_out += offset - before;
  if (result == WriteResult::Blocked) {
    buffer.erase(0, offset);
    offset = 0;
  }
  if (result != WriteResult::Done) return result;
  offset = 0;
  if (plain) {
    buffer.clear();
    releaseIfLarge(buffer);
  } else {
    // Records are written as soon as they are made: keeping this buffer's capacity would cost
    // every TLS session a few KiB for nothing (and leave holes in the heap once freed).
    std::string().swap(buffer);
  }
  return WriteResult::Done;
}

// Sends bytes from `sent` on until all are sent (Done), the socket is full (Blocked: EPOLLOUT
// resumes) or it failed (Failed: the connection is finished).
Connection::WriteResult Connection::sendToSocket(std::string_view bytes, size_t& sent) {
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      ++stats_.writes;
      sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      write_blocked_ = true;
      return WriteResult::Blocked;
    }
    finish(std::string("write failed: ") + std::strerror(errno), false);
    return WriteResult::Failed;
  }
  write_blocked_ = false;
  return WriteResult::Done;
}

// Encrypts out_ into TLS records. With Tls13Records and nothing waiting for the socket (the
// usual case) the records are made in the thread's buffer and sent from there, and only what
// the socket does not take is kept in tls_out_. Otherwise they go into tls_out_ (OpenSSL's
// through our BIO), for writeSocket to send.
Connection::WriteResult Connection::writeTls() {
  if (records_ && out_offset_ < out_.size()) {
    bool direct = tls_out_.empty();
    std::string& records = direct ? sealBuffer() : tls_out_;
    auto sealed = records_->seal(std::string_view(out_).substr(out_offset_), records);
    if (!sealed) {
      if (direct) records.clear();
      finish("TLS write failed: " + sealed.error().message, false);
      return WriteResult::Failed;
    }
    stats_.bytes_out += out_.size() - out_offset_;
    out_offset_ = out_.size();
    if (direct) {
      size_t sent = 0;
      WriteResult result = sendToSocket(records, sent);
      if (result == WriteResult::Blocked) tls_out_.assign(records, sent);
      records.clear();
      if (records.capacity() > kKeepSealCapacity) std::string().swap(records);
      if (result == WriteResult::Failed) return result;
    }
  }
  while (out_offset_ < out_.size()) {
    ERR_clear_error();
    size_t len = std::min<size_t>(out_.size() - out_offset_, INT_MAX);
    int n = SSL_write(ssl_.get(), out_.data() + out_offset_, static_cast<int>(len));
    if (n > 0) {
      stats_.bytes_out += static_cast<uint64_t>(n);
      out_offset_ += static_cast<size_t>(n);
      continue;
    }
    // Our BIO takes every record, and without renegotiation (TLS 1.3, or 1.2 with
    // SSL_OP_NO_RENEGOTIATION) SSL_write never waits for input: any failure is final.
    int saved_errno = errno;
    std::string detail = opensslErrors();
    if (detail.empty()) detail = std::strerror(saved_errno != 0 ? saved_errno : EIO);
    finish("TLS write failed: " + detail, false);
    return WriteResult::Failed;
  }
  out_.clear();
  out_offset_ = 0;
  releaseIfLarge(out_);
  return WriteResult::Done;
}

// ---- closing ----

void Connection::close() {
  if (state_ == State::Closing || state_ == State::Closed) return;
  if (state_ == State::Idle) {
    finish("closed", false);
    return;
  }
  if (tls_ == TlsState::Handshaking) {
    finish("closed during the TLS handshake", false);
    return;
  }
  state_ = State::Closing;
  std::weak_ptr<char> guard = alive_;
  close_timer_ = loop_.addTimer(kCloseTimeout, [this, guard] {
    if (!stillHere(guard)) return;
    close_timer_ = 0;
    finish("close timed out: the peer is not reading", false);
  });
  if (write_blocked_) {
    updateInterest();  // stop reading; EPOLLOUT finishes the job
  } else {
    flushOutput();
  }
}

void Connection::closeNow() { finish("closed", false); }

void Connection::finish(std::string reason, bool graceful) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  loop_.cancelTimer(close_timer_);
  close_timer_ = 0;
  if (registered_) {
    loop_.remove(fd_.get());
    registered_ = false;
  }
  linger_ = graceful;
  std::string().swap(out_);
  std::string().swap(tls_out_);
  std::string().swap(tls_in_);
  tls_feed_ = {};
  out_offset_ = tls_out_offset_ = 0;
  std::weak_ptr<char> guard = alive_;
  // Deferred so onClosed never runs inside a call the handler made (send, close, ...).
  loop_.atEndOfTurn([this, guard, reason = std::move(reason)] {
    if (stillHere(guard)) handler_->onClosed(reason);
  });
}

void Connection::releaseIdleBuffers() {
  if (out_offset_ >= out_.size()) {
    std::string().swap(out_);
    out_offset_ = 0;
  }
  // tls_out_ is freed whenever it has been written.
  if (tls_in_.empty()) std::string().swap(tls_in_);
}

void Connection::setReadPaused(bool paused) {
  if (read_paused_ == paused) return;
  read_paused_ = paused;
  if (state_ == State::Closed) return;
  updateInterest();
  if (!paused) deliverPendingTls();
}

bool Connection::holdsTlsInput() const {
  return (!tls_in_.empty() && !holdsOnlyPartOfARecord()) ||
         (ssl_ && SSL_has_pending(ssl_.get()) == 1);
}

// Without an SSL, a record cut off at the end waits in tls_in_: only the socket can add to it.
bool Connection::holdsOnlyPartOfARecord() const {
  if (!records_) return false;
  size_t size = Tls13Records::recordSize(tls_in_);
  return size == 0 || size > tls_in_.size();
}

void Connection::deliverPendingTls() {
  // Plaintext OpenSSL already decrypted, and records we read, do not make the socket
  // readable: deliver them.
  if (readingStopped() || tls_ != TlsState::Established || !holdsTlsInput()) return;
  std::weak_ptr<char> guard = alive_;
  loop_.atEndOfTurn([this, guard] {
    if (!stillHere(guard) || state_ != State::Open || readingStopped()) return;
    if (readTls()) scheduleRead();
    if (stillHere(guard)) updateInterest();
  });
}

// ---- TLS details ----

std::string Connection::sniHostname() const {
  if (lean_) return lean_->sni;
  return ssl_ ? sniOf(ssl_.get()) : std::string();
}

std::string Connection::alpnProtocol() const {
  if (lean_) return lean_->alpn;
  return ssl_ ? alpnOf(ssl_.get()) : std::string();
}

std::string Connection::tlsVersion() const {
  if (tls_ != TlsState::Established) return "";
  return lean_ ? "TLSv1.3" : SSL_get_version(ssl_.get());
}

std::optional<std::string> Connection::channelBinding(std::string_view type) const {
  if (tls_ != TlsState::Established) return std::nullopt;
  if (!lean_) return channelBindingOf(ssl_.get(), type);
  if (type == "tls-exporter") return lean_->exporter;
  if (type == "tls-server-end-point") return lean_->end_point;
  return std::nullopt;
}

CertificateChain Connection::peerCertificates() const {
  CertificateChain chain(sk_X509_new_null());
  // A connection without an SSL any more was handed off because the peer sent no certificate.
  if (!chain || tls_ != TlsState::Established || lean_) return chain;
  X509* leaf = SSL_get0_peer_certificate(ssl_.get());
  if (leaf == nullptr) return chain;
  X509_up_ref(leaf);
  sk_X509_push(chain.get(), leaf);
  // The client side's list starts with the leaf, the server side's does not.
  if (STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl_.get())) {
    for (int i = 0; i < sk_X509_num(sent); ++i) {
      X509* cert = sk_X509_value(sent, i);
      if (X509_cmp(cert, leaf) == 0) continue;
      X509_up_ref(cert);
      sk_X509_push(chain.get(), cert);
    }
  }
  return chain;
}

}  // namespace parley::net
