// Unit tests for ParserArena: expat's memory stays in the arena's blocks and leaves with them.
#include "xml/parser_arena.h"

#include <expat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "xml/stream_parser.h"

namespace parley::xml {
namespace {

struct NullHandler final : StreamHandler {
  void onStreamOpen(const Element&) override { ++opened; }
  void onStanza(std::unique_ptr<Element>) override { ++stanzas; }
  void onStreamClose() override {}
  int opened = 0, stanzas = 0;
};

const XML_Memory_Handling_Suite kSuite = {&ParserArena::allocate, &ParserArena::reallocate,
                                          &ParserArena::release};

struct ExpatFree {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

TEST_CASE("ParserArena: an expat parser lives in its arena and leaves nothing behind",
          "[xml][arena]") {
  ParserArena arena;
  {
    static constexpr XML_Char kSeparator[] = {'\x01', '\0'};
    std::unique_ptr<XML_ParserStruct, ExpatFree> parser;
    {
      ParserArena::Use use(arena);
      parser.reset(XML_ParserCreate_MM("UTF-8", &kSuite, kSeparator));
    }
    REQUIRE(parser);
    CHECK(arena.blocks() >= 1);
    std::string doc =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    for (int i = 0; i < 200; ++i) {
      doc += "<message to='u" + std::to_string(i) + "@localhost' id='m" + std::to_string(i) +
             "' type='chat'><body>hello \xF0\x9F\x98\x80</body><x xmlns='urn:x:" +
             std::to_string(i % 7) + "' a='1' b='2' c='3'/></message>";
    }
    {
      ParserArena::Use use(arena);
      REQUIRE(XML_Parse(parser.get(), doc.data(), static_cast<int>(doc.size()), XML_FALSE) ==
              XML_STATUS_OK);
    }
    // A start tag of 64 KiB, in pieces: expat buffers it whole, in a block of its own.
    std::string big = "<message a='" + std::string(64 * 1024, 'x') + "'/>";
    size_t before = arena.blockBytes();
    {
      ParserArena::Use use(arena);
      for (size_t at = 0; at < big.size(); at += 1000) {  // in pieces, as reads come
        std::string piece = big.substr(at, 1000);
        REQUIRE(XML_Parse(parser.get(), piece.data(), static_cast<int>(piece.size()), XML_FALSE) ==
                XML_STATUS_OK);
      }
    }
    CHECK(arena.blockBytes() > before + 64 * 1024);
  }  // XML_ParserFree: no arena needs to be current
  CHECK(arena.blocks() == 0);
  CHECK(arena.blockBytes() == 0);
}

TEST_CASE("ParserArena: a stream parser's arena empties when it hibernates", "[xml][arena]") {
  NullHandler handler;
  StreamParser parser(handler);
  std::string stream =
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
      "to='localhost' version='1.0'>";
  REQUIRE(parser.feed(stream));
  for (int i = 0; i < 200; ++i) {  // one read each, as a chatting client's arrive
    REQUIRE(parser.feed("<message to='u" + std::to_string(i) + "@localhost' id='m" +
                        std::to_string(i) + "' type='chat'><body>hello \xF0\x9F\x98\x80</body>" +
                        "<x xmlns='urn:x:" + std::to_string(i % 7) +
                        "' a='1' b='2' c='3'/></message>"));
  }
  CHECK(handler.stanzas == 200);
  CAPTURE(parser.memoryBytes());
  CHECK(parser.memoryBytes() > 0);
  if (!ParserArena::kBlockPerAllocation) {
    CHECK(parser.memoryBytes() <= 2 * ParserArena::kBlockSize);  // a chat stream's parser
  }
  REQUIRE(parser.hibernate());
  CHECK(parser.memoryBytes() == 0);
  REQUIRE(parser.feed("<presence id='after'/>"));  // revived in a fresh arena block
  CHECK(handler.stanzas == 201);
  CHECK(parser.memoryBytes() > 0);
}

TEST_CASE("ParserArena: the suite behaves as malloc, realloc and free", "[xml][arena]") {
  const XML_Memory_Handling_Suite* suite = &kSuite;
  // Under ASan every allocation is a block: the counts differ, the behaviour does not.
  const bool packed = !ParserArena::kBlockPerAllocation;
  auto blocks = [&](const ParserArena& arena, size_t packed_count, size_t allocations) {
    return arena.blocks() == (packed ? packed_count : allocations);
  };
  ParserArena outer, inner;
  ParserArena::Use use_outer(outer);
  auto* a = static_cast<char*>(suite->malloc_fcn(100));
  REQUIRE(a != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(a) % 16 == 0);
  std::memset(a, 'a', 100);
  {
    ParserArena::Use use_inner(inner);  // nested: restored afterwards
    void* b = suite->malloc_fcn(10);
    CHECK(blocks(inner, 1, 1));
    suite->free_fcn(b);
    CHECK(inner.blocks() == 0);
  }
  CHECK(blocks(outer, 1, 1));
  // Growing the last allocation of the block happens in place; its bytes stay.
  auto* grown = static_cast<char*>(suite->realloc_fcn(a, 300));
  CHECK((grown == a || !packed));
  CHECK(std::string(grown, 100) == std::string(100, 'a'));
  // Something after it: growing again moves it, bytes and all.
  void* after = suite->malloc_fcn(16);
  auto* moved = static_cast<char*>(suite->realloc_fcn(grown, 600));
  CHECK(moved != grown);
  CHECK(std::string(moved, 100) == std::string(100, 'a'));
  CHECK(blocks(outer, 1, 2));
  // A large request gets a block of its own, freed with it.
  void* large = suite->malloc_fcn(ParserArena::kLargeAllocation * 2);
  CHECK(blocks(outer, 2, 3));
  suite->free_fcn(large);
  CHECK(blocks(outer, 1, 2));
  suite->free_fcn(after);
  suite->free_fcn(moved);
  CHECK(outer.blocks() == 0);
  suite->free_fcn(nullptr);
  void* fresh = suite->realloc_fcn(nullptr, 0);  // realloc(NULL) is malloc
  CHECK(fresh != nullptr);
  CHECK(outer.blocks() == 1);
  suite->free_fcn(fresh);
  CHECK(outer.blocks() == 0);
}

TEST_CASE("ParserArena: with no arena current, allocations still work", "[xml][arena]") {
  const XML_Memory_Handling_Suite* suite = &kSuite;
  auto* p = static_cast<char*>(suite->malloc_fcn(40));
  REQUIRE(p != nullptr);
  std::memset(p, 'z', 40);
  auto* q = static_cast<char*>(suite->realloc_fcn(p, 4000));
  CHECK(std::string(q, 40) == std::string(40, 'z'));
  suite->free_fcn(q);
}

}  // namespace
}  // namespace parley::xml
