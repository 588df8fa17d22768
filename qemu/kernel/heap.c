/*
 * First-fit heap over one contiguous RAM range. Blocks are laid end to end.
 * Each starts with a 32-byte header that records its size and the size of
 * the block before it, so free() coalesces with both neighbours in O(1).
 * Headers carry a magic value, so free() of a pointer that this heap did
 * not return stops the kernel instead of corrupting the heap.
 */
#include <string.h>

#include "kernel.h"

#define HEAP_MAGIC_USED 0x444553555f504148ull /* "HAP_USED" */
#define HEAP_MAGIC_FREE 0x454552465f504148ull /* "HAP_FREE" */
#define HEADER_SIZE 32u
#define MIN_BLOCK 64u
#define MAX_ALIGN 4096u

struct block_header {
	uint64_t magic;
	uint64_t size;      /* whole block, header included */
	uint64_t prev_size; /* 0 for the first block */
	uint64_t requested; /* bytes the caller asked for; 0 when free */
};

static uintptr_t heap_start;
static uintptr_t heap_end;
static size_t bytes_in_use; /* sum of requested sizes */
static size_t bytes_peak;

static uintptr_t align_up(uintptr_t value, uintptr_t align)
{
	return (value + align - 1) & ~(align - 1);
}

static struct block_header *next_block(struct block_header *b)
{
	uintptr_t next = (uintptr_t)b + b->size;

	return next < heap_end ? (struct block_header *)next : NULL;
}

static void set_block(uintptr_t at, uint64_t size, uint64_t prev_size,
		      uint64_t magic)
{
	struct block_header *b = (struct block_header *)at;
	struct block_header *next;

	b->magic = magic;
	b->size = size;
	b->prev_size = prev_size;
	b->requested = 0;
	next = next_block(b);
	if (next != NULL)
		next->prev_size = size;
}

void heap_init(uintptr_t start, uintptr_t end)
{
	heap_start = align_up(start, HEADER_SIZE);
	heap_end = end & ~(uintptr_t)(HEADER_SIZE - 1);
	bytes_in_use = 0;
	bytes_peak = 0;
	set_block(heap_start, heap_end - heap_start, 0, HEAP_MAGIC_FREE);
}

/* Splits free block b so that a block starts at user - HEADER_SIZE;
 * returns that block. The caller checked that the gap is >= MIN_BLOCK. */
static struct block_header *split_front(struct block_header *b,
					uintptr_t user)
{
	uintptr_t at = user - HEADER_SIZE;
	uint64_t lead = at - (uintptr_t)b;
	uint64_t rest = b->size - lead;

	set_block((uintptr_t)b, lead, b->prev_size, HEAP_MAGIC_FREE);
	set_block(at, rest, lead, HEAP_MAGIC_FREE);
	return (struct block_header *)at;
}

void *heap_alloc(size_t size, size_t align)
{
	uint64_t need;
	struct block_header *b;

	if (size == 0)
		size = 1;
	if (align < HEADER_SIZE)
		align = HEADER_SIZE;
	if (align > MAX_ALIGN || (align & (align - 1)) != 0 ||
	    size > heap_end - heap_start)
		return NULL;
	need = align_up(size, HEADER_SIZE) + HEADER_SIZE;

	for (b = (struct block_header *)heap_start; b != NULL;
	     b = next_block(b)) {
		uintptr_t user;
		uint64_t lead;

		if (b->magic != HEAP_MAGIC_FREE)
			continue;
		user = align_up((uintptr_t)b + HEADER_SIZE, align);
		lead = user - HEADER_SIZE - (uintptr_t)b;
		if (lead != 0 && lead < MIN_BLOCK) {
			/* Too small for a free block of its own. */
			lead += align;
			user += align;
		}
		if (b->size < lead + need)
			continue;

		if (lead != 0)
			b = split_front(b, user);
		if (b->size - need >= MIN_BLOCK) {
			uint64_t rest = b->size - need;

			set_block((uintptr_t)b + need, rest, need,
				  HEAP_MAGIC_FREE);
			b->size = need;
		}
		b->magic = HEAP_MAGIC_USED;
		b->requested = size;

		bytes_in_use += size;
		if (bytes_in_use > bytes_peak)
			bytes_peak = bytes_in_use;
		return (void *)user;
	}
	return NULL;
}

void heap_free(void *ptr)
{
	struct block_header *b, *next;
	uintptr_t at;

	if (ptr == NULL)
		return;
	at = (uintptr_t)ptr - HEADER_SIZE;
	b = (struct block_header *)at;
	if ((uintptr_t)ptr < heap_start + HEADER_SIZE ||
	    (uintptr_t)ptr >= heap_end || (at & (HEADER_SIZE - 1)) != 0 ||
	    b->magic != HEAP_MAGIC_USED)
		kernel_panic("heap: free of %p, which is not an allocated block\n",
			     ptr);

	bytes_in_use -= b->requested;
	b->magic = HEAP_MAGIC_FREE;
	b->requested = 0;

	next = next_block(b);
	if (next != NULL && next->magic == HEAP_MAGIC_FREE)
		set_block(at, b->size + next->size, b->prev_size,
			  HEAP_MAGIC_FREE);
	if (b->prev_size != 0) {
		struct block_header *prev =
			(struct block_header *)(at - b->prev_size);

		if (prev->magic == HEAP_MAGIC_FREE)
			set_block((uintptr_t)prev, prev->size + b->size,
				  prev->prev_size, HEAP_MAGIC_FREE);
	}
}

size_t heap_in_use(void)
{
	return bytes_in_use;
}

size_t heap_peak(void)
{
	return bytes_peak;
}

size_t heap_size(void)
{
	return heap_end - heap_start;
}

void heap_reset_peak(void)
{
	bytes_peak = bytes_in_use;
}
