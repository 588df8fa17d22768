/*
 * Bitsliced AES S-box and inverse S-box.
 *
 * SubBytes is the 113-gate circuit of Boyar and Peralta ("A new combinational
 * logic minimization technique with applications to cryptology", SEA 2010;
 * also "A depth-16 circuit for the AES S-box", 2011): a linear top layer, a
 * nonlinear middle layer computing the GF(2^8) inverse, and a linear bottom
 * layer that includes the affine map. Names follow the paper: inputs U0..U7
 * and outputs S0..S7 are numbered from the most significant bit, so U0 is
 * q[7] and S7 is q[0].
 *
 * InvSubBytes reuses that circuit. With S(x) = A(x^-1) + 0x63 and
 * g(y) = A^-1(y + 0x63) = A^-1(y) + 0x05 (FIPS 197, 5.3.2), the inverse is
 * S^-1(y) = g(S(g(y))).
 */
#include "crypto/portable/aes_ct64.h"

/*
 * The circuit, inlined into both entry points so that the inverse S-box
 * keeps its affine maps in registers.
 */
static inline __attribute__((always_inline)) void sbox_circuit(uint64_t q[8])
{
	uint64_t u0, u1, u2, u3, u4, u5, u6, u7;
	uint64_t y1, y2, y3, y4, y5, y6, y7, y8, y9, y10, y11, y12, y13, y14;
	uint64_t y15, y16, y17, y18, y19, y20, y21;
	uint64_t t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13;
	uint64_t t14, t15, t16, t17, t18, t19, t20, t21, t22, t23, t24, t25;
	uint64_t t26, t27, t28, t29, t30, t31, t32, t33, t34, t35, t36, t37;
	uint64_t t38, t39, t40, t41, t42, t43, t44, t45, t46, t47, t48, t49;
	uint64_t t50, t51, t52, t53, t54, t55, t56, t57, t58, t59, t60, t61;
	uint64_t t62, t63, t64, t65, t66, t67;
	uint64_t z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, z10, z11, z12, z13;
	uint64_t z14, z15, z16, z17;

	u0 = q[7];
	u1 = q[6];
	u2 = q[5];
	u3 = q[4];
	u4 = q[3];
	u5 = q[2];
	u6 = q[1];
	u7 = q[0];

	/* Top linear layer. */
	y14 = u3 ^ u5;
	y13 = u0 ^ u6;
	y9 = u0 ^ u3;
	y8 = u0 ^ u5;
	t0 = u1 ^ u2;
	y1 = t0 ^ u7;
	y4 = y1 ^ u3;
	y12 = y13 ^ y14;
	y2 = y1 ^ u0;
	y5 = y1 ^ u6;
	y3 = y5 ^ y8;
	t1 = u4 ^ y12;
	y15 = t1 ^ u5;
	y20 = t1 ^ u1;
	y6 = y15 ^ u7;
	y10 = y15 ^ t0;
	y11 = y20 ^ y9;
	y7 = u7 ^ y11;
	y17 = y10 ^ y11;
	y19 = y10 ^ y8;
	y16 = t0 ^ y11;
	y21 = y13 ^ y16;
	y18 = u0 ^ y16;

	/* Nonlinear middle layer (inversion in GF(2^8)). */
	t2 = y12 & y15;
	t3 = y3 & y6;
	t4 = t3 ^ t2;
	t5 = y4 & u7;
	t6 = t5 ^ t2;
	t7 = y13 & y16;
	t8 = y5 & y1;
	t9 = t8 ^ t7;
	t10 = y2 & y7;
	t11 = t10 ^ t7;
	t12 = y9 & y11;
	t13 = y14 & y17;
	t14 = t13 ^ t12;
	t15 = y8 & y10;
	t16 = t15 ^ t12;
	t17 = t4 ^ t14;
	t18 = t6 ^ t16;
	t19 = t9 ^ t14;
	t20 = t11 ^ t16;
	t21 = t17 ^ y20;
	t22 = t18 ^ y19;
	t23 = t19 ^ y21;
	t24 = t20 ^ y18;

	t25 = t21 ^ t22;
	t26 = t21 & t23;
	t27 = t24 ^ t26;
	t28 = t25 & t27;
	t29 = t28 ^ t22;
	t30 = t23 ^ t24;
	t31 = t22 ^ t26;
	t32 = t31 & t30;
	t33 = t32 ^ t24;
	t34 = t23 ^ t33;
	t35 = t27 ^ t33;
	t36 = t24 & t35;
	t37 = t36 ^ t34;
	t38 = t27 ^ t36;
	t39 = t29 & t38;
	t40 = t25 ^ t39;

	t41 = t40 ^ t37;
	t42 = t29 ^ t33;
	t43 = t29 ^ t40;
	t44 = t33 ^ t37;
	t45 = t42 ^ t41;
	z0 = t44 & y15;
	z1 = t37 & y6;
	z2 = t33 & u7;
	z3 = t43 & y16;
	z4 = t40 & y1;
	z5 = t29 & y7;
	z6 = t42 & y11;
	z7 = t45 & y17;
	z8 = t41 & y10;
	z9 = t44 & y12;
	z10 = t37 & y3;
	z11 = t33 & y4;
	z12 = t43 & y13;
	z13 = t40 & y5;
	z14 = t29 & y2;
	z15 = t42 & y9;
	z16 = t45 & y14;
	z17 = t41 & y8;

	/* Bottom linear layer, with the affine constant as the XNORs. */
	t46 = z15 ^ z16;
	t47 = z10 ^ z11;
	t48 = z5 ^ z13;
	t49 = z9 ^ z10;
	t50 = z2 ^ z12;
	t51 = z2 ^ z5;
	t52 = z7 ^ z8;
	t53 = z0 ^ z3;
	t54 = z6 ^ z7;
	t55 = z16 ^ z17;
	t56 = z12 ^ t48;
	t57 = t50 ^ t53;
	t58 = z4 ^ t46;
	t59 = z3 ^ t54;
	t60 = t46 ^ t57;
	t61 = z14 ^ t57;
	t62 = t52 ^ t58;
	t63 = t49 ^ t58;
	t64 = z4 ^ t59;
	t65 = t61 ^ t62;
	t66 = z1 ^ t63;
	q[7] = t59 ^ t63;
	q[1] = ~(t56 ^ t62);
	q[0] = ~(t48 ^ t60);
	t67 = t64 ^ t65;
	q[4] = t53 ^ t66;
	q[3] = t51 ^ t66;
	q[2] = t47 ^ t65;
	q[6] = ~(t64 ^ q[4]);
	q[5] = ~(t55 ^ t67);
}

/*
 * Applies g(y) = A^-1(y) + 0x05: bit i of the output is
 * y[i+2] ^ y[i+5] ^ y[i+7] (indices mod 8), complemented for bits 0 and 2.
 */
static inline __attribute__((always_inline)) void
inv_affine(uint64_t out[8], const uint64_t y[8])
{
	out[0] = ~(y[2] ^ y[5] ^ y[7]);
	out[1] = y[3] ^ y[6] ^ y[0];
	out[2] = ~(y[4] ^ y[7] ^ y[1]);
	out[3] = y[5] ^ y[0] ^ y[2];
	out[4] = y[6] ^ y[1] ^ y[3];
	out[5] = y[7] ^ y[2] ^ y[4];
	out[6] = y[0] ^ y[3] ^ y[5];
	out[7] = y[1] ^ y[4] ^ y[6];
}

void tb_ct64_sub_bytes(uint64_t q[8])
{
	sbox_circuit(q);
}

void tb_ct64_inv_sub_bytes(uint64_t q[8])
{
	uint64_t t[8];

	inv_affine(t, q);
	sbox_circuit(t);
	inv_affine(q, t);
}
