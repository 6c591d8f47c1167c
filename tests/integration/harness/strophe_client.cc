// StropheClient: a real XMPP client (libstrophe) driven step by step from a test.
#include "harness/strophe_client.h"

#include <strophe.h>

#include <algorithm>
#include <cstdlib>

#include "harness/xml_text.h"

namespace parley::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<StropheClient*>& registry() {
  static std::vector<StropheClient*> clients;
  return clients;
}

bool verbose() {
  const char* value = std::getenv("PARLEY_TEST_VERBOSE");
  return value != nullptr && std::string(value) == "1";
}

std::string orEmpty(const char* text) { return text != nullptr ? text : ""; }

XmlNode copyTree(xmpp_stanza_t* stanza) {
  XmlNode node;
  node.name = orEmpty(xmpp_stanza_get_name(stanza));
  node.xmlns = orEmpty(xmpp_stanza_get_ns(stanza));
  int count = xmpp_stanza_get_attribute_count(stanza);
  std::vector<const char*> pairs(static_cast<size_t>(count) * 2 + 2, nullptr);
  int filled = xmpp_stanza_get_attributes(stanza, pairs.data(), static_cast<int>(pairs.size()));
  for (int i = 0; i + 1 < filled; i += 2) {
    node.attributes[orEmpty(pairs[static_cast<size_t>(i)])] =
        orEmpty(pairs[static_cast<size_t>(i) + 1]);
  }
  for (xmpp_stanza_t* child = xmpp_stanza_get_children(stanza); child != nullptr;
       child = xmpp_stanza_get_next(child)) {
    if (xmpp_stanza_is_text(child)) {
      node.text += orEmpty(xmpp_stanza_get_text_ptr(child));
    } else {
      node.children.push_back(copyTree(child));
    }
  }
  return node;
}

const char* streamErrorName(xmpp_error_type_t type) {
  switch (type) {
    case XMPP_SE_BAD_FORMAT:
      return "bad-format";
    case XMPP_SE_BAD_NS_PREFIX:
      return "bad-namespace-prefix";
    case XMPP_SE_CONFLICT:
      return "conflict";
    case XMPP_SE_CONN_TIMEOUT:
      return "connection-timeout";
    case XMPP_SE_HOST_GONE:
      return "host-gone";
    case XMPP_SE_HOST_UNKNOWN:
      return "host-unknown";
    case XMPP_SE_IMPROPER_ADDR:
      return "improper-addressing";
    case XMPP_SE_INTERNAL_SERVER_ERROR:
      return "internal-server-error";
    case XMPP_SE_INVALID_FROM:
      return "invalid-from";
    case XMPP_SE_INVALID_ID:
      return "invalid-id";
    case XMPP_SE_INVALID_NS:
      return "invalid-namespace";
    case XMPP_SE_INVALID_XML:
      return "invalid-xml";
    case XMPP_SE_NOT_AUTHORIZED:
      return "not-authorized";
    case XMPP_SE_POLICY_VIOLATION:
      return "policy-violation";
    case XMPP_SE_REMOTE_CONN_FAILED:
      return "remote-connection-failed";
    case XMPP_SE_RESOURCE_CONSTRAINT:
      return "resource-constraint";
    case XMPP_SE_RESTRICTED_XML:
      return "restricted-xml";
    case XMPP_SE_SEE_OTHER_HOST:
      return "see-other-host";
    case XMPP_SE_SYSTEM_SHUTDOWN:
      return "system-shutdown";
    case XMPP_SE_UNDEFINED_CONDITION:
      return "undefined-condition";
    case XMPP_SE_UNSUPPORTED_ENCODING:
      return "unsupported-encoding";
    case XMPP_SE_UNSUPPORTED_STANZA_TYPE:
      return "unsupported-stanza-type";
    case XMPP_SE_UNSUPPORTED_VERSION:
      return "unsupported-version";
    case XMPP_SE_XML_NOT_WELL_FORMED:
      return "not-well-formed";
  }
  return "unknown";
}

}  // namespace

// libstrophe's C callbacks, given access to the client they were registered for.
struct StropheCallbacks {
  static int onStanza(xmpp_conn_t* /*conn*/, xmpp_stanza_t* stanza, void* userdata) {
    auto* self = static_cast<StropheClient*>(userdata);
    ReceivedStanza got;
    got.name = orEmpty(xmpp_stanza_get_name(stanza));
    // Only stanzas: stream-management and other nonzas are libstrophe's business.
    if (got.name != "message" && got.name != "presence" && got.name != "iq") return 1;
    char* text = nullptr;
    size_t length = 0;
    if (xmpp_stanza_to_text(stanza, &text, &length) == XMPP_EOK && text != nullptr) {
      got.xml.assign(text, length);
      xmpp_free(self->ctx_, text);
    }
    got.type = orEmpty(xmpp_stanza_get_type(stanza));
    got.from = orEmpty(xmpp_stanza_get_from(stanza));
    got.to = orEmpty(xmpp_stanza_get_to(stanza));
    got.id = orEmpty(xmpp_stanza_get_id(stanza));
    got.tree = copyTree(stanza);
    if (const XmlNode* body = got.tree.child("body")) {
      got.has_body = true;
      got.body = body->text;
    }
    self->received_.push_back(std::move(got));
    self->consumed_.push_back(false);
    return 1;  // keep the handler
  }

  static void onConnection(xmpp_conn_t* conn, xmpp_conn_event_t event, int /*error*/,
                           xmpp_stream_error_t* stream_error, void* userdata) {
    auto* self = static_cast<StropheClient*>(userdata);
    if (event == XMPP_CONN_CONNECT) {
      self->connected_ = true;
      self->bound_jid_ = orEmpty(xmpp_conn_get_bound_jid(conn));
      return;
    }
    if (event == XMPP_CONN_DISCONNECT || event == XMPP_CONN_FAIL) {
      self->connected_ = false;
      self->disconnected_ = true;
      if (stream_error != nullptr && self->stream_error_.empty()) {
        self->stream_error_ = streamErrorName(stream_error->type);
      }
    }
  }
};

std::string XmlNode::attr(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? "" : it->second;
}

const XmlNode* XmlNode::child(const std::string& child_name, const std::string& child_xmlns) const {
  for (const auto& node : children) {
    if (node.name == child_name && (child_xmlns.empty() || node.xmlns == child_xmlns)) {
      return &node;
    }
  }
  return nullptr;
}

std::vector<const XmlNode*> XmlNode::childrenNamed(const std::string& child_name) const {
  std::vector<const XmlNode*> out;
  for (const auto& node : children) {
    if (node.name == child_name) out.push_back(&node);
  }
  return out;
}

std::string bareJid(const std::string& jid) { return jid.substr(0, jid.find('/')); }

StropheClient::StropheClient() {
  static bool initialized = [] {
    xmpp_initialize();
    return true;
  }();
  (void)initialized;
  ctx_ = xmpp_ctx_new(nullptr, verbose() ? xmpp_get_default_logger(XMPP_LEVEL_DEBUG) : nullptr);
  registry().push_back(this);
}

StropheClient::~StropheClient() {
  if (conn_ != nullptr && !disconnected_) disconnect(std::chrono::seconds(2));
  release();
  auto& clients = registry();
  clients.erase(std::remove(clients.begin(), clients.end(), this), clients.end());
  if (ctx_ != nullptr) xmpp_ctx_free(ctx_);
}

void StropheClient::release() {
  if (conn_ != nullptr) {
    xmpp_conn_release(conn_);
    conn_ = nullptr;
  }
}

bool StropheClient::connect(const std::string& jid, const std::string& password,
                            const ClientOptions& options) {
  release();
  connected_ = false;
  disconnected_ = false;
  stream_error_.clear();
  conn_ = xmpp_conn_new(ctx_);
  long flags = 0;
  if (options.direct_tls) flags |= XMPP_CONN_FLAG_LEGACY_SSL;
  if (options.trust_tls) flags |= XMPP_CONN_FLAG_TRUST_TLS;
  if (options.mandatory_tls) flags |= XMPP_CONN_FLAG_MANDATORY_TLS;
  if (!options.stream_management) flags |= XMPP_CONN_FLAG_DISABLE_SM;
  xmpp_conn_set_flags(conn_, flags);
  xmpp_conn_set_jid(conn_, jid.c_str());
  xmpp_conn_set_pass(conn_, password.c_str());
  xmpp_handler_add(conn_, &StropheCallbacks::onStanza, nullptr, nullptr, nullptr, this);
  if (xmpp_connect_client(conn_, "127.0.0.1", options.port, &StropheCallbacks::onConnection,
                          this) != XMPP_EOK) {
    disconnected_ = true;
    return false;
  }
  pumpUntil([this] { return connected_ || disconnected_; }, options.timeout);
  return connected_;
}

void StropheClient::send(const std::string& xml) {
  if (conn_ == nullptr) return;
  xmpp_send_raw(conn_, xml.data(), xml.size());
}

void StropheClient::sendMessage(const std::string& to, const std::string& body,
                                const std::string& type, const std::string& id) {
  std::string xml = "<message to='" + xmlEscape(to) + "' type='" + xmlEscape(type) + "'";
  if (!id.empty()) xml += " id='" + xmlEscape(id) + "'";
  xml += "><body>" + xmlEscape(body) + "</body></message>";
  send(xml);
}

void StropheClient::sendPresence(int priority) {
  send("<presence><priority>" + std::to_string(priority) + "</priority></presence>");
}

const ReceivedStanza* StropheClient::request(const std::string& xml, const std::string& id,
                                             std::chrono::milliseconds timeout) {
  send(xml);
  return waitFor(
      [&id](const ReceivedStanza& s) {
        return s.name == "iq" && s.id == id && (s.type == "result" || s.type == "error");
      },
      timeout);
}

bool StropheClient::syncWithServer(std::chrono::milliseconds timeout) {
  std::string id = "sync-" + std::to_string(++next_id_);
  std::string domain = bareJid(boundJid());
  domain = domain.substr(domain.find('@') + 1);
  return request("<iq type='get' id='" + id + "' to='" + xmlEscape(domain) +
                     "'><ping xmlns='urn:xmpp:ping'/></iq>",
                 id, timeout) != nullptr;
}

std::string StropheClient::transcript() const {
  std::string out;
  for (const auto& stanza : received_) out += stanza.xml + "\n";
  return out.empty() ? "(nothing received)" : out;
}

std::vector<const ReceivedStanza*> StropheClient::pending(const Predicate& predicate) const {
  std::vector<const ReceivedStanza*> out;
  for (size_t i = 0; i < received_.size(); ++i) {
    if (!consumed_[i] && predicate(received_[i])) out.push_back(&received_[i]);
  }
  return out;
}

const ReceivedStanza* StropheClient::waitFor(const Predicate& predicate,
                                             std::chrono::milliseconds timeout) {
  size_t checked = 0;
  const ReceivedStanza* found = nullptr;
  auto scan = [&] {
    for (; checked < received_.size(); ++checked) {
      if (!consumed_[checked] && predicate(received_[checked])) {
        consumed_[checked] = true;
        found = &received_[checked];
        return true;
      }
    }
    return false;
  };
  if (scan()) return found;
  pumpUntil(scan, timeout);
  return found;
}

void StropheClient::pumpAll(std::chrono::milliseconds wait) {
  // Copy: a handler could in principle create or destroy clients.
  std::vector<StropheClient*> clients = registry();
  for (StropheClient* client : clients) {
    if (client->conn_ == nullptr || client->disconnected_) continue;
    xmpp_run_once(client->ctx_, static_cast<unsigned long>(wait.count()));
  }
}

bool StropheClient::pumpUntil(const std::function<bool()>& done,
                              std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    pumpAll();
  }
  return true;
}

bool StropheClient::waitDisconnected(std::chrono::milliseconds timeout) {
  return pumpUntil([this] { return disconnected_; }, timeout);
}

void StropheClient::disconnect(std::chrono::milliseconds timeout) {
  if (conn_ == nullptr || disconnected_) return;
  xmpp_disconnect(conn_);
  pumpUntil([this] { return disconnected_; }, timeout);
}

}  // namespace parley::integration
