// Connection implementation: nonblocking reads/writes, coalesced output, TLS over a socket BIO.
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
constexpr size_t kFlushThreshold = 64 * 1024;  // past this, send() writes at once
constexpr size_t kKeepCapacity = 4 * 1024;     // an emptied buffer larger than this is freed
constexpr int kMaxReadsPerEvent = 8;           // then other connections get their turn
constexpr auto kCloseTimeout = 10s;            // graceful close: peer must read by then
constexpr auto kLingerTime = 2s;               // after SHUT_WR: drain input, then close

// Shared by every connection on the thread: only idle buffers would otherwise cost memory.
char* readBuffer() {
  thread_local std::array<char, kReadBufferSize> buffer;
  return buffer.data();
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

}  // namespace

Connection::Connection(Loop& loop, Fd fd, SocketAddress peer, Handler& handler)
    : loop_(loop), fd_(std::move(fd)), peer_(peer), handler_(&handler) {}

Connection::~Connection() {
  loop_.cancelTimer(close_timer_);
  if (registered_) loop_.remove(fd_.get());
  ssl_.reset();  // the socket BIO does not own the fd
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
  PARLEY_CHECK(ssl_ == nullptr);
  if (state_ == State::Closing || state_ == State::Closed) return;
  ERR_clear_error();
  ssl_.reset(SSL_new(ctx));
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1) {
    finish("TLS setup failed: " + opensslErrors(), false);
    return;
  }
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
  }
  // STARTTLS: <proceed/> (and anything else queued) goes out in plaintext before the handshake.
  if (out_offset_ < out_.size()) pre_tls_out_.append(out_, out_offset_);
  out_.clear();
  out_offset_ = 0;
  tls_ = TlsState::Handshaking;
  if (state_ == State::Idle) {
    state_ = State::Open;
    registerWithLoop();
  } else {
    updateInterest();
  }
  // The client speaks first: flushOutput() sends the ClientHello once the plaintext is out.
  client_hello_pending_ = as_client;
  scheduleFlush();
}

void Connection::registerWithLoop() {
  if (registered_) return;
  registered_ = true;
  interest_ = EPOLLIN | EPOLLRDHUP;
  loop_.add(fd_.get(), interest_, [this](uint32_t events) { onEvents(events); });
  updateInterest();
}

void Connection::updateInterest() {
  if (!registered_ || state_ == State::Closed) return;
  bool pre_tls_pending = pre_tls_offset_ < pre_tls_out_.size();
  bool reading = state_ == State::Open && !readingStopped() && !pre_tls_pending;
  uint32_t want = 0;
  if (reading || write_wants_read_) want |= EPOLLIN | EPOLLRDHUP;
  if (write_blocked_ || handshake_wants_write_ || read_wants_write_) want |= EPOLLOUT;
  if (want != interest_) {
    loop_.modify(fd_.get(), want);
    interest_ = want;
  }
}

// ---- events ----

void Connection::onEvents(uint32_t events) {
  std::weak_ptr<char> guard = alive_;
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
    if (tls_ == TlsState::Handshaking && handshake_wants_write_) {
      handshakeStep();
    } else if (tls_ == TlsState::Established && read_wants_write_) {
      readTls();
    }
    if (!stillHere(guard) || state_ == State::Closed) return;
    flushOutput();
    if (!stillHere(guard) || state_ == State::Closed) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    if (interest_ & EPOLLIN) {
      // On HUP the read returns what is left, then EOF (now or next turn): no spin.
      onReadable();
    } else if (events & EPOLLHUP) {
      finish("connection hung up", false);
      return;
    }
  }
  if (stillHere(guard)) updateInterest();
}

void Connection::onReadable() {
  if (write_wants_read_) {
    write_wants_read_ = false;
    std::weak_ptr<char> guard = alive_;
    flushOutput();
    if (!stillHere(guard)) return;
  }
  if (state_ != State::Open || read_paused_) return;
  switch (tls_) {
    case TlsState::None:
      readPlain();
      break;
    case TlsState::Handshaking:
      handshakeStep();
      break;
    case TlsState::Established:
      readTls();
      break;
  }
}

void Connection::readPlain() {
  std::weak_ptr<char> guard = alive_;
  char* buffer = readBuffer();
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    ssize_t n = ::read(fd_.get(), buffer, kReadBufferSize);
    if (n > 0) {
      stats_.bytes_in += static_cast<uint64_t>(n);
      handler_->onData(std::string_view(buffer, static_cast<size_t>(n)));
      // The handler may have closed, paused, or switched to TLS (STARTTLS).
      if (!stillHere(guard) || state_ != State::Open || readingStopped() ||
          tls_ != TlsState::None) {
        return;
      }
      if (static_cast<size_t>(n) < kReadBufferSize) return;  // drained; epoll reports more
      continue;
    }
    if (n == 0) {
      finish("peer closed the connection", false);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    finish(std::string("read failed: ") + std::strerror(errno), false);
    return;
  }
}

void Connection::readTls() {
  std::weak_ptr<char> guard = alive_;
  char* buffer = readBuffer();
  read_wants_write_ = false;
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), buffer, static_cast<int>(kReadBufferSize));
    if (n > 0) {
      stats_.bytes_in += static_cast<uint64_t>(n);
      handler_->onData(std::string_view(buffer, static_cast<size_t>(n)));
      if (!stillHere(guard) || state_ != State::Open || readingStopped()) return;
      continue;
    }
    int err = SSL_get_error(ssl_.get(), n);
    int saved_errno = errno;
    switch (err) {
      case SSL_ERROR_WANT_READ:
        return;
      case SSL_ERROR_WANT_WRITE:
        read_wants_write_ = true;
        return;
      case SSL_ERROR_ZERO_RETURN:
        finish("peer closed the TLS stream", false);
        return;
      case SSL_ERROR_SYSCALL: {
        std::string detail = opensslErrors();
        if (!detail.empty()) {
          finish("TLS error: " + detail, false);
        } else if (saved_errno != 0) {
          finish(std::string("read failed: ") + std::strerror(saved_errno), false);
        } else {
          finish("peer closed the connection", false);
        }
        return;
      }
      default:
        finish("TLS error: " + opensslErrors(), false);
        return;
    }
  }
  // Hit the per-event cap. Level-triggered epoll covers bytes still in the socket, but not
  // plaintext OpenSSL already holds, so come back for that next turn.
  if (SSL_has_pending(ssl_.get())) {
    loop_.post([this, guard] {
      if (!stillHere(guard) || state_ != State::Open || readingStopped()) return;
      readTls();
      if (stillHere(guard)) updateInterest();
    });
  }
}

void Connection::handshakeStep() {
  std::weak_ptr<char> guard = alive_;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    tls_ = TlsState::Established;
    handshake_wants_write_ = false;
    log::debug("connection ", peer_.toString(), ": ", SSL_get_version(ssl_.get()),
               " established, SNI '", sniHostname(), "', ALPN '", alpnProtocol(), "'");
    handler_->onTlsEstablished();
    if (!stillHere(guard) || state_ == State::Closed) return;
    flushOutput();  // what the handler queued while the handshake ran
    if (!stillHere(guard)) return;
    if (state_ == State::Open && !read_paused_) readTls();  // data may follow Finished
    return;
  }
  int err = SSL_get_error(ssl_.get(), r);
  int saved_errno = errno;
  handshake_wants_write_ = err == SSL_ERROR_WANT_WRITE;
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
  std::string detail = opensslErrors();
  if (detail.empty()) {
    detail = (err == SSL_ERROR_SYSCALL && saved_errno != 0) ? std::strerror(saved_errno)
                                                            : "connection closed";
  }
  finish("TLS handshake failed: " + detail, false);
}

// ---- output ----

size_t Connection::pendingOutputBytes() const {
  return (pre_tls_out_.size() - pre_tls_offset_) + (out_.size() - out_offset_);
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
  std::weak_ptr<char> guard = alive_;
  loop_.atEndOfTurn([this, guard] {
    if (!stillHere(guard)) return;
    flush_scheduled_ = false;
    if (!write_blocked_) flushOutput();  // blocked: EPOLLOUT resumes it
  });
}

void Connection::flushOutput() {
  if (state_ == State::Closed || state_ == State::Idle) return;
  if (pre_tls_offset_ < pre_tls_out_.size()) {
    if (writeRaw(pre_tls_out_, pre_tls_offset_) != WriteResult::Done) {
      updateInterest();
      return;
    }
  }
  if (client_hello_pending_ && tls_ == TlsState::Handshaking) {
    client_hello_pending_ = false;
    std::weak_ptr<char> guard = alive_;
    handshakeStep();
    if (stillHere(guard) && state_ != State::Closed) updateInterest();
    return;  // what is queued goes out once the handshake completes
  }
  if (out_offset_ < out_.size()) {
    WriteResult r = WriteResult::Done;
    if (tls_ == TlsState::None) {
      r = writeRaw(out_, out_offset_);
    } else if (tls_ == TlsState::Established) {
      r = writeTls();
    }  // Handshaking: the data waits for the handshake
    if (r == WriteResult::Failed) return;
  }
  if (state_ == State::Closing && pendingOutputBytes() == 0) {
    if (tls_ == TlsState::Established) {
      ERR_clear_error();
      SSL_shutdown(ssl_.get());  // best effort close_notify; we do not wait for the peer's
      ERR_clear_error();
    }
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

Connection::WriteResult Connection::writeRaw(std::string& buffer, size_t& offset) {
  while (offset < buffer.size()) {
    ssize_t n = ::send(fd_.get(), buffer.data() + offset, buffer.size() - offset, MSG_NOSIGNAL);
    if (n >= 0) {
      ++stats_.writes;
      stats_.bytes_out += static_cast<uint64_t>(n);
      offset += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      write_blocked_ = true;
      buffer.erase(0, offset);
      offset = 0;
      return WriteResult::Blocked;
    }
    finish(std::string("write failed: ") + std::strerror(errno), false);
    return WriteResult::Failed;
  }
  buffer.clear();
  offset = 0;
  releaseIfLarge(buffer);
  write_blocked_ = false;
  return WriteResult::Done;
}

Connection::WriteResult Connection::writeTls() {
  while (out_offset_ < out_.size()) {
    ERR_clear_error();
    size_t len = std::min<size_t>(out_.size() - out_offset_, INT_MAX);
    int n = SSL_write(ssl_.get(), out_.data() + out_offset_, static_cast<int>(len));
    if (n > 0) {
      ++stats_.writes;
      stats_.bytes_out += static_cast<uint64_t>(n);
      out_offset_ += static_cast<size_t>(n);
      continue;
    }
    int err = SSL_get_error(ssl_.get(), n);
    int saved_errno = errno;
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
      // Retried later with the same bytes first (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets
      // the buffer move when we drop the written prefix or append).
      (err == SSL_ERROR_WANT_WRITE ? write_blocked_ : write_wants_read_) = true;
      out_.erase(0, out_offset_);
      out_offset_ = 0;
      return WriteResult::Blocked;
    }
    std::string detail = opensslErrors();
    if (detail.empty()) detail = std::strerror(saved_errno != 0 ? saved_errno : EIO);
    finish("TLS write failed: " + detail, false);
    return WriteResult::Failed;
  }
  out_.clear();
  out_offset_ = 0;
  releaseIfLarge(out_);
  write_blocked_ = false;
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
  std::string().swap(pre_tls_out_);
  out_offset_ = pre_tls_offset_ = 0;
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
  if (pre_tls_offset_ >= pre_tls_out_.size()) {
    std::string().swap(pre_tls_out_);
    pre_tls_offset_ = 0;
  }
}

void Connection::setReadPaused(bool paused) {
  if (read_paused_ == paused) return;
  read_paused_ = paused;
  if (state_ == State::Closed) return;
  updateInterest();
  if (!paused) deliverPendingTls();
}

void Connection::deliverPendingTls() {
  // Plaintext OpenSSL already decrypted does not make the socket readable: deliver it.
  if (readingStopped() || tls_ != TlsState::Established || !SSL_has_pending(ssl_.get())) return;
  std::weak_ptr<char> guard = alive_;
  loop_.atEndOfTurn([this, guard] {
    if (!stillHere(guard) || state_ != State::Open || readingStopped()) return;
    readTls();
    if (stillHere(guard)) updateInterest();
  });
}

// ---- TLS details ----

std::string Connection::sniHostname() const {
  if (!ssl_) return {};
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? lowercase(name) : std::string();
}

std::string Connection::alpnProtocol() const {
  if (!ssl_) return {};
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return data != nullptr ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}

std::string Connection::tlsVersion() const {
  return tls_ == TlsState::Established ? SSL_get_version(ssl_.get()) : "";
}

std::optional<std::string> Connection::channelBinding(std::string_view type) const {
  if (tls_ != TlsState::Established) return std::nullopt;
  SSL* ssl = ssl_.get();
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

CertificateChain Connection::peerCertificates() const {
  CertificateChain chain(sk_X509_new_null());
  if (!chain || tls_ != TlsState::Established) return chain;
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
