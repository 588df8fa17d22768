/*
 * virtio-mmio transport (virtio 1.1, section 4.2.2, "version 2" register
 * layout) and split virtqueues (section 2.6), polled.
 */
#ifndef QEMU_VIRTIO_H
#define QEMU_VIRTIO_H

#include <stdint.h>

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_F_VERSION_1 (1ull << 32)

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

struct virtqueue {
	uintptr_t base; /* MMIO base of the device */
	uint16_t index;
	uint16_t size;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t last_used_idx;
};

/* One buffer of a descriptor chain; device_writes marks buffers the
 * device fills (VIRTQ_DESC_F_WRITE). */
struct virtq_buffer {
	void *addr;
	uint32_t len;
	int device_writes;
};

/* Returns the MMIO base of the first virtio-mmio device with device_id,
 * or 0 when there is none. Logs a hint for legacy (version 1) devices. */
uintptr_t virtio_mmio_find(uint32_t device_id);

/* Resets the device and negotiates features: accepts the offered subset
 * of wanted, fails (-1) when a feature in required is not offered.
 * *accepted receives the negotiated set. */
int virtio_mmio_negotiate(uintptr_t base, uint64_t wanted, uint64_t required,
			  uint64_t *accepted);

/* Sets up virtqueue index with up to size entries (memory from the
 * heap) and leaves it ready. Returns 0 or -1. */
int virtqueue_setup(struct virtqueue *vq, uintptr_t base, uint16_t index,
		    uint16_t size);

/* Sets DRIVER_OK after all queues are ready. */
void virtio_mmio_driver_ok(uintptr_t base);

/* Reads a little-endian 32/64-bit field of the device configuration. */
uint32_t virtio_mmio_config32(uintptr_t base, uint32_t offset);
uint64_t virtio_mmio_config64(uintptr_t base, uint32_t offset);

/*
 * Posts one descriptor chain, notifies the device and polls the used ring
 * until the device returns it. Returns 0 and the written length in
 * *used_len, or -1 on timeout or a malformed used entry.
 */
int virtqueue_exchange(struct virtqueue *vq, const struct virtq_buffer *bufs,
		       unsigned count, uint32_t timeout_ms,
		       uint32_t *used_len);

#endif /* QEMU_VIRTIO_H */
