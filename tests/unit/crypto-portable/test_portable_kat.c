/*
 * Known-answer tests of the portable crypto tier. They cover the bitsliced
 * S-box over all 256 inputs, AES from FIPS 197 (Appendices B and C), and
 * AES-ECB and AES-CBC from NIST SP 800-38A (F.1, F.2). AES-GCM uses test
 * cases 1-4 and 13-16 of McGrew and Viega, "The Galois/Counter Mode of
 * Operation (GCM)", which are the ones with 96-bit IVs. SHA-256 uses the
 * FIPS 180-4 examples and the one-million-'a' message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "crypto/portable/aes_ct64.h"
#include "crypto/portable/tb_portable.h"
#include "portable_test_util.h"
#include "tb_test_platform.h"
#include "tpmboot.h"

static struct tb_test_platform test_platform;

static int setup_platform(void **state)
{
	tb_test_platform_init(&test_platform);
	test_platform.log_echo = 0;
	return 0;
}

static int teardown_platform(void **state)
{
	return tb_test_platform_fini(&test_platform) == 0 ? 0 : -1;
}

/* GF(2^8) product modulo x^8 + x^4 + x^3 + x + 1, bit by bit. */
static uint8_t gf256_mul(uint8_t a, uint8_t b)
{
	uint8_t product = 0;

	while (b != 0) {
		if (b & 1)
			product ^= a;
		a = (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1B : 0));
		b >>= 1;
	}
	return product;
}

/* The S-box from its definition (FIPS 197, 5.1.1): inverse, then affine. */
static uint8_t sbox_reference(uint8_t x)
{
	uint8_t inverse = 0, result, rotated;
	unsigned y, i;

	for (y = 1; y < 256; y++) {
		if (gf256_mul(x, (uint8_t)y) == 1)
			inverse = (uint8_t)y;
	}
	result = inverse;
	rotated = inverse;
	for (i = 0; i < 4; i++) {
		rotated = (uint8_t)((rotated << 1) | (rotated >> 7));
		result ^= rotated;
	}
	return result ^ 0x63;
}

static void sbox_all_inputs(void **state)
{
	unsigned chunk, pos, bit;

	for (chunk = 0; chunk < 4; chunk++) {
		uint64_t q[8] = { 0 }, input[8];

		/* Slot pos of the words carries the byte 64 chunk + pos. */
		for (pos = 0; pos < 64; pos++) {
			unsigned value = 64 * chunk + pos;

			for (bit = 0; bit < 8; bit++)
				q[bit] |= (uint64_t)((value >> bit) & 1) << pos;
		}
		memcpy(input, q, sizeof(q));

		tb_ct64_sub_bytes(q);
		for (pos = 0; pos < 64; pos++) {
			unsigned out = 0;

			for (bit = 0; bit < 8; bit++)
				out |= (unsigned)((q[bit] >> pos) & 1) << bit;
			assert_int_equal(out,
					 sbox_reference((uint8_t)(64 * chunk + pos)));
		}

		tb_ct64_inv_sub_bytes(q);
		assert_memory_equal(q, input, sizeof(q));
	}
}

/* Checks the documented layout: bit i of byte 4c + r of block b is bit
 * 16r + 4c + b of q[i]. */
static void bitslice_layout(void **state)
{
	uint8_t blocks[64], back[64];
	uint64_t q[8], seed = 1;
	unsigned b, r, c, i;

	test_rng_fill(&seed, blocks, sizeof(blocks));
	tb_ct64_load(q, blocks);
	for (b = 0; b < 4; b++) {
		for (c = 0; c < 4; c++) {
			for (r = 0; r < 4; r++) {
				uint8_t byte = blocks[16 * b + 4 * c + r];
				unsigned pos = 16 * r + 4 * c + b;

				for (i = 0; i < 8; i++)
					assert_int_equal((q[i] >> pos) & 1,
							 (byte >> i) & 1);
			}
		}
	}
	tb_ct64_store(q, back);
	assert_memory_equal(back, blocks, sizeof(blocks));
}

struct block_vector {
	const char *key;
	const char *plaintext;
	const char *ciphertext;
};

static void check_block_vector(const struct block_vector *v)
{
	struct tb_aes_key key;
	uint8_t raw[32], pt[16], ct[16], out[16];
	size_t key_len = hex_to_bytes(v->key, raw, sizeof(raw));

	hex_to_bytes(v->plaintext, pt, sizeof(pt));
	hex_to_bytes(v->ciphertext, ct, sizeof(ct));
	memset(&key, 0, sizeof(key));
	assert_int_equal(tb_portable_aes_setkey(&key, raw, key_len), 0);
	assert_int_equal(key.rounds, key_len / 4 + 6);

	tb_portable_aes_encrypt_block(&key, pt, out);
	assert_memory_equal(out, ct, 16);
	tb_portable_aes_decrypt_block(&key, ct, out);
	assert_memory_equal(out, pt, 16);

	/* In place. */
	memcpy(out, pt, 16);
	tb_portable_aes_encrypt_block(&key, out, out);
	assert_memory_equal(out, ct, 16);
	tb_portable_aes_decrypt_block(&key, out, out);
	assert_memory_equal(out, pt, 16);
}

static void aes_fips197_examples(void **state)
{
	static const struct block_vector vectors[] = {
		/* Appendix B, cipher example. */
		{ "2b7e151628aed2a6abf7158809cf4f3c",
		  "3243f6a8885a308d313198a2e0370734",
		  "3925841d02dc09fbdc118597196a0b32" },
		/* Appendix C.1, C.2, C.3. */
		{ "000102030405060708090a0b0c0d0e0f",
		  "00112233445566778899aabbccddeeff",
		  "69c4e0d86a7b0430d8cdb78070b4c55a" },
		{ "000102030405060708090a0b0c0d0e0f1011121314151617",
		  "00112233445566778899aabbccddeeff",
		  "dda97ca4864cdfe06eaf70a0ec0d7191" },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		  "00112233445566778899aabbccddeeff",
		  "8ea2b7ca516745bfeafc49904b496089" },
	};
	size_t i;

	for (i = 0; i < TB_ARRAY_SIZE(vectors); i++)
		check_block_vector(&vectors[i]);
}

/* SP 800-38A, F.1 and F.2: four plaintext blocks under three keys. */
static const char sp800_38a_plaintext[] =
	"6bc1bee22e409f96e93d7e117393172a"
	"ae2d8a571e03ac9c9eb76fac45af8e51"
	"30c81c46a35ce411e5fbc1191a0a52ef"
	"f69f2445df4f9b17ad2b417be66c3710";

struct mode_vector {
	const char *key;
	const char *ecb;
	const char *cbc;
};

static const struct mode_vector sp800_38a_vectors[] = {
	{ "2b7e151628aed2a6abf7158809cf4f3c",
	  "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
	  "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4",
	  "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
	  "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7" },
	{ "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
	  "bd334f1d6e45f25ff712a214571fa5cc974104846d0ad3ad7734ecb3ecee4eef"
	  "ef7afd2270e2e60adce0ba2face6444e9a4b41ba738d6c72fb16691603c18e0e",
	  "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
	  "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd" },
	{ "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	  "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
	  "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7",
	  "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
	  "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b" },
};

static const char sp800_38a_cbc_iv[] = "000102030405060708090a0b0c0d0e0f";

static void aes_sp800_38a_ecb(void **state)
{
	uint8_t raw[32], pt[64], ct[64], out[16];
	size_t i, block;

	hex_to_bytes(sp800_38a_plaintext, pt, sizeof(pt));
	for (i = 0; i < TB_ARRAY_SIZE(sp800_38a_vectors); i++) {
		const struct mode_vector *v = &sp800_38a_vectors[i];
		size_t key_len = hex_to_bytes(v->key, raw, sizeof(raw));
		struct tb_aes_key key;

		hex_to_bytes(v->ecb, ct, sizeof(ct));
		assert_int_equal(tb_portable_aes_setkey(&key, raw, key_len), 0);
		for (block = 0; block < 4; block++) {
			tb_portable_aes_encrypt_block(&key, pt + 16 * block, out);
			assert_memory_equal(out, ct + 16 * block, 16);
			tb_portable_aes_decrypt_block(&key, ct + 16 * block, out);
			assert_memory_equal(out, pt + 16 * block, 16);
		}
	}
}

static void aes_sp800_38a_cbc(void **state)
{
	uint8_t raw[32], pt[64], ct[64], iv0[16], iv[16], out[64];
	size_t i, split;

	hex_to_bytes(sp800_38a_plaintext, pt, sizeof(pt));
	hex_to_bytes(sp800_38a_cbc_iv, iv0, sizeof(iv0));
	for (i = 0; i < TB_ARRAY_SIZE(sp800_38a_vectors); i++) {
		const struct mode_vector *v = &sp800_38a_vectors[i];
		size_t key_len = hex_to_bytes(v->key, raw, sizeof(raw));
		struct tb_aes_key key;

		hex_to_bytes(v->cbc, ct, sizeof(ct));
		assert_int_equal(tb_portable_aes_setkey(&key, raw, key_len), 0);

		memcpy(iv, iv0, 16);
		tb_portable_aes_cbc_encrypt(&key, iv, pt, out, 64);
		assert_memory_equal(out, ct, 64);
		assert_memory_equal(iv, ct + 48, 16);

		memcpy(iv, iv0, 16);
		tb_portable_aes_cbc_decrypt(&key, iv, ct, out, 64);
		assert_memory_equal(out, pt, 64);
		assert_memory_equal(iv, ct + 48, 16);

		/* In place, and chained over every split point. */
		for (split = 0; split <= 64; split += 16) {
			memcpy(out, pt, 64);
			memcpy(iv, iv0, 16);
			tb_portable_aes_cbc_encrypt(&key, iv, out, out, split);
			tb_portable_aes_cbc_encrypt(&key, iv, out + split,
						    out + split, 64 - split);
			assert_memory_equal(out, ct, 64);

			memcpy(iv, iv0, 16);
			tb_portable_aes_cbc_decrypt(&key, iv, out, out, split);
			tb_portable_aes_cbc_decrypt(&key, iv, out + split,
						    out + split, 64 - split);
			assert_memory_equal(out, pt, 64);
			assert_memory_equal(iv, ct + 48, 16);
		}
	}
}

static void aes_setkey_invalid_length(void **state)
{
	static const size_t bad_lengths[] = { 0, 1, 15, 17, 20, 23, 25, 31, 33, 64 };
	struct tb_aes_key key;
	struct tb_gcm_key gcm_key;
	uint8_t raw[64];
	size_t i;

	memset(raw, 0x5A, sizeof(raw));
	for (i = 0; i < TB_ARRAY_SIZE(bad_lengths); i++) {
		memset(&key, 0, sizeof(key));
		tb_test_log_clear(&test_platform);
		assert_int_equal(tb_portable_aes_setkey(&key, raw, bad_lengths[i]),
				 TPMBOOT_E_CRYPTO_KEY_LENGTH);
		assert_int_equal(key.rounds, 0);
		assert_true(tb_test_log_contains(&test_platform,
						 "invalid key length"));
		assert_int_equal(tb_portable_gcm_setkey(&gcm_key, raw,
							bad_lengths[i]),
				 TPMBOOT_E_CRYPTO_KEY_LENGTH);
	}
}

struct gcm_vector {
	const char *name;
	const char *key;
	const char *iv;
	const char *plaintext;
	const char *aad;
	const char *ciphertext;
	const char *tag;
};

#define GCM_TC3_PLAINTEXT                                                   \
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define GCM_TC4_PLAINTEXT                                                   \
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_TC4_AAD "feedfacedeadbeeffeedfacedeadbeefabaddad2"

static const struct gcm_vector gcm_vectors[] = {
	{ "test case 1", "00000000000000000000000000000000",
	  "000000000000000000000000", "", "", "",
	  "58e2fccefa7e3061367f1d57a4e7455a" },
	{ "test case 2", "00000000000000000000000000000000",
	  "000000000000000000000000", "00000000000000000000000000000000", "",
	  "0388dace60b6a392f328c2b971b2fe78",
	  "ab6e47d42cec13bdf53a67b21257bddf" },
	{ "test case 3", "feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", GCM_TC3_PLAINTEXT, "",
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	  "4d5c2af327cd64a62cf35abd2ba6fab4" },
	{ "test case 4", "feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", GCM_TC4_PLAINTEXT, GCM_TC4_AAD,
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	  "5bc94fbc3221a5db94fae95ae7121a47" },
	{ "test case 13",
	  "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "", "", "",
	  "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "test case 14",
	  "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "00000000000000000000000000000000", "",
	  "cea7403d4d606b6e074ec5d3baf39d18",
	  "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "test case 15",
	  "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", GCM_TC3_PLAINTEXT, "",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	  "b094dac5d93471bdec1a502270e3cc6c" },
	{ "test case 16",
	  "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", GCM_TC4_PLAINTEXT, GCM_TC4_AAD,
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void gcm_mcgrew_viega(void **state)
{
	size_t i;

	for (i = 0; i < TB_ARRAY_SIZE(gcm_vectors); i++) {
		const struct gcm_vector *v = &gcm_vectors[i];
		uint8_t raw[32], iv[12], pt[64], aad[32], ct[64], tag[16];
		uint8_t out[64], out_tag[16];
		size_t key_len, pt_len, aad_len;
		struct tb_gcm_key key;

		key_len = hex_to_bytes(v->key, raw, sizeof(raw));
		hex_to_bytes(v->iv, iv, sizeof(iv));
		pt_len = hex_to_bytes(v->plaintext, pt, sizeof(pt));
		aad_len = hex_to_bytes(v->aad, aad, sizeof(aad));
		assert_int_equal(hex_to_bytes(v->ciphertext, ct, sizeof(ct)),
				 pt_len);
		hex_to_bytes(v->tag, tag, sizeof(tag));

		print_message("GCM %s: key %zu bytes, plaintext %zu, AAD %zu\n",
			      v->name, key_len, pt_len, aad_len);
		assert_int_equal(tb_portable_gcm_setkey(&key, raw, key_len), 0);

		memset(out, 0xEE, sizeof(out));
		tb_portable_gcm_encrypt(&key, iv, aad, aad_len, pt, out, pt_len,
					out_tag);
		assert_memory_equal(out, ct, pt_len);
		assert_memory_equal(out_tag, tag, 16);

		memset(out, 0xEE, sizeof(out));
		assert_int_equal(tb_portable_gcm_decrypt(&key, iv, aad, aad_len,
							 ct, out, pt_len, tag),
				 0);
		assert_memory_equal(out, pt, pt_len);

		/* In place. */
		memcpy(out, pt, pt_len);
		tb_portable_gcm_encrypt(&key, iv, aad, aad_len, out, out, pt_len,
					out_tag);
		assert_memory_equal(out, ct, pt_len);
		assert_memory_equal(out_tag, tag, 16);
		assert_int_equal(tb_portable_gcm_decrypt(&key, iv, aad, aad_len,
							 out, out, pt_len, tag),
				 0);
		assert_memory_equal(out, pt, pt_len);
	}
}

/* Empty inputs may come as NULL pointers (test case 1 again). */
static void gcm_empty_null_buffers(void **state)
{
	const struct gcm_vector *v = &gcm_vectors[0];
	uint8_t raw[16], iv[12], tag[16], out_tag[16];
	struct tb_gcm_key key;

	hex_to_bytes(v->key, raw, sizeof(raw));
	hex_to_bytes(v->iv, iv, sizeof(iv));
	hex_to_bytes(v->tag, tag, sizeof(tag));
	assert_int_equal(tb_portable_gcm_setkey(&key, raw, sizeof(raw)), 0);

	tb_portable_gcm_encrypt(&key, iv, NULL, 0, NULL, NULL, 0, out_tag);
	assert_memory_equal(out_tag, tag, 16);
	assert_int_equal(tb_portable_gcm_decrypt(&key, iv, NULL, 0, NULL, NULL,
						 0, tag),
			 0);

	tag[0] ^= 0x80;
	assert_int_equal(tb_portable_gcm_decrypt(&key, iv, NULL, 0, NULL, NULL,
						 0, tag),
			 TPMBOOT_E_CRYPTO_AUTH);
}

/* A zero-length CBC call writes nothing and keeps the IV. */
static void cbc_empty_keeps_iv(void **state)
{
	uint8_t raw[16], iv[16], iv_copy[16];
	struct tb_aes_key key;

	memset(raw, 0x11, sizeof(raw));
	memset(iv, 0x22, sizeof(iv));
	memcpy(iv_copy, iv, sizeof(iv));
	assert_int_equal(tb_portable_aes_setkey(&key, raw, sizeof(raw)), 0);

	tb_portable_aes_cbc_encrypt(&key, iv, NULL, NULL, 0);
	assert_memory_equal(iv, iv_copy, 16);
	tb_portable_aes_cbc_decrypt(&key, iv, NULL, NULL, 0);
	assert_memory_equal(iv, iv_copy, 16);
}

/*
 * Flipping any single bit of the tag, the ciphertext or the AAD makes
 * decryption fail with TPMBOOT_E_CRYPTO_AUTH and zero the output.
 */
static void gcm_tamper_rejected(void **state)
{
	const struct gcm_vector *v = &gcm_vectors[7];
	uint8_t raw[32], iv[12], pt[64], aad[32], ct[64], tag[16], out[64];
	uint8_t zero[64];
	size_t key_len, pt_len, aad_len, bit;
	struct tb_gcm_key key;

	key_len = hex_to_bytes(v->key, raw, sizeof(raw));
	hex_to_bytes(v->iv, iv, sizeof(iv));
	pt_len = hex_to_bytes(v->plaintext, pt, sizeof(pt));
	aad_len = hex_to_bytes(v->aad, aad, sizeof(aad));
	hex_to_bytes(v->ciphertext, ct, sizeof(ct));
	hex_to_bytes(v->tag, tag, sizeof(tag));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(tb_portable_gcm_setkey(&key, raw, key_len), 0);

	for (bit = 0; bit < 8 * (16 + pt_len + aad_len); bit++) {
		uint8_t *target;
		size_t pos = bit / 8;

		if (pos < 16) {
			target = tag + pos;
		} else if (pos < 16 + pt_len) {
			target = ct + pos - 16;
		} else {
			target = aad + pos - 16 - pt_len;
		}
		*target ^= (uint8_t)(1u << (bit % 8));

		memset(out, 0xEE, sizeof(out));
		tb_test_log_clear(&test_platform);
		assert_int_equal(tb_portable_gcm_decrypt(&key, iv, aad, aad_len,
							 ct, out, pt_len, tag),
				 TPMBOOT_E_CRYPTO_AUTH);
		assert_memory_equal(out, zero, pt_len);
		assert_int_equal(out[pt_len], 0xEE);
		/* tb_gcm_decrypt() logs the mismatch, not the tier. */
		assert_int_equal(test_platform.log_len, 0);

		*target ^= (uint8_t)(1u << (bit % 8));
	}

	/* The restored inputs decrypt again. */
	assert_int_equal(tb_portable_gcm_decrypt(&key, iv, aad, aad_len, ct,
						 out, pt_len, tag),
			 0);
	assert_memory_equal(out, pt, pt_len);
}

static void check_sha256(const uint8_t *msg, size_t len, const char *expected_hex)
{
	uint8_t digest[32], expected[32];

	hex_to_bytes(expected_hex, expected, sizeof(expected));
	sha256_message(msg, len, digest);
	assert_memory_equal(digest, expected, 32);
}

static void sha256_fips180_examples(void **state)
{
	static const char two_blocks[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t *million;

	check_sha256((const uint8_t *)"abc", 3,
		     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha256((const uint8_t *)two_blocks, strlen(two_blocks),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_sha256((const uint8_t *)"", 0,
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	million = malloc(1000000);
	assert_non_null(million);
	memset(million, 'a', 1000000);
	check_sha256(million, 1000000,
		     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sbox_all_inputs),
		cmocka_unit_test(bitslice_layout),
		cmocka_unit_test(aes_fips197_examples),
		cmocka_unit_test(aes_sp800_38a_ecb),
		cmocka_unit_test(aes_sp800_38a_cbc),
		cmocka_unit_test(aes_setkey_invalid_length),
		cmocka_unit_test(gcm_mcgrew_viega),
		cmocka_unit_test(gcm_empty_null_buffers),
		cmocka_unit_test(gcm_tamper_rejected),
		cmocka_unit_test(cbc_empty_keeps_iv),
		cmocka_unit_test(sha256_fips180_examples),
	};

	return cmocka_run_group_tests_name("crypto-portable-kat", tests,
					   setup_platform, teardown_platform);
}
