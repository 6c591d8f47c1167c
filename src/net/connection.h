// Connection: a TCP stream on one loop, plain or TLS (STARTTLS upgrade or direct TLS).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/address.h"
#include "net/fd.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/tls13_records.h"

namespace parley::net {

// Lives on its loop thread; never shared. Owned by its session (unique_ptr).
//
// Output is coalesced: send() appends to a buffer that is written once at the end of the loop
// turn (or at once when it passes 64 KiB), so many stanzas go out in one write()/SSL_write.
// Input is read into one 16 KiB buffer per loop thread, so idle connections stay small.
// With TLS the connection still does the socket I/O itself (OpenSSL reads and writes through a
// BIO over our buffers): one read() takes every record that arrived, and the records of a
// handshake flight, session tickets and application data leave in one write().
// A server connection that negotiated TLS 1.3 frees its SSL object once the handshake is done
// and protects its records with Tls13Records (keys only: an idle session stays small).
class alignas(64) Connection {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Decrypted application data. The view is valid only during the call. The handler may
    // call send(), close(), closeNow(), setReadPaused() and startServerTls() from here;
    // it must not destroy the Connection synchronously (use deferred deletion).
    virtual void onData(std::string_view bytes) = 0;
    // Peer closed, error, or our close()/closeNow() completed. Called exactly once, from the
    // end of a loop turn (never from inside a call into the Connection); nothing is called
    // after it. Not called if the Connection is destroyed first.
    virtual void onClosed(std::string_view reason) = 0;
    virtual void onTlsEstablished() {}
    // Output that had passed kOutputHighWater (reading stopped then) is below kOutputLowWater
    // again and reading resumed. From the end of a loop turn.
    virtual void onOutputDrained() {}
  };

  // A peer that sends but does not read (pipelined requests, pings) must not grow our output
  // without end: past the high water mark the connection stops reading until it drains.
  static constexpr size_t kOutputHighWater = size_t{1} << 20;
  static constexpr size_t kOutputLowWater = size_t{256} << 10;

  struct Stats {
    uint64_t bytes_in = 0;   // application bytes handed to onData
    uint64_t bytes_out = 0;  // application bytes accepted by write()/SSL_write
    uint64_t reads = 0;      // read() calls that returned bytes
    uint64_t writes = 0;     // write() calls that sent bytes (TLS records included)
  };

  // `fd` must be a connected, nonblocking stream socket. Nothing happens until start() or
  // startServerTls().
  Connection(Loop& loop, Fd fd, SocketAddress peer, Handler& handler);
  ~Connection();  // unregisters from the loop, frees SSL; a closed stream lingers briefly
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();  // begin reading (plain)
  // Direct TLS: call instead of start(); the handshake comes before any data.
  // STARTTLS: call after send()ing <proceed/>; what is queued goes out in plaintext first,
  // then the handshake. From this call on, all input is read as TLS records.
  // `ctx` is usually TlsServerContext::defaultCtx() (which must outlive this Connection).
  void startServerTls(SSL_CTX* ctx);
  // The same as the client (outgoing s2s): after start() once the peer sent <proceed/>
  // (STARTTLS), or instead of start() (direct TLS). `server_name` goes out as SNI unless it is
  // an IP literal. `ctx` must outlive this Connection.
  void startClientTls(SSL_CTX* ctx, const std::string& server_name);

  // Queues bytes (dropped after close()/closeNow()). Sent in plaintext, or encrypted once the
  // handshake completes.
  void send(std::string_view data);
  // Graceful: flush pending output, then (TLS) close_notify, then shutdown(SHUT_WR) and
  // onClosed. Gives up after 10 s if the peer does not read. No input is delivered after it.
  void close();
  // Drops pending output; onClosed fires at the end of the turn.
  void closeNow();

  bool isTls() const { return tls_ != TlsState::None; }
  bool isTlsEstablished() const { return tls_ == TlsState::Established; }
  bool isOpen() const { return state_ == State::Idle || state_ == State::Open; }
  std::string sniHostname() const;   // lowercase, or ""
  std::string alpnProtocol() const;  // "" when none was negotiated
  std::string tlsVersion() const;    // "TLSv1.3", or "" without TLS
  // Established TLS 1.3 as the server: records go through Tls13Records, OpenSSL's SSL is gone.
  bool usesOwnTlsRecords() const { return records_ != nullptr; }

  // Channel binding data for SCRAM-*-PLUS, or nullopt if not available:
  // "tls-exporter" (RFC 9266): 32 bytes, label "EXPORTER-Channel-Binding", empty context;
  //   only on TLS 1.3, or TLS 1.2 with the extended master secret (RFC 7627).
  // "tls-server-end-point" (RFC 5929 §4.1): hash of our certificate with its signature's
  //   hash, MD5/SHA-1 (and signatures without a separate hash, e.g. Ed25519) -> SHA-256.
  // "tls-unique": never (unsafe with TLS 1.2 without EMS, undefined for 1.3; not offered).
  std::optional<std::string> channelBinding(std::string_view type) const;
  // The certificates the peer presented, leaf first; empty (not null) without TLS, before the
  // handshake completes, or when the peer sent none. For verifyPeerChain().
  CertificateChain peerCertificates() const;

  // Hands the stream to another handler (an HTTP connection upgraded to WebSocket). From
  // inside a callback, the new handler gets everything after it returns.
  void setHandler(Handler& handler) { handler_ = &handler; }

  const SocketAddress& peer() const { return peer_; }
  size_t pendingOutputBytes() const;
  // Reading stopped because the output passed kOutputHighWater (see onOutputDrained).
  bool isOutputBacklogged() const { return output_backlogged_; }
  // Frees the capacity of empty output buffers (an idle session's; refilled on the next send).
  void releaseIdleBuffers();
  // Backpressure / rate limiting: stop reading from the socket while paused.
  void setReadPaused(bool paused);
  const Stats& stats() const { return stats_; }

 private:
  enum class State : uint8_t { Idle, Open, Closing, Closed };
  enum class TlsState : uint8_t { None, Handshaking, Established };
  enum class WriteResult { Done, Blocked, Failed };

  void startTls(SSL_CTX* ctx, bool as_client, const std::string& server_name);
  void registerWithLoop();
  void onEvents(uint32_t events);
  void onReadable();
  void scheduleRead();
  // Each reads what the socket holds, up to a cap; true if it may hold more than was read.
  bool readPlain();
  bool readTls();
  // Runs the handshake, then decrypts, on what tls_feed_ holds; false: stop reading.
  bool processTlsInput();
  bool handshakeStep();  // true once the handshake completed (and the stream is still open)
  bool decryptInput();
  bool openRecords();  // decryptInput once the SSL is gone
  void handOffTls();   // after the handshake: from OpenSSL to Tls13Records where it can
  void failTls(const Tls13Records::Failure& failure);
  void keepUnreadTlsInput(bool from_leftover);  // the feed came from tls_in_
  void flushOutput();
  WriteResult writeSocket();
  WriteResult sendToSocket(std::string_view bytes, size_t& sent);
  WriteResult writeTls();
  void updateInterest();
  bool readingStopped() const { return read_paused_ || output_backlogged_; }
  // After a pause: OpenSSL may hold decrypted plaintext, and tls_in_ records, that the socket
  // no longer signals.
  void deliverPendingTls();
  bool holdsTlsInput() const;           // tls_in_ records, or OpenSSL's unread plaintext
  bool holdsOnlyPartOfARecord() const;  // tls_in_, once Tls13Records has the connection
  void scheduleFlush();
  static void flushAtEndOfTurn(void* arg);
  void finish(std::string reason, bool graceful);
  class Watch;

  // The BIO between OpenSSL and our buffers: reads take from tls_feed_, writes append to
  // tls_out_ and always succeed (tls_out_ is written to the socket like plaintext output).
  static BIO_METHOD* bioMethod();
  static int bioRead(BIO* bio, char* out, int len);
  static int bioWrite(BIO* bio, const char* data, int len);
  static long bioCtrl(BIO* bio, int cmd, long num, void* ptr);

  // Laid out by use: with 10,000 sessions each event finds its connection cold, and every
  // cache line it reads is a miss (~0.5 µs on the benchmark machine). The first line holds
  // what every event reads; the second what a read also needs; the third what a write adds;
  // the rest is for the handshake, closing and the odd query.
  Loop& loop_;
  Handler* handler_;
  // An established TLS 1.3 server connection, once ssl_ is freed: its records, read and
  // written on every event (here, not behind lean_: one cold pointer less per message).
  std::unique_ptr<Tls13Records> records_;
  Watch* watch_ = nullptr;  // the innermost call on the stack that watches for destruction
  Fd fd_;
  uint32_t interest_ = 0;
  State state_ = State::Idle;
  TlsState tls_ = TlsState::None;
  bool registered_ = false;
  bool read_paused_ = false;
  bool output_backlogged_ = false;  // past kOutputHighWater: not reading until it drains
  bool flush_scheduled_ = false;
  bool read_scheduled_ = false;
  bool peer_hung_up_ = false;   // epoll said RDHUP or HUP: read until EOF, not to a short read
  bool write_blocked_ = false;  // the socket said "try again when writable"
  bool close_notify_sent_ = false;
  bool linger_ = false;  // closed gracefully: drain input before close(2)

  // Ciphertext read but not processed: reading stopped midway, or (Tls13Records) the start of
  // a record whose end has not arrived.
  std::string tls_in_;
  // Ciphertext OpenSSL reads from: a view of the thread's read buffer or of tls_in_, only
  // while this connection processes input.
  std::string_view tls_feed_;
  size_t out_offset_ = 0;
  size_t tls_out_offset_ = 0;

  std::string out_;  // application data not yet written (with TLS: not yet encrypted)
  // With TLS, the bytes for the socket: the plaintext queued before TLS started (<proceed/>),
  // then TLS records (with Tls13Records only those the socket did not take at once, and
  // alerts or a KeyUpdate answered while reading).
  std::string tls_out_;

  Stats stats_;
  // Guards the callbacks of rare paths (timers, posts, onClosed); the hot ones need none: a
  // call on the stack has its Watch, and the flush at the end of the turn is cancelled.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  Loop::TimerId close_timer_ = 0;
  SslPtr ssl_;
  // What an established TLS 1.3 server connection keeps of its handshake.
  struct LeanTls;
  std::unique_ptr<LeanTls> lean_;
  std::unique_ptr<Tls13Handoff> handoff_;  // server side, during the handshake
  SocketAddress peer_;
};

}  // namespace parley::net
