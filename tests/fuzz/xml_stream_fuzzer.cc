// libFuzzer target for the XML stream parser: arbitrary bytes, split arbitrarily, must never
// crash, and every stanza it yields must serialize to XML that parses back to itself.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace {

using parley::xml::Element;

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
  std::abort();
}

// Restarts the stream after <auth/> or <proceed/> and stops at <stop/>, as a session would,
// and checks each stanza's serialize -> parse round trip.
class Checker final : public parley::xml::StreamHandler {
 public:
  explicit Checker(parley::xml::StreamParser*& parser) : parser_(parser) {}

  void onStreamOpen(const Element& header) override {
    stream_xmlns_ = std::string(header.attr("xmlns"));
  }

  void onStanza(std::unique_ptr<Element> stanza) override {
    const std::string xml = parley::xml::toString(*stanza, stream_xmlns_);
    auto reparsed = parley::xml::parseElement(xml, stream_xmlns_);
    if (!reparsed) die("serialized stanza does not parse", xml + " -> " + reparsed.error().message);
    const std::string again = parley::xml::toString(*reparsed, stream_xmlns_);
    if (again != xml) die("round trip changed the stanza", xml + " -> " + again);
    Element copy(*stanza);
    if (parley::xml::toString(copy, stream_xmlns_) != xml) die("copy differs", xml);

    if (stanza->name() == "auth" || stanza->name() == "proceed") parser_->requestReset();
    if (stanza->name() == "stop") parser_->stop();
  }

  void onStreamClose() override {}

 private:
  parley::xml::StreamParser*& parser_;
  std::string stream_xmlns_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte chooses how the rest is split into reads: a small xorshift sequence.
  uint32_t state = 0x9E3779B9u ^ data[0];
  const size_t max_piece = (data[0] & 0x0F) == 0 ? size : (data[0] & 0x0F) * 4u;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  parley::xml::Limits limits;
  limits.max_stanza_bytes = 2048;  // small, so the fuzzer reaches the limits
  limits.max_depth = 8;
  parley::xml::StreamParser* parser_ptr = nullptr;
  Checker checker(parser_ptr);
  parley::xml::StreamParser parser(checker, limits);
  parser_ptr = &parser;

  while (!input.empty()) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    const size_t piece = std::min<size_t>(input.size(), 1 + state % max_piece);
    auto fed = parser.feed(input.substr(0, piece));
    input.remove_prefix(piece);
    // An idle session's parser sleeps between reads now and then; waking must change nothing.
    if (fed && (state & 0x30) == 0) parser.hibernate();
    if (!fed) {
      if (fed.error().message.empty()) die("error without a message", "");
      if (parser.feed("<x/>")) die("failure was not sticky", "");
      parser.reset();  // the rest of the input is a fresh stream
    }
  }
  return 0;
}
