/*
 * virtio-mmio transport: device discovery on QEMU's microvm machine,
 * feature negotiation and polled split virtqueues. Register offsets are
 * from virtio 1.1, section 4.2.2. Guest physical and virtual addresses are
 * equal (identity mapping), so buffers are handed to the device as is.
 */
#include <string.h>

#include "kernel.h"
#include "virtio.h"

/* QEMU 7.2 hw/i386/microvm.c: transports at 0xfeb00000, 512 bytes each;
 * up to 24 when the second IO-APIC is enabled. */
#define MICROVM_VIRTIO_MMIO_BASE 0xfeb00000u
#define MICROVM_VIRTIO_MMIO_STRIDE 0x200u
#define MICROVM_VIRTIO_MMIO_SLOTS 24u

#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */

#define STATUS_ACKNOWLEDGE 1u
#define STATUS_DRIVER 2u
#define STATUS_DRIVER_OK 4u
#define STATUS_FEATURES_OK 8u
#define STATUS_FAILED 128u

static uint32_t reg_read(uintptr_t base, uint32_t offset)
{
	return mmio_read32(base + offset);
}

static void reg_write(uintptr_t base, uint32_t offset, uint32_t value)
{
	mmio_write32(base + offset, value);
}

uintptr_t virtio_mmio_find(uint32_t device_id)
{
	uint32_t slot;

	for (slot = 0; slot < MICROVM_VIRTIO_MMIO_SLOTS; slot++) {
		uintptr_t base = MICROVM_VIRTIO_MMIO_BASE +
				 slot * MICROVM_VIRTIO_MMIO_STRIDE;
		uint32_t version;

		if (reg_read(base, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
		    reg_read(base, VIRTIO_MMIO_DEVICE_ID) != device_id)
			continue;
		version = reg_read(base, VIRTIO_MMIO_VERSION);
		if (version != 2) {
			kprintf("virtio: device %u at 0x%lx has transport version %u; "
				"this driver needs version 2 (start QEMU with "
				"-global virtio-mmio.force-legacy=false)\n",
				device_id, (unsigned long)base, version);
			continue;
		}
		return base;
	}
	return 0;
}

int virtio_mmio_negotiate(uintptr_t base, uint64_t wanted, uint64_t required,
			  uint64_t *accepted)
{
	uint64_t offered;

	reg_write(base, VIRTIO_MMIO_STATUS, 0);
	while (reg_read(base, VIRTIO_MMIO_STATUS) != 0)
		cpu_relax();
	reg_write(base, VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE);
	reg_write(base, VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);

	reg_write(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = reg_read(base, VIRTIO_MMIO_DEVICE_FEATURES);
	reg_write(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)reg_read(base, VIRTIO_MMIO_DEVICE_FEATURES) << 32;

	if ((offered & required) != required) {
		kprintf("virtio: device at 0x%lx lacks required features "
			"0x%llx (offered 0x%llx)\n", (unsigned long)base,
			(unsigned long long)(required & ~offered),
			(unsigned long long)offered);
		reg_write(base, VIRTIO_MMIO_STATUS, STATUS_FAILED);
		return -1;
	}
	*accepted = offered & (wanted | required);

	reg_write(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)*accepted);
	reg_write(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(base, VIRTIO_MMIO_DRIVER_FEATURES,
		  (uint32_t)(*accepted >> 32));
	reg_write(base, VIRTIO_MMIO_STATUS,
		  STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
	if ((reg_read(base, VIRTIO_MMIO_STATUS) & STATUS_FEATURES_OK) == 0) {
		kprintf("virtio: device at 0x%lx rejected features 0x%llx\n",
			(unsigned long)base, (unsigned long long)*accepted);
		reg_write(base, VIRTIO_MMIO_STATUS, STATUS_FAILED);
		return -1;
	}
	return 0;
}

int virtqueue_setup(struct virtqueue *vq, uintptr_t base, uint16_t index,
		    uint16_t size)
{
	uint32_t max;
	size_t desc_bytes, avail_bytes, used_bytes;

	reg_write(base, VIRTIO_MMIO_QUEUE_SEL, index);
	if (reg_read(base, VIRTIO_MMIO_QUEUE_READY) != 0)
		return -1;
	max = reg_read(base, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0)
		return -1;
	if (size > max)
		size = (uint16_t)max;

	/* Alignments from virtio 1.1, 2.6: 16, 2 and 4 bytes; one page
	 * each keeps them apart and simple. */
	desc_bytes = sizeof(struct virtq_desc) * size;
	avail_bytes = sizeof(struct virtq_avail) + 2u * size + 2u;
	used_bytes = sizeof(struct virtq_used) +
		     sizeof(struct virtq_used_elem) * size + 2u;
	vq->desc = heap_alloc(desc_bytes, KERNEL_PAGE_SIZE);
	vq->avail = heap_alloc(avail_bytes, KERNEL_PAGE_SIZE);
	vq->used = heap_alloc(used_bytes, KERNEL_PAGE_SIZE);
	if (vq->desc == NULL || vq->avail == NULL || vq->used == NULL)
		return -1;
	memset(vq->desc, 0, desc_bytes);
	memset(vq->avail, 0, avail_bytes);
	memset(vq->used, 0, used_bytes);
	vq->base = base;
	vq->index = index;
	vq->size = size;
	vq->last_used_idx = 0;

	reg_write(base, VIRTIO_MMIO_QUEUE_NUM, size);
	reg_write(base, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)vq->desc);
	reg_write(base, VIRTIO_MMIO_QUEUE_DESC_HIGH,
		  (uint32_t)((uint64_t)(uintptr_t)vq->desc >> 32));
	reg_write(base, VIRTIO_MMIO_QUEUE_DRIVER_LOW,
		  (uint32_t)(uintptr_t)vq->avail);
	reg_write(base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
		  (uint32_t)((uint64_t)(uintptr_t)vq->avail >> 32));
	reg_write(base, VIRTIO_MMIO_QUEUE_DEVICE_LOW,
		  (uint32_t)(uintptr_t)vq->used);
	reg_write(base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
		  (uint32_t)((uint64_t)(uintptr_t)vq->used >> 32));
	reg_write(base, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

void virtio_mmio_driver_ok(uintptr_t base)
{
	reg_write(base, VIRTIO_MMIO_STATUS,
		  STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK |
			  STATUS_DRIVER_OK);
}

uint32_t virtio_mmio_config32(uintptr_t base, uint32_t offset)
{
	return reg_read(base, VIRTIO_MMIO_CONFIG + offset);
}

uint64_t virtio_mmio_config64(uintptr_t base, uint32_t offset)
{
	uint32_t lo, hi;

	/* Two 32-bit reads; QEMU's configuration does not change here. */
	lo = virtio_mmio_config32(base, offset);
	hi = virtio_mmio_config32(base, offset + 4);
	return ((uint64_t)hi << 32) | lo;
}

int virtqueue_exchange(struct virtqueue *vq, const struct virtq_buffer *bufs,
		       unsigned count, uint32_t timeout_ms,
		       uint32_t *used_len)
{
	volatile struct virtq_used *used = vq->used;
	uint64_t deadline;
	struct virtq_used_elem elem;
	unsigned i;

	if (count == 0 || count > vq->size)
		return -1;

	/* Only one chain is in flight, so it always starts at descriptor 0. */
	for (i = 0; i < count; i++) {
		vq->desc[i].addr = (uint64_t)(uintptr_t)bufs[i].addr;
		vq->desc[i].len = bufs[i].len;
		vq->desc[i].flags =
			(uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
				   (i + 1 < count ? VIRTQ_DESC_F_NEXT : 0));
		vq->desc[i].next = (uint16_t)(i + 1 < count ? i + 1 : 0);
	}
	vq->avail->ring[vq->avail->idx % vq->size] = 0;
	memory_barrier();
	vq->avail->idx++;
	memory_barrier();
	reg_write(vq->base, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);

	deadline = timer_now_ms() + timeout_ms;
	while (used->idx == vq->last_used_idx) {
		if (timer_now_ms() > deadline) {
			kprintf("virtio: queue %u at 0x%lx timed out after %u ms\n",
				vq->index, (unsigned long)vq->base, timeout_ms);
			return -1;
		}
		cpu_relax();
	}
	memory_barrier();
	elem.id = used->ring[vq->last_used_idx % vq->size].id;
	elem.len = used->ring[vq->last_used_idx % vq->size].len;
	vq->last_used_idx++;

	/* Acknowledge, although the kernel runs with interrupts off. */
	reg_write(vq->base, VIRTIO_MMIO_INTERRUPT_ACK,
		  reg_read(vq->base, VIRTIO_MMIO_INTERRUPT_STATUS));

	if (elem.id != 0) {
		kprintf("virtio: queue %u returned descriptor %u, expected 0\n",
			vq->index, elem.id);
		return -1;
	}
	*used_len = elem.len;
	return 0;
}
