/*
 * Entry stubs for CPU exceptions 0-31. Each stub is 16 bytes long and
 * pushes a zero where the CPU pushes no error code, then the vector, so
 * trap_common always sees the same frame (struct trap_frame in kernel.h).
 * The handler reports and exits QEMU; it never returns.
 */

	.section .text
	.code64

	.p2align 4
	.globl trap_stubs
trap_stubs:
	.irp vec, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.p2align 4
	/* Vectors 8, 10-14, 17, 21, 29 and 30 push an error code. */
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	pushq $\vec
	.else
	pushq $0
	pushq $\vec
	.endif
	jmp trap_common
	.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call trap_handler
1:
	cli
	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
