// BOSH <body/> wrappers (XEP-0124 §4, XEP-0206): what a client's request says, and the bodies
// a connection manager answers with. Pure: no sessions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_route.h"
#include "util/result.h"
#include "xml/element.h"

namespace parley::http::bosh {

inline constexpr std::string_view kHttpBind = "http://jabber.org/protocol/httpbind";
inline constexpr std::string_view kXbosh = "urn:xmpp:xbosh";  // XEP-0206
inline constexpr std::string_view kContentType = "text/xml; charset=utf-8";
// The BOSH version we speak (XEP-0124 §7.2 'ver'): no acks, pauses or multiple streams.
inline constexpr std::string_view kVersion = "1.6";
// XEP-0124 §14.1: rids stay below 2^53 so JavaScript can count them.
inline constexpr uint64_t kMaxRid = 9007199254740991;

// XEP-0124 §17.2 terminal binding conditions (the ones a connection manager sends).
enum class Condition {
  BadRequest,
  HostGone,
  HostUnknown,
  ImproperAddressing,
  InternalServerError,
  ItemNotFound,
  OtherRequest,
  PolicyViolation,
  RemoteConnectionFailed,
  RemoteStreamError,
  SeeOtherUri,
  SystemShutdown,
  UndefinedCondition,
};
std::string_view conditionName(Condition condition);

// One client request, as read from its <body/>.
struct Request {
  uint64_t rid = 0;
  std::string sid;       // empty: a session creation request
  std::string type;      // "terminate" or empty
  bool restart = false;  // xmpp:restart='true' (XEP-0206 §5)
  std::string to;
  std::string lang;              // xml:lang
  std::string ver;               // BOSH version; empty for a legacy client (§17.1)
  std::string xmpp_version;      // xmpp:version
  std::string content;           // the Content-Type the client wants on every response
  std::optional<unsigned> wait;  // seconds
  std::optional<unsigned> hold;
  // The payloads. Children left in the httpbind namespace are moved to jabber:client, as
  // XEP-0206 §2 notes many clients expect.
  std::vector<xml::Element> payloads;

  bool isTerminate() const { return type == "terminate"; }
};

// Why a request body cannot be read at all: XEP-0124 §17.1 HTTP 400. Without a readable
// <body/> no session can be trusted with the error, so it goes back as the HTTP status.
struct BodyError {
  std::string message;
};

// Parses an HTTP request body. The whole <body/> is parsed as one element of at most
// `max_bytes` and `max_depth` levels (its payloads one level down); a leading XML declaration
// is allowed. Fails for bad XML, DTDs, comments and processing instructions, a root other than
// httpbind <body/>, text beside the payloads, a missing or non-numeric rid or one above
// kMaxRid, and non-numeric wait or hold.
Result<Request, BodyError> parseRequest(std::string_view body, size_t max_bytes, size_t max_depth);

// The serialized payloads of a request, as bytes of a jabber:client stream.
std::string streamBytes(const Request& request);

// The stream header a session creation or restart request stands for (XEP-0206 §3, §5).
std::string streamHeader(std::string_view to, std::string_view lang, std::string_view xmpp_version);

// What the session creation response announces (XEP-0124 §7.2, XEP-0206 §4).
struct SessionCreation {
  std::string sid;
  unsigned wait = 60;
  unsigned requests = 2;
  unsigned inactivity = 60;
  unsigned polling = 2;
  unsigned hold = 1;
  std::string ver;  // kVersion, or the client's if lower
  std::string from;
  std::string authid;  // the XMPP stream id
  bool secure = false;
};

// <body/> wrappers around already serialized payloads (which may use the "stream:" prefix).
std::string sessionCreationBody(const SessionCreation& creation, std::string_view payloads);
std::string payloadBody(std::string_view payloads);
// type='terminate', with a condition unless the session simply ended.
std::string terminateBody(std::optional<Condition> condition, std::string_view payloads = {});

// The 'ver' to answer with: the lower of ours and the client's (major.minor, each an integer).
std::string negotiatedVersion(std::string_view client_ver);

// XEP-0124 §7.1 'content': usable as a Content-Type header (printable ASCII only).
bool isUsableContentType(std::string_view content);

// A 200 response carrying `body`, with that Content-Type and the CORS headers.
core::HttpResponse xmlResponse(std::string body, std::string_view content_type = kContentType);
// The error to send for `condition`: 200 with a terminate body, or for a legacy client (one
// that sent no 'ver') the HTTP status §17.1 puts in its place (400, 403, 404) where there is one.
core::HttpResponse terminalResponse(Condition condition, bool legacy,
                                    std::string_view content_type = kContentType);
// Access-Control-* for browsers on other origins (every response of /http-bind carries them).
void addCorsHeaders(core::HttpResponse& response);

}  // namespace parley::http::bosh
