// StropheClient: a real XMPP client (libstrophe) driven step by step from a test.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

struct _xmpp_ctx_t;
struct _xmpp_conn_t;
struct _xmpp_stanza_t;

namespace parley::integration {

// A received element, copied out of libstrophe so it outlives the connection.
struct XmlNode {
  std::string name;
  std::string xmlns;  // the element's own xmlns attribute, if any
  std::map<std::string, std::string> attributes;
  std::string text;  // concatenated character data directly inside this element
  std::vector<XmlNode> children;

  std::string attr(const std::string& key) const;
  // First child with NAME (and XMLNS, when not empty); nullptr if none.
  const XmlNode* child(const std::string& child_name, const std::string& child_xmlns = "") const;
  std::vector<const XmlNode*> childrenNamed(const std::string& child_name) const;
};

struct ReceivedStanza {
  std::string xml;  // as libstrophe serialized it
  std::string name, type, from, to, id;
  std::string body;  // text of <body/>, empty if none
  bool has_body = false;
  XmlNode tree;
};

struct ClientOptions {
  uint16_t port = 0;
  bool direct_tls = false;         // XEP-0368: TLS from the first byte (XMPP_CONN_FLAG_LEGACY_SSL)
  bool trust_tls = true;           // accept the self-signed test certificate
  bool mandatory_tls = true;       // refuse to log in without TLS
  bool stream_management = false;  // XEP-0198 off unless a test wants it
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
};

// One connection with its own xmpp_ctx_t. Every live client is in a global registry, and
// every wait pumps all of them, so romeo waiting for a reply also lets juliet's socket be
// read and written. Single-threaded; not copyable or movable.
class StropheClient {
 public:
  using Predicate = std::function<bool(const ReceivedStanza&)>;

  StropheClient();
  ~StropheClient();
  StropheClient(const StropheClient&) = delete;
  StropheClient& operator=(const StropheClient&) = delete;

  // Connects to 127.0.0.1:options.port as JID and waits until the session is bound
  // (libstrophe's CONNECT event) or failed. True on success.
  bool connect(const std::string& jid, const std::string& password, const ClientOptions& options);

  // Queues raw XML for sending (it goes out on the next pump).
  void send(const std::string& xml);
  void sendMessage(const std::string& to, const std::string& body, const std::string& type = "chat",
                   const std::string& id = "");
  void sendPresence(int priority);
  // Sends an iq to the server and waits for its answer (any type): every stanza this
  // client sent before has then been processed by the server. False on timeout.
  bool syncWithServer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends an iq (XML must carry id=ID) and waits for the reply with that id.
  const ReceivedStanza* request(const std::string& xml, const std::string& id,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Waits until a received stanza (not yet consumed by a waitFor) satisfies PREDICATE;
  // marks it consumed and returns it, or nullptr on timeout.
  const ReceivedStanza* waitFor(const Predicate& predicate,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Waits until PREDICATE holds (checked after every pump); false on timeout.
  static bool pumpUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  // Pumps every live client once, waiting at most WAIT for I/O on each.
  static void pumpAll(std::chrono::milliseconds wait = std::chrono::milliseconds(1));

  // Every stanza received so far, in order (consumed ones included).
  const std::deque<ReceivedStanza>& received() const { return received_; }
  // Every stanza received so far as XML, one per line: for INFO() when a wait fails.
  std::string transcript() const;
  // Stanzas not yet consumed by waitFor that satisfy PREDICATE.
  std::vector<const ReceivedStanza*> pending(const Predicate& predicate) const;

  std::string boundJid() const { return bound_jid_; }
  bool isConnected() const { return connected_; }
  bool isDisconnected() const { return disconnected_; }
  // Stream error condition that ended the stream ("conflict", ...), empty if none.
  const std::string& streamError() const { return stream_error_; }
  // Waits for the server to close the connection (no client action). True if it did.
  bool waitDisconnected(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Closes the stream (</stream:stream>) and waits for the close to complete.
  void disconnect(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  friend struct StropheCallbacks;
  void release();

  _xmpp_ctx_t* ctx_ = nullptr;
  _xmpp_conn_t* conn_ = nullptr;
  std::deque<ReceivedStanza> received_;
  std::deque<bool> consumed_;
  std::string bound_jid_;
  std::string stream_error_;
  bool connected_ = false;
  bool disconnected_ = false;
  int next_id_ = 0;
};

// The bare part of a JID ("romeo@localhost/balcony" -> "romeo@localhost").
std::string bareJid(const std::string& jid);

}  // namespace parley::integration
