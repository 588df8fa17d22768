/*
 * Bulk loop of the VAES AES-GCM tier: 16 blocks (8 ymm registers, two
 * blocks each) per iteration, VAES + VPCLMULQDQ + AVX2, no AVX-512 and no
 * EVEX encoding. Written in assembly so that all live values fit the 16
 * ymm registers and nothing is stored to the stack. The C contract is in
 * vaes_gcm_groups.h.
 *
 * Per iteration, the 14 (or 10, 12) AES rounds of 16 counter blocks are
 * interleaved with the GHASH of 16 ciphertext blocks: the current ones
 * when decrypting, the previous iteration's when encrypting. Block i of
 * the 16 is multiplied by H^(16 - i) with Karatsuba (3 carry-less
 * multiplies per block, the H-side middle terms come from the key table),
 * and the 16 unreduced products are reduced once. The field arithmetic
 * and the table layout are those of ghash_x86.h and aes_x86.h.
 *
 * Registers in the loops:
 *   ymm0-ymm7    AES states, blocks 2v and 2v + 1 in ymm v
 *   ymm8         counter blocks 0 and 1 of the next group, in memory order
 *   ymm9         round key broadcast to both lanes, in GHASH steps the
 *                packed data-side Karatsuba terms
 *   ymm10-ymm12  unreduced GHASH sums LO, MID, HI (two lanes each)
 *   ymm13-ymm14  two vectors of ciphertext being hashed
 *   ymm15        GHASH accumulator (low lane) between groups, else scratch
 *
 * General-purpose registers (System V arguments):
 *   rdi round keys, esi rounds, rdx powers of H, rcx in, r8 out,
 *   r9 number of groups, rax state, r10 last round key, r11d counter of
 *   the next block.
 *
 * The functions leave key-dependent values in vector registers, which the
 * caller (tb_vaes_gcm_crypt) clears with VZEROALL.
 */

	.section .rodata
	.balign 32
/* PSHUFB mask that reverses the 16 bytes of each lane. */
.Lbswap_mask:
	.byte 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0
	.byte 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0

/* Counter increments for byte-reversed counters: entry v adds 2v to both
 * lanes, so ymm v gets the counters of blocks 2v and 2v + 1. Entry 8
 * advances by one group. */
.Lcounter_steps:
	.irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8
	.long 2 * \v, 0, 0, 0, 2 * \v, 0, 0, 0
	.endr

/* The same increments for counter blocks in memory order. They add to the
 * last byte of each lane, the low byte of the big-endian 32-bit counter,
 * so they are exact only while that byte does not overflow. */
.Lcounter_steps_be:
	.irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8
	.long 0, 0, 0, (2 * \v) << 24, 0, 0, 0, (2 * \v) << 24
	.endr

/* y^57 + y^62 + y^63, the reduction constant of ghash_x86.h, in the low
 * word of both lanes. */
.Lfold_constant:
	.quad 0xc200000000000000, 0, 0xc200000000000000, 0

	.text

/*
 * Writes the counter blocks of one group XORed with round key 0 to
 * ymm0-ymm7 and advances the counters by 16. ymm8 contains the counter
 * blocks in memory order and r11d the 32-bit counter c of block 0. When
 * the low byte of c is at most 238, the counters c to c + 17 (block 1 of
 * the next group) differ in that byte only, so adding to the last byte of
 * each lane is exact. Otherwise (one group in 16, because c starts at 2
 * and steps by 16) the counters are byte-reversed, incremented as 32-bit
 * integers and reversed back. The branch depends on the block position
 * only, never on key or data.
 */
.macro COUNTER_BLOCKS
	vbroadcasti128	(%rdi), %ymm9
	cmpb		$238, %r11b
	ja		.Lcarry\@
	vpxor		%ymm9, %ymm8, %ymm0
	.irp v, 1, 2, 3, 4, 5, 6, 7
	vpaddd		.Lcounter_steps_be + 32 * \v(%rip), %ymm8, %ymm\v
	vpxor		%ymm9, %ymm\v, %ymm\v
	.endr
	vpaddd		.Lcounter_steps_be + 32 * 8(%rip), %ymm8, %ymm8
.Lcounters_done\@:

	/* The carry case sits out of line, after the functions. */
	.subsection 1
.Lcarry\@:
	vpshufb		.Lbswap_mask(%rip), %ymm8, %ymm8
	vpshufb		.Lbswap_mask(%rip), %ymm8, %ymm0
	vpxor		%ymm9, %ymm0, %ymm0
	.irp v, 1, 2, 3, 4, 5, 6, 7
	vpaddd		.Lcounter_steps + 32 * \v(%rip), %ymm8, %ymm\v
	vpshufb		.Lbswap_mask(%rip), %ymm\v, %ymm\v
	vpxor		%ymm9, %ymm\v, %ymm\v
	.endr
	vpaddd		.Lcounter_steps + 32 * 8(%rip), %ymm8, %ymm8
	vpshufb		.Lbswap_mask(%rip), %ymm8, %ymm8
	jmp		.Lcounters_done\@
	.subsection 0

	addl		$16, %r11d
.endm

/* One AES round on ymm0-ymm7 with the round key at offset off. */
.macro AES_ROUND off
	vbroadcasti128	\off(%rdi), %ymm9
	.irp v, 0, 1, 2, 3, 4, 5, 6, 7
	vaesenc		%ymm9, %ymm\v, %ymm\v
	.endr
.endm

/* Rounds 10 to rounds - 1, which only AES-192 and AES-256 have. */
.macro AES_ROUNDS_ABOVE_9
	cmpl		$10, %esi
	je		.Lrounds_done\@
	AES_ROUND	16*10
	AES_ROUND	16*11
	cmpl		$12, %esi
	je		.Lrounds_done\@
	AES_ROUND	16*12
	AES_ROUND	16*13
.Lrounds_done\@:
.endm

/* Last round with the data XOR folded into the round key
 * (AESENCLAST(s, k ^ d) = AESENCLAST(s, k) ^ d), then store the group. */
.macro LAST_ROUND_AND_STORE
	vbroadcasti128	(%r10), %ymm9
	.irp v, 0, 1, 2, 3, 4, 5, 6, 7
	vpxor		32 * \v(%rcx), %ymm9, %ymm13
	vaesenclast	%ymm13, %ymm\v, %ymm\v
	vmovdqu		%ymm\v, 32 * \v(%r8)
	.endr
.endm

/*
 * Hashes the ciphertext blocks 4m to 4m + 3 at off + 64 * m(base), two per
 * ymm: block i is multiplied by H^(16 - i) (table bytes 64m to 64m + 63)
 * and the Karatsuba products are added to LO, MID and HI. For the middle
 * products the low-high XORs of both data vectors are packed into one
 * ymm (ymm9), whose low words match the H-side middle terms of pair 2m
 * and high words those of pair 2m + 1 in the table ymm at 256 + 32m.
 * Step 0 adds the accumulator to block 0 and starts the sums.
 */
.macro GHASH_STEP m, base, off
	vmovdqu		\off + 64 * \m(\base), %ymm13
	vpshufb		.Lbswap_mask(%rip), %ymm13, %ymm13
	vmovdqu		\off + 64 * \m + 32(\base), %ymm14
	vpshufb		.Lbswap_mask(%rip), %ymm14, %ymm14
.if \m == 0
	vpxor		%ymm15, %ymm13, %ymm13
	vpclmulqdq	$0x00, (%rdx), %ymm13, %ymm10
	vpclmulqdq	$0x11, (%rdx), %ymm13, %ymm12
.else
	vpclmulqdq	$0x00, 64 * \m(%rdx), %ymm13, %ymm15
	vpxor		%ymm15, %ymm10, %ymm10
	vpclmulqdq	$0x11, 64 * \m(%rdx), %ymm13, %ymm15
	vpxor		%ymm15, %ymm12, %ymm12
.endif
	vpclmulqdq	$0x00, 64 * \m + 32(%rdx), %ymm14, %ymm15
	vpxor		%ymm15, %ymm10, %ymm10
	vpclmulqdq	$0x11, 64 * \m + 32(%rdx), %ymm14, %ymm15
	vpxor		%ymm15, %ymm12, %ymm12

	vpunpcklqdq	%ymm14, %ymm13, %ymm9
	vpunpckhqdq	%ymm14, %ymm13, %ymm13
	vpxor		%ymm13, %ymm9, %ymm9
.if \m == 0
	vpclmulqdq	$0x00, 256(%rdx), %ymm9, %ymm11
.else
	vpclmulqdq	$0x00, 256 + 32 * \m(%rdx), %ymm9, %ymm15
	vpxor		%ymm15, %ymm11, %ymm11
.endif
	vpclmulqdq	$0x11, 256 + 32 * \m(%rdx), %ymm9, %ymm15
	vpxor		%ymm15, %ymm11, %ymm11
.endm

/* Removes LO and HI from the Karatsuba middle sum, reduces both lanes
 * with two folds by the constant (as tb_ghash_reduce) and adds the lanes
 * into the new accumulator in xmm15 (upper lane zeroed). The reduction is
 * linear, so reducing the lanes apart and adding them is exact. */
.macro GHASH_REDUCE
	vpxor		%ymm10, %ymm11, %ymm11
	vpxor		%ymm12, %ymm11, %ymm11

	vpclmulqdq	$0x00, .Lfold_constant(%rip), %ymm10, %ymm13
	vpshufd		$0x4e, %ymm10, %ymm10
	vpxor		%ymm10, %ymm11, %ymm11
	vpxor		%ymm13, %ymm11, %ymm11
	vpclmulqdq	$0x00, .Lfold_constant(%rip), %ymm11, %ymm13
	vpshufd		$0x4e, %ymm11, %ymm11
	vpxor		%ymm11, %ymm12, %ymm12
	vpxor		%ymm13, %ymm12, %ymm12

	vextracti128	$1, %ymm12, %xmm13
	vpxor		%xmm13, %xmm12, %xmm15
.endm

/* One group: counter blocks, AES rounds with the GHASH of the group at
 * off(base) stitched into rounds 1-8, last round, store. */
.macro STITCHED_GROUP base, off
	COUNTER_BLOCKS
	AES_ROUND	16*1
	GHASH_STEP	0, \base, \off
	AES_ROUND	16*2
	AES_ROUND	16*3
	GHASH_STEP	1, \base, \off
	AES_ROUND	16*4
	AES_ROUND	16*5
	GHASH_STEP	2, \base, \off
	AES_ROUND	16*6
	AES_ROUND	16*7
	GHASH_STEP	3, \base, \off
	AES_ROUND	16*8
	GHASH_REDUCE
	AES_ROUND	16*9
	AES_ROUNDS_ABOVE_9
	LAST_ROUND_AND_STORE
.endm

/* Loads the state (byte-reversed counters at 0(rax), accumulator at
 * 32(rax)), puts the counter blocks in memory order into ymm8 and the
 * counter of block 0 into r11d, and points r10 at the last round key. */
.macro LOAD_STATE
	movq		8(%rsp), %rax
	vmovdqu		(%rax), %ymm8
	vpshufb		.Lbswap_mask(%rip), %ymm8, %ymm8
	movl		(%rax), %r11d
	vmovdqu		32(%rax), %xmm15
	movl		%esi, %r10d
	shlq		$4, %r10
	addq		%rdi, %r10
.endm

.macro STORE_STATE
	vpshufb		.Lbswap_mask(%rip), %ymm8, %ymm8
	vmovdqu		%ymm8, (%rax)
	vmovdqu		%xmm15, 32(%rax)
.endm

/*
 * void tb_vaes_gcm_encrypt_groups(const uint8_t *round_keys, uint32_t rounds,
 *				   const uint8_t *h_powers, const uint8_t *in,
 *				   uint8_t *out, size_t groups,
 *				   struct tb_vaes_gcm_state *state);
 *
 * The first group is encrypted alone, each later one with the GHASH of the
 * group before it, and the last group is hashed after the loop.
 */
	.globl	tb_vaes_gcm_encrypt_groups
	.hidden	tb_vaes_gcm_encrypt_groups
	.type	tb_vaes_gcm_encrypt_groups, @function
	.balign	64
tb_vaes_gcm_encrypt_groups:
	LOAD_STATE

	COUNTER_BLOCKS
	.irp r, 1, 2, 3, 4, 5, 6, 7, 8, 9
	AES_ROUND	16*\r
	.endr
	AES_ROUNDS_ABOVE_9
	LAST_ROUND_AND_STORE
	addq		$256, %rcx
	addq		$256, %r8
	decq		%r9
	jz		.Lencrypt_last_ghash

	.balign	32
.Lencrypt_loop:
	STITCHED_GROUP	%r8, -256
	addq		$256, %rcx
	addq		$256, %r8
	decq		%r9
	jnz		.Lencrypt_loop

.Lencrypt_last_ghash:
	.irp m, 0, 1, 2, 3
	GHASH_STEP	\m, %r8, -256
	.endr
	GHASH_REDUCE
	STORE_STATE
	ret
	.size	tb_vaes_gcm_encrypt_groups, . - tb_vaes_gcm_encrypt_groups

/*
 * void tb_vaes_gcm_decrypt_groups(same arguments);
 *
 * Each group is hashed while its keystream is computed. The GHASH loads of
 * a group come before its stores, so in == out works.
 */
	.globl	tb_vaes_gcm_decrypt_groups
	.hidden	tb_vaes_gcm_decrypt_groups
	.type	tb_vaes_gcm_decrypt_groups, @function
	.balign	64
tb_vaes_gcm_decrypt_groups:
	LOAD_STATE

	.balign	32
.Ldecrypt_loop:
	STITCHED_GROUP	%rcx, 0
	addq		$256, %rcx
	addq		$256, %r8
	decq		%r9
	jnz		.Ldecrypt_loop

	STORE_STATE
	ret
	.size	tb_vaes_gcm_decrypt_groups, . - tb_vaes_gcm_decrypt_groups

	.section .note.GNU-stack, "", @progbits
