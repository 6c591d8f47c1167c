// Expat's memory for one stream parser, carved from blocks of its own: when a quiet session
// frees its parser, whole pages come free (for malloc_trim) instead of ~65 holes among other
// sessions' long-lived objects.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define PARLEY_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PARLEY_ARENA_ASAN 1
#endif
#endif

namespace parley::xml {

// allocate, reallocate and release are an XML_Memory_Handling_Suite for XML_ParserCreate_MM
// (this header leaves <expat.h> out, as stream_parser.h does). The suite has no context
// argument, so allocation goes to the arena a Use made current on this thread (nesting
// restores the previous one); realloc and free find the arena from the allocation's header,
// so expat may free anywhere. An allocation made with no
// arena current gets a block of its own. All of a parser's memory must be freed
// (XML_ParserFree) before its arena is destroyed.
class ParserArena {
 public:
  static constexpr size_t kBlockSize = 12 * 1024;  // one parser's usual needs, headers included
  // Larger requests get a block of their own (expat's input buffer for a big stanza).
  static constexpr size_t kLargeAllocation = kBlockSize / 4;
  // Under AddressSanitizer every allocation gets a block of its own, so that an overflow in
  // expat still runs into the end of a malloc'd object.
#ifdef PARLEY_ARENA_ASAN
  static constexpr bool kBlockPerAllocation = true;
#else
  static constexpr bool kBlockPerAllocation = false;
#endif

  ParserArena() = default;
  ~ParserArena();
  ParserArena(const ParserArena&) = delete;
  ParserArena& operator=(const ParserArena&) = delete;

  static void* allocate(size_t size);
  static void* reallocate(void* ptr, size_t size);
  static void release(void* ptr);

  class Use {
   public:
    explicit Use(ParserArena& arena);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    ParserArena* previous_;
  };

  size_t blockBytes() const { return block_bytes_; }  // what the arena holds from malloc
  size_t blocks() const { return blocks_; }

 private:
  struct Block;
  struct Header;

  static void* allocateIn(ParserArena* arena, size_t size);
  static Block* newBlock(ParserArena* arena, size_t capacity);
  static void freeBlock(Block* block);

  Block* carving_ = nullptr;  // the block small allocations are carved from
  size_t block_bytes_ = 0;
  size_t blocks_ = 0;
};

}  // namespace parley::xml
