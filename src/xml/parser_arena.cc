// ParserArena: blocks of expat allocations, each freed once the last allocation in it is.
#include "xml/parser_arena.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "util/log.h"

namespace parley::xml {

// A block's allocations follow its header, each behind a Header; sizes are kept in multiples
// of 16 so every allocation is aligned as malloc's are.
struct alignas(16) ParserArena::Block {
  ParserArena* arena;  // null: made with no arena current
  size_t capacity;     // bytes after this header
  size_t used;
  size_t live;  // allocations not yet freed
};

struct alignas(16) ParserArena::Header {
  Block* block;
  size_t size;  // what the allocation may hold
};

namespace {

constexpr size_t kAlign = 16;

constexpr size_t roundUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

// Touched only in this file: as a thread_local class member used by inline code elsewhere it
// went through a TLS wrapper function that UBSan reported as returning null.
thread_local ParserArena* current_arena = nullptr;

}  // namespace

ParserArena::Use::Use(ParserArena& arena) : previous_(current_arena) { current_arena = &arena; }

ParserArena::Use::~Use() { current_arena = previous_; }

ParserArena::~ParserArena() {
  // Blocks free themselves with their last allocation: one left means the parser outlived us.
  PARLEY_ASSERT(blocks_ == 0);
}

ParserArena::Block* ParserArena::newBlock(ParserArena* arena, size_t capacity) {
  void* memory = std::malloc(sizeof(Block) + capacity);
  if (memory == nullptr) return nullptr;
  auto* block = new (memory) Block{arena, capacity, 0, 0};
  if (arena != nullptr) {
    arena->block_bytes_ += sizeof(Block) + capacity;
    ++arena->blocks_;
  }
  return block;
}

void ParserArena::freeBlock(Block* block) {
  if (ParserArena* arena = block->arena) {
    arena->block_bytes_ -= sizeof(Block) + block->capacity;
    --arena->blocks_;
    if (arena->carving_ == block) arena->carving_ = nullptr;
  }
  std::free(block);
}

void* ParserArena::allocate(size_t size) { return allocateIn(current_arena, size); }

void* ParserArena::allocateIn(ParserArena* arena, size_t size) {
  size_t need = sizeof(Header) + roundUp(size == 0 ? 1 : size);
  if (need < size) return nullptr;  // overflow
  Block* block = nullptr;
  if (kBlockPerAllocation || arena == nullptr || need > kLargeAllocation) {
    block = newBlock(arena, need);
  } else {
    block = arena->carving_;
    if (block == nullptr || block->capacity - block->used < need) {
      // The old block stays until its last allocation is freed.
      block = newBlock(arena, kBlockSize - sizeof(Block));
      if (block != nullptr) arena->carving_ = block;
    }
  }
  if (block == nullptr) return nullptr;
  auto* header = reinterpret_cast<Header*>(reinterpret_cast<char*>(block + 1) + block->used);
  header->block = block;
  header->size = need - sizeof(Header);
  block->used += need;
  ++block->live;
  return header + 1;
}

void* ParserArena::reallocate(void* ptr, size_t size) {
  if (ptr == nullptr) return allocate(size);
  auto* header = static_cast<Header*>(ptr) - 1;
  if (size <= header->size) return ptr;
  Block* block = header->block;
  // The last allocation of the block being carved grows in place when there is room.
  auto* end = reinterpret_cast<char*>(block + 1) + block->used;
  size_t grow = roundUp(size) - header->size;
  if (block->arena != nullptr && block == block->arena->carving_ &&
      reinterpret_cast<char*>(ptr) + header->size == end && block->capacity - block->used >= grow &&
      sizeof(Header) + roundUp(size) <= kLargeAllocation) {
    block->used += grow;
    header->size += grow;
    return ptr;
  }
  void* moved = allocateIn(block->arena, size);
  if (moved == nullptr) return nullptr;  // expat keeps the old one, as with realloc
  std::memcpy(moved, ptr, header->size);
  release(ptr);
  return moved;
}

void ParserArena::release(void* ptr) {
  if (ptr == nullptr) return;
  Block* block = (static_cast<Header*>(ptr) - 1)->block;
  if (--block->live == 0) freeBlock(block);
}

}  // namespace parley::xml
