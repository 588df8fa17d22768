/*
 * svsm-tpmboot public API.
 *
 * The SVSM (or the test harness) fills a struct tpmboot_platform with its
 * callbacks and a struct tpmboot_config, then calls tpmboot_run() once. On
 * success it receives a mounted CocoonFs handle from which the vTPM reads its
 * NV state (the NVChip file). Every function returns 0 or a positive
 * TPMBOOT_E_* code; tpmboot_strerror() names each code.
 *
 * The module calls nothing outside itself except through this table, so the
 * archive has no undefined symbols (docs/linking.md).
 */
#ifndef TPMBOOT_H
#define TPMBOOT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Raised on every incompatible change of the structures below. */
#define TPMBOOT_API_VERSION 1u

/* Error codes. 0 is success; each area owns a range of numbers. */
enum tpmboot_error {
	TPMBOOT_OK = 0,
#define X(name, number, message) name = number,
#include "tpmboot/errors-general.def"
#include "tpmboot/errors-crypto.def"
#include "tpmboot/errors-cocoonfs.def"
#include "tpmboot/errors-wrapkey.def"
#include "tpmboot/errors-attest.def"
#include "tpmboot/errors-kbs.def"
#undef X
};

/* Returns a static, NUL-terminated description; never NULL. */
const char *tpmboot_strerror(int error);

/* Returns the symbolic name ("TPMBOOT_E_NO_MEMORY"); never NULL. */
const char *tpmboot_error_name(int error);

enum tpmboot_log_level {
	TPMBOOT_LOG_ERROR = 0,
	TPMBOOT_LOG_WARN = 1,
	TPMBOOT_LOG_INFO = 2,
	TPMBOOT_LOG_DEBUG = 3,
};

enum tpmboot_tee {
	TPMBOOT_TEE_SNP = 0,
	TPMBOOT_TEE_TDX = 1,
};

/* Dialect of the byte stream to the host proxy. */
enum tpmboot_kbs_protocol {
	/* Trustee KBS protocol 0.4.0 as HTTP/1.1; the proxy forwards bytes. */
	TPMBOOT_KBS_TRUSTEE = 0,
	/* COCONUT-SVSM aproxy: 8-byte length + JSON, four messages. */
	TPMBOOT_KBS_COCONUT_APROXY = 1,
};

/* Ephemeral TEE key that the KBS encrypts Key1 to. */
enum tpmboot_tee_key {
	TPMBOOT_TEE_KEY_EC_P256 = 0,
	TPMBOOT_TEE_KEY_EC_P521 = 1,
	TPMBOOT_TEE_KEY_RSA_2048 = 2,
};

/* Highest SIMD tier the crypto fast paths may use (docs/crypto.md). */
enum tpmboot_simd_cap {
	TPMBOOT_SIMD_AUTO = 0,      /* best tier that CPUID and XCR0 allow */
	TPMBOOT_SIMD_NONE = 1,      /* portable constant-time C only */
	TPMBOOT_SIMD_SSE = 2,       /* AES-NI + PCLMULQDQ, legacy SSE encoding */
	TPMBOOT_SIMD_AVX2_VAES = 3, /* VAES + VPCLMULQDQ on 256-bit registers */
};

/*
 * SEV-SNP guest request transport, used when the module runs its own
 * guest-message driver. The module has already encrypted req_page (4 KiB)
 * under the VMPCK; the platform issues the GHCB SNP_GUEST_REQUEST (or, when
 * extended is nonzero, SNP_EXT_GUEST_REQUEST with certs_buf of
 * *certs_pages 4 KiB pages) and copies the response into resp_page.
 * *fw_error receives the whole 64-bit SW_EXITINFO2: the upper 32 bits are
 * the hypervisor's error (0, INVALID_LEN = 1, BUSY = 2), the lower 32 bits
 * the firmware status. For INVALID_LEN, *certs_pages receives the page
 * count needed.
 * Returns 0 when the exchange completed (even with *fw_error != 0), nonzero
 * when the transport itself failed.
 */
typedef int (*tpmboot_snp_guest_request_fn)(void *ctx, int extended,
					     const uint8_t *req_page,
					     uint8_t *resp_page,
					     uint8_t *certs_buf,
					     uint32_t *certs_pages,
					     uint64_t *fw_error);

/*
 * Platform-provided report: for an SVSM that keeps VMPCK0 and its sequence
 * number in its own driver. Writes the 1184-byte ATTESTATION_REPORT for
 * report_data (VMPL 0, VCEK) into report and its length into *report_len.
 * Returns 0 on success.
 */
typedef int (*tpmboot_snp_get_report_fn)(void *ctx,
					 const uint8_t report_data[64],
					 uint8_t *report, size_t report_cap,
					 size_t *report_len);

/*
 * TDX quote: the platform runs TDG.MR.REPORT with report_data and
 * GetQuote (or lets the module do it through tdcall) and writes the quote.
 */
typedef int (*tpmboot_tdx_get_quote_fn)(void *ctx,
					const uint8_t report_data[64],
					uint8_t *quote, size_t quote_cap,
					size_t *quote_len);

/*
 * Callbacks the platform supplies. Every callback gets ctx as its first
 * argument. Callbacks return 0 on success and nonzero on failure unless
 * stated otherwise. Optional callbacks may be NULL.
 */
struct tpmboot_platform {
	uint32_t api_version; /* TPMBOOT_API_VERSION */
	void *ctx;

	/* One log line without a trailing newline; never contains a secret. */
	void (*log)(void *ctx, enum tpmboot_log_level level, const char *line);

	/* Memory. align is a power of two, at most 4096. free(NULL) is a no-op. */
	void *(*alloc)(void *ctx, size_t size, size_t align);
	void (*free)(void *ctx, void *ptr);

	/* Fills buf with len bytes from a hardware or OS entropy source. */
	int (*random_bytes)(void *ctx, uint8_t *buf, size_t len);

	/* Monotonic milliseconds, and a busy or sleeping delay. */
	uint64_t (*time_ms)(void *ctx);
	void (*delay_ms)(void *ctx, uint32_t ms);

	/*
	 * Block device holding the CocoonFs image. Offsets and counts are in
	 * device blocks of (1 << block_size_log2) bytes.
	 */
	uint32_t block_size_log2;
	uint64_t block_count;
	int (*block_read)(void *ctx, uint64_t first_block, uint32_t count,
			  void *buf);
	int (*block_write)(void *ctx, uint64_t first_block, uint32_t count,
			   const void *buf); /* optional: read-only without */
	int (*block_flush)(void *ctx);       /* optional */

	/*
	 * Byte stream to the host proxy (virtio-vsock in the SVSM, a console
	 * or socket in the harness). send writes all len bytes or fails.
	 * recv returns the number of bytes read (at least 1), 0 at end of
	 * stream, or a negative value on error or when timeout_ms passed.
	 */
	int (*stream_connect)(void *ctx, void **stream);
	int (*stream_send)(void *ctx, void *stream, const uint8_t *buf,
			   size_t len);
	long (*stream_recv)(void *ctx, void *stream, uint8_t *buf, size_t cap,
			    uint32_t timeout_ms);
	void (*stream_close)(void *ctx, void *stream);

	/* Attestation: set the ones matching the TEE and driver mode. */
	tpmboot_snp_guest_request_fn snp_guest_request;
	tpmboot_snp_get_report_fn snp_get_report;
	tpmboot_tdx_get_quote_fn tdx_get_quote;
};

struct tpmboot_config {
	uint32_t api_version; /* TPMBOOT_API_VERSION */
	enum tpmboot_tee tee;
	enum tpmboot_kbs_protocol kbs_protocol;
	enum tpmboot_tee_key tee_key;
	enum tpmboot_simd_cap simd_cap;

	/* Host name for the HTTP Host header; NULL gives "kbs". */
	const char *kbs_host;
	/* Per-receive timeout and the bound on transport retries. */
	uint32_t kbs_timeout_ms;
	uint32_t kbs_max_retries;

	/*
	 * Pinned KBS release key, or NULL to accept unsigned releases: a P-256
	 * public key in SEC 1 uncompressed form (65 bytes, 0x04 || x || y).
	 * When set, a kbs-unwrap response must carry a "release-signature" by
	 * this key over the session nonce, the TEE key and the JWE
	 * (docs/kbs-protocol.md), checked before the JWE is decrypted. The
	 * resource and trustee-pkcs11 wrap modes then fail with
	 * TPMBOOT_E_KBS_RELEASE_UNAUTHENTICATED, because their responses
	 * carry no signature. The key is only as trustworthy as its source:
	 * the SVSM should take it from measured launch data (the IGVM image,
	 * or host-supplied data whose hash is HOST_DATA in the report) so that
	 * the KBS's attestation policy covers it. The module does not check
	 * that binding itself.
	 */
	const uint8_t *kbs_release_key;

	/*
	 * SEV-SNP, module's own guest-message driver (snp_guest_request set):
	 * the VMPCK (32 bytes), its index and the last sequence number used,
	 * updated in place (it advances by 2 per completed request). Linux
	 * keeps this counter in 32 bits in the secrets page; the module takes
	 * 64 and never wraps it. The module wipes its own copies of the VMPCK
	 * after each request. It zeroes the caller's VMPCK only after a
	 * failure that could desynchronise the sequence number, because the
	 * key must not be used again then. Otherwise the caller keeps it.
	 */
	uint8_t *vmpck;
	uint32_t vmpck_index;
	uint64_t *msg_seqno;
	uint32_t report_vmpl;

	/* Minimum log level passed to the log callback. */
	enum tpmboot_log_level log_level;
};

/* Inodes of COCONUT-SVSM's vTPM state (namespace 1 << 32). */
#define TPMBOOT_INODE_NVCHIP UINT64_C(0x100000000)
#define TPMBOOT_INODE_MANUFACTURED UINT64_C(0x100000001)

/*
 * UUID of the CocoonFs auxiliary metadata entry that contains the wrapped disk
 * key (docs/wrapped-key-entry.md): 45f71878-18dd-43b8-84a9-ccdd1d58b3f7,
 * a random version 4 UUID, in textual byte order.
 */
#define TPMBOOT_WRAPKEY_UUID                                               \
	{ 0x45, 0xf7, 0x18, 0x78, 0x18, 0xdd, 0x43, 0xb8,                  \
	  0x84, 0xa9, 0xcc, 0xdd, 0x1d, 0x58, 0xb3, 0xf7 }

/* Opaque handle of an opened CocoonFs image. */
struct tpmboot_fs;

/* Wall-clock time of each step of tpmboot_run(), in milliseconds. */
struct tpmboot_summary {
	uint64_t discover_ms;
	uint64_t attest_ms;
	uint64_t exchange_ms;
	uint64_t unwrap_ms;
	uint64_t mount_ms;
	uint32_t failed_step; /* 0 when all steps succeeded, else 1..6 */
};

/*
 * Runs the whole boot flow: discover, attest, exchange, unwrap and
 * authenticate, mount. On success *fs_out is an opened filesystem that the
 * caller closes with tpmboot_fs_close(). On failure nothing on the block
 * device has been written and every secret is wiped. summary may be NULL.
 */
int tpmboot_run(const struct tpmboot_platform *platform,
		const struct tpmboot_config *config,
		struct tpmboot_fs **fs_out, struct tpmboot_summary *summary);

/*
 * Stores the size of the file at inode in *size. Returns
 * TPMBOOT_E_COCOONFS_NO_INODE when the file does not exist.
 */
int tpmboot_fs_size(struct tpmboot_fs *fs, uint64_t inode, size_t *size);

/*
 * Reads the whole file at inode into buf. *len receives the file size; if
 * cap is smaller, returns TPMBOOT_E_BUFFER_TOO_SMALL and copies nothing.
 */
int tpmboot_fs_read(struct tpmboot_fs *fs, uint64_t inode, uint8_t *buf,
		    size_t cap, size_t *len);

/* Closes the filesystem and wipes its keys. fs may be NULL. */
void tpmboot_fs_close(struct tpmboot_fs *fs);

#ifdef __cplusplus
}
#endif

#endif /* TPMBOOT_H */
