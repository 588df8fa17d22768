/*
 * CPU exception handling: an IDT whose 32 exception vectors lead to
 * trap_handler(), which prints the vector, error code and registers and
 * exits QEMU with KERNEL_EXIT_PANIC. Interrupts stay disabled, so no
 * other vector is ever taken.
 */
#include "kernel.h"

#define IDT_VECTORS 32
#define TRAP_STUB_SIZE 16
#define GATE_INTERRUPT_PRESENT 0x8e
#define KERNEL_CS 0x08

struct idt_entry {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct idt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Register frame built by trap_common in trap_entry.S, lowest address
 * first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

extern const char trap_stubs[];

static struct idt_entry idt[IDT_VECTORS];

static const char *const vector_names[IDT_VECTORS] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range", "#UD invalid opcode",
	"#NM device not available", "#DF double fault", "coprocessor overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 floating point", "#AC alignment check", "#MC machine check",
	"#XM SIMD floating point", "#VE virtualization", "#CP control protection",
	"reserved 22", "reserved 23", "reserved 24", "reserved 25",
	"reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

void trap_init(void)
{
	struct idt_pointer pointer;
	unsigned v;

	for (v = 0; v < IDT_VECTORS; v++) {
		uint64_t handler = (uintptr_t)trap_stubs + v * TRAP_STUB_SIZE;

		idt[v].offset_low = (uint16_t)handler;
		idt[v].selector = KERNEL_CS;
		idt[v].ist = 0;
		idt[v].type_attr = GATE_INTERRUPT_PRESENT;
		idt[v].offset_mid = (uint16_t)(handler >> 16);
		idt[v].offset_high = (uint32_t)(handler >> 32);
		idt[v].reserved = 0;
	}
	pointer.limit = sizeof(idt) - 1;
	pointer.base = (uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(pointer));
}

void trap_handler(struct trap_frame *f);

void trap_handler(struct trap_frame *f)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("\nPANIC: CPU exception %llu (%s), error code 0x%llx\n",
		(unsigned long long)f->vector,
		f->vector < IDT_VECTORS ? vector_names[f->vector] : "?",
		(unsigned long long)f->error_code);
	kprintf("  rip=%016llx rsp=%016llx rflags=%08llx cr2=%016llx\n",
		(unsigned long long)f->rip, (unsigned long long)f->rsp,
		(unsigned long long)f->rflags, (unsigned long long)cr2);
	kprintf("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx,
		(unsigned long long)f->rcx, (unsigned long long)f->rdx);
	kprintf("  rsi=%016llx rdi=%016llx rbp=%016llx r8=%016llx\n",
		(unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp, (unsigned long long)f->r8);
	kernel_exit(KERNEL_EXIT_PANIC);
}
