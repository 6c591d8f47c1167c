// Streaming XML parser for one XMPP stream: expat events -> stream header, stanza trees, close.
#include "xml/stream_parser.h"

#include <expat.h>

#include <algorithm>
#include <climits>
#include <string>
#include <utility>

#include "util/log.h"
#include "xml/namespaces.h"
#include "xml/serializer.h"

namespace parley::xml {
namespace {

// Separates namespace URI and local name in expat's names. No URI can contain it:
// XML forbids U+0001 even as a character reference.
constexpr char kNsSeparator = '\x01';

struct SplitName {
  std::string_view xmlns;
  std::string_view local;
};

SplitName splitName(const char* expat_name) {
  std::string_view name(expat_name);
  size_t sep = name.find(kNsSeparator);
  if (sep == std::string_view::npos) return {{}, name};
  return {name.substr(0, sep), name.substr(sep + 1)};
}

// Unprefixed attributes keep their name; xml:* keeps its conventional prefix; any
// other namespaced attribute becomes "{uri}local" (the serializer declares a prefix).
std::string attributeName(const char* expat_name) {
  SplitName split = splitName(expat_name);
  if (split.xmlns.empty()) return std::string(split.local);
  std::string out;
  if (split.xmlns == ns::kXml) {
    out.reserve(4 + split.local.size());
    out.append("xml:").append(split.local);
  } else {
    out.reserve(split.xmlns.size() + split.local.size() + 2);
    out.append("{").append(split.xmlns).append("}").append(split.local);
  }
  return out;
}

Element makeElement(const char* name, const char** attrs) {
  SplitName split = splitName(name);
  Element element{std::string(split.local), std::string(split.xmlns)};
  for (const char** attr = attrs; attr[0] != nullptr; attr += 2) {
    element.appendAttr(attributeName(attr[0]), std::string(attr[1]));
  }
  return element;
}

bool isXmlWhitespace(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

ParseErrorKind kindOf(XML_Error code) {
  switch (code) {
    case XML_ERROR_UNDEFINED_ENTITY:
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
      return ParseErrorKind::RestrictedXml;  // §11.1: no entity references but the five
    case XML_ERROR_UNKNOWN_ENCODING:
    case XML_ERROR_INCORRECT_ENCODING:
      return ParseErrorKind::UnsupportedEncoding;
    default:
      return ParseErrorKind::NotWellFormed;
  }
}

}  // namespace

std::string_view toString(ParseErrorKind kind) {
  switch (kind) {
    case ParseErrorKind::NotWellFormed:
      return "not-well-formed";
    case ParseErrorKind::RestrictedXml:
      return "restricted-xml";
    case ParseErrorKind::PolicyViolation:
      return "policy-violation";
    case ParseErrorKind::BadFormat:
      return "bad-format";
    case ParseErrorKind::UnsupportedEncoding:
      return "unsupported-encoding";
    case ParseErrorKind::InvalidNamespace:
      return "invalid-namespace";
  }
  return "unknown";
}

void StreamParser::ExpatDeleter::operator()(XML_ParserStruct* parser) const {
  XML_ParserFree(parser);
}

StreamParser::StreamParser(StreamHandler& handler, Limits limits)
    : handler_(handler), limits_(limits) {
  createParser();
}

void StreamParser::createParser() {
  // The protocol encoding overrides any declared one; xmlDeclaration() refuses non-UTF-8.
  static constexpr XML_Char kSeparator[] = {kNsSeparator, '\0'};
  static const XML_Memory_Handling_Suite kArena = {&ParserArena::allocate, &ParserArena::reallocate,
                                                   &ParserArena::release};
  ParserArena::Use use(arena_);
  parser_.reset(XML_ParserCreate_MM("UTF-8", &kArena, kSeparator));
  PARLEY_CHECK(parser_ != nullptr);
  setUpParser();
  open_.reserve(limits_.max_depth + 1);
}

bool StreamParser::hibernate() {
  // Only between stanzas, with nothing buffered that expat has not turned into events but
  // whitespace (a keepalive expat reports once it sees what follows: dropping it is harmless).
  if (!parser_ || in_feed_ || error_ || stopped_ || holding_ || depth_ != 1 || stanza_) {
    return false;
  }
  const size_t unconsumed = fed_ - last_event_end_;
  if (unconsumed != 0 && (unconsumed != tail_.size() || !isXmlWhitespace(tail_))) return false;
  parser_.reset();
  std::string().swap(tail_);
  std::string().swap(held_);
  std::vector<Element*>().swap(open_);
  return true;
}

// A new expat document primed with the root's namespace declarations, as if it had just read
// the stream header (without telling the handler again).
void StreamParser::revive() {
  createParser();
  std::string header = "<";
  std::string_view streams_prefix;
  for (const auto& [prefix, uri] : root_namespaces_) {
    if (uri == ns::kStreams && !prefix.empty()) streams_prefix = prefix;
  }
  if (!streams_prefix.empty()) header.append(streams_prefix).append(":");
  header.append("stream");
  for (const auto& [prefix, uri] : root_namespaces_) {
    header.append(prefix.empty() ? " xmlns" : " xmlns:").append(prefix).append("='");
    appendEscapedAttr(header, uri);
    header.append("'");
  }
  header.append(">");
  depth_ = 0;
  fed_ = boundary_ = last_event_end_ = 0;  // offsets in the new document
  reviving_ = true;
  auto primed = parseBytes(header);
  reviving_ = false;
  PARLEY_CHECK(primed.hasValue() && depth_ == 1);
}

StreamParser::~StreamParser() = default;

void StreamParser::setUpParser() {
  XML_Parser p = parser_.get();
  XML_SetUserData(p, this);
  XML_SetElementHandler(p, &onStartElement, &onEndElement);
  XML_SetCharacterDataHandler(p, &onCharacterData);
  XML_SetStartNamespaceDeclHandler(p, &onStartNamespace);
  XML_SetXmlDeclHandler(p, &onXmlDecl);
  // RFC 6120 §11.1: refuse everything that could define or expand entities, or hide data.
  XML_SetStartDoctypeDeclHandler(p, &onDoctype);
  XML_SetEntityDeclHandler(p, &onEntityDecl);
  XML_SetProcessingInstructionHandler(p, &onProcessingInstruction);
  XML_SetCommentHandler(p, &onComment);
  XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
  // Expat's reparse deferral may hold back a complete stanza until more bytes arrive,
  // which a live stream cannot afford. The cost of re-scanning an unfinished token is
  // bounded by max_stanza_bytes.
#ifdef PARLEY_HAVE_EXPAT_REPARSE_DEFERRAL
  XML_SetReparseDeferralEnabled(p, XML_FALSE);
#endif
}

void StreamParser::clearDocumentState() {
  depth_ = 0;
  stanza_.reset();
  open_.clear();
  default_ns_.clear();
  has_default_ns_ = false;
  root_namespaces_.clear();
  stopped_ = false;
  boundary_ = 0;
  fed_ = 0;
  last_event_end_ = 0;
  tail_.clear();
  held_.clear();
  holding_ = false;
}

void StreamParser::restartDocument() {
  if (parser_) {
    ParserArena::Use use(arena_);
    XML_ParserReset(parser_.get(), "UTF-8");
    setUpParser();
  } else {
    createParser();
  }
  clearDocumentState();
}

void StreamParser::reset() {
  if (in_feed_) {  // misuse from a callback; the safe reading of it
    requestReset();
    return;
  }
  restartDocument();
  error_.reset();
  exception_ = nullptr;
}

void StreamParser::requestReset() {
  if (!in_feed_) {
    reset();
    return;
  }
  if (pending_ == Pending::None && error_ == nullptr) pending_ = Pending::Reset;
}

void StreamParser::stop() {
  if (!in_feed_) {
    stopped_ = true;
    return;
  }
  if (error_ == nullptr) pending_ = Pending::Stop;
}

Result<void, ParseError> StreamParser::feed(std::string_view bytes) {
  if (error_) return Unexpected(*error_);
  if (stopped_) return {};
  if (!parser_) revive();
  if (!holding_) return parseBytes(bytes);
  // Expat holds a big unfinished tag. Hand it more only once the tag may be complete, or
  // the input has doubled: re-scanning it on every small read would be quadratic.
  const bool may_complete = scanTagEnd(bytes);
  if (!may_complete && held_.size() + bytes.size() < tail_.size()) {
    held_.append(bytes);
    if (!stopped_ && fed_ + held_.size() - boundary_ > limits_.max_stanza_bytes) {
      fail(ParseErrorKind::PolicyViolation,
           "stanza larger than " + std::to_string(limits_.max_stanza_bytes) + " bytes");
      return Unexpected(*error_);
    }
    return {};
  }
  holding_ = false;
  std::string joined = std::exchange(held_, std::string());
  joined.append(bytes);
  return parseBytes(joined);
}

Result<void, ParseError> StreamParser::parseBytes(std::string_view bytes) {
  in_feed_ = true;
  ParserArena::Use use(arena_);
  while (!bytes.empty() && !stopped_ && !error_) {
    pending_ = Pending::None;
    const int len = static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX));
    const XML_Status status = XML_Parse(parser_.get(), bytes.data(), len, XML_FALSE);
    if (exception_) break;
    if (status == XML_STATUS_OK) {
      fed_ += static_cast<size_t>(len);
      // An unfinished stanza (or header) that expat is still buffering counts too.
      if (checkSize(fed_)) trackTail(bytes.substr(0, static_cast<size_t>(len)));
      bytes.remove_prefix(static_cast<size_t>(len));
      continue;
    }
    if (error_) break;
    if (pending_ == Pending::Reset) {
      bytes.remove_prefix(halt_offset_ - fed_);
      restartDocument();
      continue;
    }
    if (pending_ == Pending::Stop) {
      stopped_ = true;
      break;
    }
    const XML_Error code = XML_GetErrorCode(parser_.get());
    fail(kindOf(code), std::string(XML_ErrorString(code)) + " at line " +
                           std::to_string(XML_GetCurrentLineNumber(parser_.get())) + ", column " +
                           std::to_string(XML_GetCurrentColumnNumber(parser_.get())));
  }
  in_feed_ = false;
  pending_ = Pending::None;
  if (exception_) {
    if (!error_)
      error_ = std::make_unique<ParseError>(
          ParseError{ParseErrorKind::NotWellFormed, "stream handler threw"});
    std::rethrow_exception(std::exchange(exception_, nullptr));
  }
  if (error_) return Unexpected(*error_);
  return {};
}

void StreamParser::trackTail(std::string_view chunk) {
  const size_t tail = fed_ - last_event_end_;  // bytes expat has not turned into events
  if (tail == 0) {
    tail_.clear();
    return;
  }
  if (tail <= chunk.size()) {
    tail_.assign(chunk.substr(chunk.size() - tail));
  } else {
    tail_.append(chunk);
    tail_.erase(0, tail_.size() - std::min(tail, tail_.size()));
  }
  if (tail_.size() < kHoldThreshold) return;
  // Find whether the tail ends inside a quoted attribute value, then hold further input.
  tag_state_ = TagState::Text;
  scanTagEnd(tail_);
  holding_ = true;
}

bool StreamParser::scanTagEnd(std::string_view bytes) {
  bool found = false;
  for (char c : bytes) {
    switch (tag_state_) {
      case TagState::Text:
        if (c == '<') tag_state_ = TagState::Tag;
        if (c == '>') found = true;  // not a tag end, but flushing early is always safe
        break;
      case TagState::Tag:
        if (c == '\'') tag_state_ = TagState::SingleQuoted;
        if (c == '"') tag_state_ = TagState::DoubleQuoted;
        if (c == '>') {
          tag_state_ = TagState::Text;
          found = true;
        }
        break;
      case TagState::SingleQuoted:
        if (c == '\'') tag_state_ = TagState::Tag;
        break;
      case TagState::DoubleQuoted:
        if (c == '"') tag_state_ = TagState::Tag;
        break;
    }
  }
  return found;
}

size_t StreamParser::eventStart() const {
  XML_Index index = XML_GetCurrentByteIndex(parser_.get());
  return index < 0 ? fed_ : static_cast<size_t>(index);
}

size_t StreamParser::eventEnd() const {
  return eventStart() + static_cast<size_t>(XML_GetCurrentByteCount(parser_.get()));
}

void StreamParser::haltAfterCurrentEvent() {
  halt_offset_ = eventEnd();
  XML_StopParser(parser_.get(), XML_FALSE);
}

void StreamParser::fail(ParseErrorKind kind, std::string message) {
  if (!error_) error_ = std::make_unique<ParseError>(ParseError{kind, std::move(message)});
  if (in_feed_) XML_StopParser(parser_.get(), XML_FALSE);
}

bool StreamParser::checkSize(size_t event_end) {
  if (stopped_ || event_end - boundary_ <= limits_.max_stanza_bytes) return true;
  fail(ParseErrorKind::PolicyViolation,
       depth_ == 0 ? "stream header too large"
                   : "stanza larger than " + std::to_string(limits_.max_stanza_bytes) + " bytes");
  return false;
}

template <class F>
void StreamParser::deliver(F&& callback) {
  callback();
  if (pending_ != Pending::None && !error_) haltAfterCurrentEvent();
}

template <class F>
void StreamParser::guard(void* self, F&& body) {
  auto* parser = static_cast<StreamParser*>(self);
  if (parser->isHalted()) return;  // expat may report a little more after XML_StopParser
  try {
    body(*parser);
    parser->last_event_end_ = parser->eventEnd();
  } catch (...) {  // never unwind through expat's C frames
    parser->exception_ = std::current_exception();
    XML_StopParser(parser->parser_.get(), XML_FALSE);
  }
}

void StreamParser::startElement(const char* name, const char** attrs) {
  if (depth_ == 0) {
    SplitName split = splitName(name);
    if (split.local != "stream") {
      return fail(ParseErrorKind::BadFormat, "root element is not <stream:stream>");
    }
    if (split.xmlns != ns::kStreams) {
      return fail(ParseErrorKind::InvalidNamespace,
                  "stream namespace is not " + std::string(ns::kStreams));
    }
    depth_ = 1;
    boundary_ = eventEnd();
    if (reviving_) return;  // the handler saw this header before hibernate()
    Element header = makeElement(name, attrs);
    if (has_default_ns_) header.setAttr("xmlns", default_ns_);
    deliver([&] { handler_.onStreamOpen(header); });
    return;
  }
  if (depth_ > limits_.max_depth) {
    return fail(ParseErrorKind::PolicyViolation,
                "elements nested deeper than " + std::to_string(limits_.max_depth));
  }
  if (depth_ == 1) {
    boundary_ = eventStart();
    stanza_ = std::make_unique<Element>(makeElement(name, attrs));
    open_.push_back(stanza_.get());
  } else {
    open_.push_back(&open_.back()->addChild(makeElement(name, attrs)));
  }
  ++depth_;
  checkSize(eventEnd());
}

void StreamParser::endElement() {
  --depth_;
  if (depth_ == 0) {
    stopped_ = true;  // nothing may follow the root; ignore it rather than fail
    deliver([&] { handler_.onStreamClose(); });
    if (pending_ == Pending::None && !error_) {
      pending_ = Pending::Stop;
      haltAfterCurrentEvent();
    }
    return;
  }
  open_.pop_back();
  if (depth_ > 1) return;
  if (!checkSize(eventEnd())) return;
  boundary_ = eventEnd();
  deliver([&] { handler_.onStanza(std::move(stanza_)); });
}

void StreamParser::characterData(std::string_view text) {
  if (depth_ >= 2) {
    open_.back()->addText(text);
    checkSize(eventEnd());
  } else if (isXmlWhitespace(text)) {
    boundary_ = eventEnd();  // whitespace keepalive between stanzas
  } else {
    fail(ParseErrorKind::BadFormat, "text outside any stanza");
  }
}

void StreamParser::startNamespace(const char* prefix, const char* uri) {
  if (depth_ != 0 || reviving_) return;
  root_namespaces_.emplace_back(prefix ? prefix : "", uri ? uri : "");
  if (prefix != nullptr) return;
  has_default_ns_ = true;
  default_ns_ = uri ? uri : "";
}

void StreamParser::xmlDeclaration(const char* encoding) {
  // RFC 6120 §11.6: UTF-8 only.
  if (encoding != nullptr && !equalsIgnoreCase(encoding, "UTF-8")) {
    fail(ParseErrorKind::UnsupportedEncoding,
         std::string("encoding '") + encoding + "' declared; only UTF-8 is supported");
  }
}

void StreamParser::onStartElement(void* self, const char* name, const char** attrs) {
  guard(self, [&](StreamParser& p) { p.startElement(name, attrs); });
}

void StreamParser::onEndElement(void* self, const char* /*name*/) {
  guard(self, [&](StreamParser& p) { p.endElement(); });
}

void StreamParser::onCharacterData(void* self, const char* text, int len) {
  guard(self, [&](StreamParser& p) {
    p.characterData(std::string_view(text, static_cast<size_t>(len)));
  });
}

void StreamParser::onStartNamespace(void* self, const char* prefix, const char* uri) {
  guard(self, [&](StreamParser& p) { p.startNamespace(prefix, uri); });
}

void StreamParser::onXmlDecl(void* self, const char* /*version*/, const char* encoding,
                             int /*standalone*/) {
  guard(self, [&](StreamParser& p) { p.xmlDeclaration(encoding); });
}

void StreamParser::onDoctype(void* self, const char* /*name*/, const char* /*sysid*/,
                             const char* /*pubid*/, int /*has_internal_subset*/) {
  guard(self, [](StreamParser& p) {
    p.fail(ParseErrorKind::RestrictedXml, "document type declarations are not allowed");
  });
}

void StreamParser::onEntityDecl(void* self, const char* /*name*/, int /*is_parameter*/,
                                const char* /*value*/, int /*value_length*/, const char* /*base*/,
                                const char* /*system_id*/, const char* /*public_id*/,
                                const char* /*notation*/) {
  guard(self, [](StreamParser& p) {
    p.fail(ParseErrorKind::RestrictedXml, "entity declarations are not allowed");
  });
}

void StreamParser::onProcessingInstruction(void* self, const char* /*target*/,
                                           const char* /*data*/) {
  guard(self, [](StreamParser& p) {
    p.fail(ParseErrorKind::RestrictedXml, "processing instructions are not allowed");
  });
}

void StreamParser::onComment(void* self, const char* /*data*/) {
  guard(self,
        [](StreamParser& p) { p.fail(ParseErrorKind::RestrictedXml, "comments are not allowed"); });
}

namespace {

// Collects the single stanza of a synthetic stream for parseElement().
class SingleElement final : public StreamHandler {
 public:
  void onStreamOpen(const Element& /*header*/) override {}
  void onStanza(std::unique_ptr<Element> stanza) override {
    ++count;
    if (!element) element = std::move(stanza);
  }
  void onStreamClose() override { closed = true; }

  std::unique_ptr<Element> element;
  size_t count = 0;
  bool closed = false;
};

}  // namespace

Result<Element, ParseError> parseElement(std::string_view xml, std::string_view default_xmlns) {
  std::string header = "<stream:stream xmlns='";
  header.append(escapeAttr(default_xmlns));
  header.append("' xmlns:stream='").append(ns::kStreams).append("'>");
  SingleElement collector;
  StreamParser parser(collector);
  if (auto opened = parser.feed(header); !opened) return Unexpected(std::move(opened.error()));
  if (auto parsed = parser.feed(xml); !parsed) return Unexpected(std::move(parsed.error()));
  if (collector.closed || collector.count > 1) {
    return Unexpected(ParseError{ParseErrorKind::BadFormat, "expected exactly one element"});
  }
  if (collector.count == 0) {
    return Unexpected(ParseError{ParseErrorKind::NotWellFormed, "no complete element"});
  }
  return std::move(*collector.element);
}

}  // namespace parley::xml
