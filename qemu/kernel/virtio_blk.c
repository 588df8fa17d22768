/*
 * virtio-blk driver (virtio 1.1, section 5.2): one request at a time, each
 * a chain of header, data and status byte. Sectors are always 512 bytes
 * in the virtio-blk protocol, whatever the device's logical block size.
 */
#include "kernel.h"
#include "virtio.h"

#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)

#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u

#define VIRTIO_BLK_S_OK 0u

#define VIRTIO_BLK_CONFIG_CAPACITY 0x00

#define SECTOR_SIZE 512u
/* Largest transfer per request; larger reads and writes are split. */
#define MAX_SECTORS_PER_REQUEST 1024u
#define REQUEST_TIMEOUT_MS 10000u
#define QUEUE_SIZE 8u

struct virtio_blk_req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct virtio_blk {
	uintptr_t base;
	uint64_t features;
	uint64_t capacity; /* in 512-byte sectors */
	struct virtqueue queue;
	struct virtio_blk_req_header header;
	volatile uint8_t status;
};

static struct virtio_blk the_device;

struct virtio_blk *virtio_blk_probe(void)
{
	struct virtio_blk *blk = &the_device;
	uintptr_t base = virtio_mmio_find(VIRTIO_ID_BLOCK);

	if (base == 0)
		return NULL;
	blk->base = base;
	if (virtio_mmio_negotiate(base, VIRTIO_BLK_F_RO | VIRTIO_BLK_F_FLUSH,
				  VIRTIO_F_VERSION_1, &blk->features) != 0)
		return NULL;
	if (virtqueue_setup(&blk->queue, base, 0, QUEUE_SIZE) != 0) {
		kprintf("virtio-blk: queue 0 setup failed at 0x%lx\n",
			(unsigned long)base);
		return NULL;
	}
	virtio_mmio_driver_ok(base);
	blk->capacity = virtio_mmio_config64(base, VIRTIO_BLK_CONFIG_CAPACITY);
	return blk;
}

uint64_t virtio_blk_sectors(const struct virtio_blk *blk)
{
	return blk->capacity;
}

int virtio_blk_read_only(const struct virtio_blk *blk)
{
	return (blk->features & VIRTIO_BLK_F_RO) != 0;
}

/* Sends one request; data may be NULL for a flush. Returns 0 or -1. */
static int blk_request(struct virtio_blk *blk, uint32_t type, uint64_t sector,
		       void *data, uint32_t len)
{
	struct virtq_buffer bufs[3];
	unsigned count = 0;
	uint32_t used_len;

	blk->header.type = type;
	blk->header.reserved = 0;
	blk->header.sector = sector;
	blk->status = 0xff;

	bufs[count].addr = &blk->header;
	bufs[count].len = sizeof(blk->header);
	bufs[count].device_writes = 0;
	count++;
	if (data != NULL) {
		bufs[count].addr = data;
		bufs[count].len = len;
		bufs[count].device_writes = type == VIRTIO_BLK_T_IN;
		count++;
	}
	bufs[count].addr = (void *)&blk->status;
	bufs[count].len = 1;
	bufs[count].device_writes = 1;
	count++;

	if (virtqueue_exchange(&blk->queue, bufs, count, REQUEST_TIMEOUT_MS,
			       &used_len) != 0)
		return -1;
	if (blk->status != VIRTIO_BLK_S_OK) {
		kprintf("virtio-blk: request type %u at sector %llu failed "
			"with status %u\n", type, (unsigned long long)sector,
			blk->status);
		return -1;
	}
	return 0;
}

static int blk_transfer(struct virtio_blk *blk, uint32_t type,
			uint64_t sector, uint32_t count, uint8_t *buf)
{
	if (sector > blk->capacity || count > blk->capacity - sector) {
		kprintf("virtio-blk: sectors %llu+%u beyond the capacity %llu\n",
			(unsigned long long)sector, count,
			(unsigned long long)blk->capacity);
		return -1;
	}
	while (count > 0) {
		uint32_t n = count < MAX_SECTORS_PER_REQUEST
				     ? count
				     : MAX_SECTORS_PER_REQUEST;

		if (blk_request(blk, type, sector, buf, n * SECTOR_SIZE) != 0)
			return -1;
		sector += n;
		count -= n;
		buf += (size_t)n * SECTOR_SIZE;
	}
	return 0;
}

int virtio_blk_read(struct virtio_blk *blk, uint64_t sector, uint32_t count,
		    void *buf)
{
	return blk_transfer(blk, VIRTIO_BLK_T_IN, sector, count, buf);
}

int virtio_blk_write(struct virtio_blk *blk, uint64_t sector, uint32_t count,
		     const void *buf)
{
	if (virtio_blk_read_only(blk)) {
		kprintf("virtio-blk: write to sector %llu rejected: the device "
			"is read-only\n", (unsigned long long)sector);
		return -1;
	}
	/* The device only reads this buffer (no VIRTQ_DESC_F_WRITE). */
	return blk_transfer(blk, VIRTIO_BLK_T_OUT, sector, count,
			    (uint8_t *)(uintptr_t)buf);
}

/* Without VIRTIO_BLK_F_FLUSH the device writes through, so there is
 * nothing to flush. */
int virtio_blk_flush(struct virtio_blk *blk)
{
	if ((blk->features & VIRTIO_BLK_F_FLUSH) == 0)
		return 0;
	return blk_request(blk, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
}
