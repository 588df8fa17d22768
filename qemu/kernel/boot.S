/*
 * PVH entry of the harness kernel: 32-bit protected mode to 64-bit long
 * mode, then kmain(start_info).
 *
 * The PVH boot ABI (Xen's hvm/start_info.h, used by QEMU's -kernel for ELF
 * images with a XEN_ELFNOTE_PHYS32_ENTRY note) enters in 32-bit protected
 * mode with flat CS/DS/ES/SS, paging off, interrupts off and EBX holding the
 * physical address of struct hvm_start_info. No stack and no usable GDT
 * are provided, so this code loads its own GDT and touches no stack until
 * long mode.
 */

#define BOOT_CS64	0x08
#define BOOT_DS		0x10
#define BOOT_CS32	0x18

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)

#define CR0_PE		(1 << 0)
#define CR0_MP		(1 << 1)
#define CR0_EM		(1 << 2)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define CR4_OSFXSR	(1 << 9)
#define CR4_OSXMMEXCPT	(1 << 10)
#define CR4_OSXSAVE	(1 << 18)

#define CPUID1_ECX_XSAVE 26
#define CPUID1_ECX_AVX	28
#define XCR0_X87_SSE	0x3
#define XCR0_X87_SSE_AVX 0x7

/* 2 MiB page-directory entry flags: present, writable, page size. */
#define PDE_LARGE	0x83
/* Cache-disable and write-through, for the MMIO window above 3 GiB. */
#define PDE_UNCACHED	0x18
#define PD_ENTRIES_4G	2048
#define PD_ENTRY_3G	1536

#define STACK_SIZE	(64 * 1024)
/* Pattern filled into the stack so kernel_stack_peak() can find the deepest use. */
#define STACK_FILL	0x5a5a5a5a5a5a5a5a

	.section .note.Xen, "a"
	.p2align 2
	.long 4				/* n_namesz: "Xen\0" */
	.long 8				/* n_descsz: QEMU reads a 64-bit address */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.quad pvh_start32

	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, %esi			/* kept in ESI until kmain */

	lgdt boot_gdt_desc
	movl $BOOT_DS, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	ljmp $BOOT_CS32, $1f
1:
	/* The loader may leave .bss uninitialised; page tables live there. */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb

	/* Identity map 0-4 GiB: PML4[0] -> PDPT[0..3] -> 4 page directories. */
	movl $boot_pdpt, %eax
	orl $3, %eax
	movl %eax, boot_pml4

	movl $boot_pd, %eax
	orl $3, %eax
	xorl %ecx, %ecx
2:
	movl %eax, boot_pdpt(, %ecx, 8)
	addl $4096, %eax
	incl %ecx
	cmpl $4, %ecx
	jne 2b

	xorl %ecx, %ecx
3:
	movl %ecx, %eax
	shll $21, %eax
	orl $PDE_LARGE, %eax
	cmpl $PD_ENTRY_3G, %ecx
	jb 4f
	orl $PDE_UNCACHED, %eax
4:
	movl %eax, boot_pd(, %ecx, 8)
	incl %ecx
	cmpl $PD_ENTRIES_4G, %ecx
	jne 3b

	/* Long mode: PAE, CR3, EFER.LME, then paging. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $BOOT_CS64, $long_mode_entry

	.code64
long_mode_entry:
	movl $BOOT_DS, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs

	/*
	 * SSE for the module's fast paths and for picolibc: no x87
	 * emulation, FXSAVE/FXRSTOR and unmasked SIMD exceptions enabled.
	 */
	movq %cr0, %rax
	andq $~CR0_EM, %rax
	orq $CR0_MP, %rax
	movq %rax, %cr0
	movq %cr4, %rax
	orq $(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
	movq %rax, %cr4

	/* XSAVE with XCR0 = x87|SSE, plus AVX state when the CPU has AVX. */
	movl $1, %eax
	cpuid
	btl $CPUID1_ECX_XSAVE, %ecx
	jnc 6f
	movl %ecx, %r8d
	movq %cr4, %rax
	orq $CR4_OSXSAVE, %rax
	movq %rax, %cr4
	movl $0xd, %eax
	xorl %ecx, %ecx
	cpuid				/* EAX: XCR0 bits the CPU supports */
	andl $XCR0_X87_SSE_AVX, %eax
	btl $CPUID1_ECX_AVX, %r8d
	jc 5f
	andl $XCR0_X87_SSE, %eax
5:
	xorl %edx, %edx
	xorl %ecx, %ecx
	xsetbv
6:
	fninit

	movabsq $STACK_FILL, %rax
	leaq boot_stack_bottom(%rip), %rdi
	movl $(STACK_SIZE / 8), %ecx
	rep stosq
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp

	movl %esi, %edi			/* zero-extends start_info */
	call kmain
7:
	cli
	hlt
	jmp 7b

	.section .data
	.p2align 3
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
	.quad 0x00cf9a000000ffff	/* 0x18: flat 32-bit code */
boot_gdt_end:

	/* Limit and a base that LGDT reads as 32 or 64 bits. */
	.p2align 3
boot_gdt_desc:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt
	.long 0

	.section .bss
	.p2align 12
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4 * 4096

	.p2align 12
	.globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
	.skip STACK_SIZE
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
