// Streaming XML parser for one XMPP stream (RFC 6120 §4, §11): bytes in, stanza trees out.
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"
#include "xml/element.h"
#include "xml/parser_arena.h"

// Expat's parser type, so this header does not pull in <expat.h>.
struct XML_ParserStruct;

namespace parley::xml {

struct Limits {
  // Bytes from a stanza's start tag to its end tag, counted as they arrive (so a
  // never-ending stanza is cut off early). Also bounds an unfinished stream header.
  size_t max_stanza_bytes = 256 * 1024;
  // Element nesting inside a stanza; the stanza itself is depth 1.
  size_t max_depth = 32;
};

// Each kind maps onto the stream error RFC 6120 §4.9.3 names for it.
enum class ParseErrorKind {
  NotWellFormed,        // not-well-formed: bad syntax, bad UTF-8, forbidden characters
  RestrictedXml,        // restricted-xml: DOCTYPE, entities, PIs, comments (§11.1)
  PolicyViolation,      // policy-violation: stanza too big or too deep
  BadFormat,            // bad-format: e.g. the root is not <stream:stream>
  UnsupportedEncoding,  // unsupported-encoding: a non-UTF-8 encoding declared (§11.6)
  InvalidNamespace,     // invalid-namespace: root named "stream" in another namespace
};

struct ParseError {
  ParseErrorKind kind;
  std::string message;
};

std::string_view toString(ParseErrorKind kind);

// Receives what the parser finds. Callbacks run inside StreamParser::feed(); they may
// call StreamParser::requestReset() or stop(), but never feed() or reset().
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // The root element: name "stream", xmlns ns::kStreams, its attributes (to, from,
  // version, xml:lang, id, ...), plus an attribute "xmlns" holding the default namespace
  // declared on it, if any (jabber:client, jabber:server, ...), so the session can
  // answer invalid-namespace. Only this element ever carries an "xmlns" attribute.
  virtual void onStreamOpen(const Element& header) = 0;
  // A complete child of the root, with its namespaces resolved.
  virtual void onStanza(std::unique_ptr<Element> stanza) = 0;
  // </stream:stream>. Bytes after it are ignored until reset() (or requestReset()).
  virtual void onStreamClose() = 0;
};

// Parses one XMPP stream with expat. Input may be split at any byte; the stanzas come
// out the same. Only children of the root are built as trees; whitespace between them
// (keepalives) is dropped. Once feed() has failed, it keeps failing until reset().
// Lives on its session's worker thread; never shared. The handler must outlive it.
class StreamParser {
 public:
  explicit StreamParser(StreamHandler& handler, Limits limits = {});
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  // Parses the next bytes of the stream and runs the handler's callbacks. An exception a
  // callback throws leaves feed() (never unwinding through expat) and fails the parser.
  // Bytes are not copied, except while expat holds an unfinished tag above 4 KiB.
  Result<void, ParseError> feed(std::string_view bytes);

  // Expects a fresh document (stream restart after STARTTLS or SASL success), dropping
  // any partial input. Call between feed() calls, never from a callback.
  void reset();

  // From a callback: once the current event is delivered, start a fresh document and
  // parse the rest of this feed() buffer as its beginning (a client may pipeline the
  // new stream header right after <auth/>). Outside feed() this is reset().
  void requestReset();

  // From a callback: stop parsing; the rest of the buffer and later input are ignored
  // (feed() returns success) until reset().
  void stop();

  bool hasFailed() const { return error_ != nullptr; }

  // Frees the expat parser and its buffers (about 10 KiB) while the stream rests between two
  // stanzas; the next feed() builds a new one, primed with the stream header's namespace
  // declarations, without calling onStreamOpen() again. For idle sessions. Returns false, and
  // does nothing, in the middle of a stanza or of anything else. Never from a callback.
  bool hibernate();
  bool isHibernating() const { return parser_ == nullptr; }
  size_t memoryBytes() const { return arena_.blockBytes(); }  // expat's, from malloc

 private:
  enum class Pending { None, Reset, Stop };

  struct ExpatDeleter {
    void operator()(XML_ParserStruct* parser) const;
  };

  enum class TagState { Text, Tag, SingleQuoted, DoubleQuoted };
  // An unfinished token this big makes feed() hold input back (see feed()).
  static constexpr size_t kHoldThreshold = 4096;

  Result<void, ParseError> parseBytes(std::string_view bytes);
  void trackTail(std::string_view chunk);
  bool scanTagEnd(std::string_view bytes);  // true if bytes may end the pending tag
  void createParser();
  void revive();
  void setUpParser();
  void clearDocumentState();
  void restartDocument();
  template <class F>
  void deliver(F&& callback);
  template <class F>
  static void guard(void* self, F&& body);
  // Stops expat after the current event; records where the event ended.
  void haltAfterCurrentEvent();
  void fail(ParseErrorKind kind, std::string message);
  bool isHalted() const {
    return error_ != nullptr || pending_ != Pending::None || exception_ != nullptr;
  }
  bool checkSize(size_t event_end);
  size_t eventEnd() const;
  size_t eventStart() const;

  void startElement(const char* name, const char** attrs);
  void endElement();
  void characterData(std::string_view text);
  void startNamespace(const char* prefix, const char* uri);
  void xmlDeclaration(const char* encoding);

  static void onStartElement(void* self, const char* name, const char** attrs);
  static void onEndElement(void* self, const char* name);
  static void onCharacterData(void* self, const char* text, int len);
  static void onStartNamespace(void* self, const char* prefix, const char* uri);
  static void onXmlDecl(void* self, const char* version, const char* encoding, int standalone);
  static void onDoctype(void* self, const char* name, const char* sysid, const char* pubid,
                        int has_internal_subset);
  static void onEntityDecl(void* self, const char* name, int is_parameter, const char* value,
                           int value_length, const char* base, const char* system_id,
                           const char* public_id, const char* notation);
  static void onProcessingInstruction(void* self, const char* target, const char* data);
  static void onComment(void* self, const char* data);

  StreamHandler& handler_;
  Limits limits_;
  ParserArena arena_;  // expat's memory; outlives parser_
  std::unique_ptr<XML_ParserStruct, ExpatDeleter> parser_;

  // Per document (reset on restart).
  size_t depth_ = 0;                 // 0 before the root; 1 inside the root; 2 in a stanza
  std::unique_ptr<Element> stanza_;  // the stanza being built
  std::vector<Element*> open_;       // its open elements, innermost last
  std::string default_ns_;           // default namespace declared on the root element
  bool has_default_ns_ = false;
  // Every namespace the root declared, prefix ("" = default) and URI, for revive().
  std::vector<std::pair<std::string, std::string>> root_namespaces_;
  bool reviving_ = false;      // parsing revive()'s synthetic header
  bool stopped_ = false;       // stop() or </stream:stream>: ignore input until reset
  size_t boundary_ = 0;        // doc offset where the current stanza (or gap) began
  size_t fed_ = 0;             // bytes given to the current expat document so far
  size_t last_event_end_ = 0;  // doc offset just after the last reported event
  std::string tail_;           // copy of the bytes expat holds after that event
  std::string held_;           // input not yet given to expat (holding_)
  bool holding_ = false;
  TagState tag_state_ = TagState::Text;

  // Per feed() call.
  bool in_feed_ = false;
  Pending pending_ = Pending::None;
  size_t halt_offset_ = 0;        // doc offset just after the event that halted expat
  std::exception_ptr exception_;  // thrown by a callback, rethrown out of feed()

  std::unique_ptr<ParseError> error_;  // sticky once set
};

// Parses one element written as XML text, e.g. "<iq type='get'><ping xmlns='urn:xmpp:ping'/>
// </iq>", as if it were a stanza in a stream whose default namespace is default_xmlns.
// The "stream:" prefix is bound to ns::kStreams. For tests and stanzas built from literals.
Result<Element, ParseError> parseElement(std::string_view xml,
                                         std::string_view default_xmlns = "jabber:client");

}  // namespace parley::xml
