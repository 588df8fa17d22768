/*
 * tpmboot_run(): the boot flow. Discover the wrapped-key entry in the
 * CocoonFs aux metadata, attest, exchange evidence and Key2 for Key1 with
 * the KBS, authenticate the entry with Key1, mount the image. Each step
 * logs one line with its duration; every failure logs what failed, wipes
 * every secret and leaves the block device unwritten.
 */
#include <string.h>

#include "attest/tb_attest.h"
#include "boot/tb_boot.h"
#include "cocoonfs/tb_cocoonfs.h"
#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "kbs/tb_kbs.h"
#include "wrapkey/tb_wrapkey.h"

/* State shared by the steps of one run; wiped at the end. */
struct boot_state {
	struct tb_cocoonfs_meta *meta;
	uint8_t *entry_buf; /* copy of the wrapped-key entry */
	struct tb_wrapkey_entry entry;
	struct tb_wrapkey_image_id image;
	struct tb_kbs_session *kbs;
	struct tb_evidence evidence;
	uint8_t key1[TB_WRAPKEY_KEY1_MAX];
	size_t key1_len;
};

static const char *const step_names[] = {
	"", "discover", "attest", "exchange", "unwrap", "mount",
};

static const char *tier_name(enum tb_tier tier)
{
	switch (tier) {
	case TB_TIER_PORTABLE:
		return "portable";
	case TB_TIER_AESNI:
		return "AES-NI";
	case TB_TIER_VAES_AVX2:
		return "VAES-AVX2";
	}
	return "unknown";
}

static int check_platform(const struct tpmboot_platform *p,
			  const struct tpmboot_config *c)
{
	if (p->block_read == NULL || p->stream_connect == NULL ||
	    p->stream_send == NULL || p->stream_recv == NULL ||
	    p->stream_close == NULL) {
		tb_err("boot: platform lacks block_read or a stream callback");
		return TPMBOOT_E_MISSING_CALLBACK;
	}
	if (c->tee == TPMBOOT_TEE_SNP && p->snp_guest_request == NULL &&
	    p->snp_get_report == NULL) {
		tb_err("boot: SEV-SNP needs snp_guest_request or snp_get_report");
		return TPMBOOT_E_MISSING_CALLBACK;
	}
	if (c->tee == TPMBOOT_TEE_TDX && p->tdx_get_quote == NULL) {
		tb_err("boot: TDX needs tdx_get_quote");
		return TPMBOOT_E_MISSING_CALLBACK;
	}
	return TPMBOOT_OK;
}

/* Step 1: headers and aux metadata, without the key. */
static int step_discover(struct boot_state *st)
{
	static const uint8_t uuid[16] = TPMBOOT_WRAPKEY_UUID;
	struct tb_cocoonfs_aux_entry aux, extra;
	int rc;

	rc = tb_cocoonfs_probe(&st->meta);
	if (rc != TPMBOOT_OK)
		return rc;
	switch (tb_cocoonfs_meta_state(st->meta)) {
	case TB_COCOONFS_FORMATTED:
		break;
	case TB_COCOONFS_UNFORMATTED:
		tb_err("boot: image is unformatted (mkfs-info header only)");
		return TPMBOOT_E_COCOONFS_UNFORMATTED;
	case TB_COCOONFS_JOURNAL_ACTIVE:
		tb_err("boot: image has an active journal; replay is needed");
		return TPMBOOT_E_COCOONFS_JOURNAL_ACTIVE;
	}

	rc = tb_cocoonfs_aux_find(st->meta, uuid, 0, &aux);
	if (rc != TPMBOOT_OK) {
		tb_err("boot: no wrapped-key entry (aux UUID "
		       "45f71878-18dd-43b8-84a9-ccdd1d58b3f7) among %zu entries",
		       tb_cocoonfs_aux_count(st->meta));
		return TPMBOOT_E_WRAPKEY_MISSING;
	}
	if (tb_cocoonfs_aux_find(st->meta, uuid, 1, &extra) == TPMBOOT_OK) {
		tb_err("boot: more than one wrapped-key entry");
		return TPMBOOT_E_WRAPKEY_DUPLICATE;
	}
	if (aux.len > TB_WRAPKEY_MAX_LEN) {
		tb_err("boot: wrapped-key entry of %zu bytes exceeds %u",
		       aux.len, (unsigned)TB_WRAPKEY_MAX_LEN);
		return TPMBOOT_E_WRAPKEY_TRUNCATED;
	}
	st->entry_buf = tb_alloc(aux.len);
	if (st->entry_buf == NULL)
		return TPMBOOT_E_NO_MEMORY;
	memcpy(st->entry_buf, aux.data, aux.len);

	rc = tb_wrapkey_parse(st->entry_buf, aux.len, &st->entry);
	if (rc != TPMBOOT_OK)
		return rc;
	tb_cocoonfs_image_id(st->meta, &st->image.salt, &st->image.salt_len,
			     st->image.layout);
	tb_info("boot: wrapped-key entry found: mode %s, Key1 %u bytes, "
		"Key2 %zu bytes", tb_wrap_mode_name(st->entry.mode),
		st->entry.key1_len, st->entry.wrapped_len);
	return TPMBOOT_OK;
}

/* Step 2: session with the KBS for the nonce, then evidence over the
 * binding of nonce and TEE public key. */
static int step_attest(struct boot_state *st)
{
	uint8_t nonce[TB_KBS_NONCE_MAX];
	uint8_t report_data[64];
	size_t nonce_len;
	int rc;

	rc = tb_kbs_session_open(&st->kbs, nonce, sizeof(nonce), &nonce_len);
	if (rc != TPMBOOT_OK)
		return rc;
	rc = tb_kbs_binding(st->kbs, report_data);
	if (rc != TPMBOOT_OK)
		return rc;
	if (tb_config()->tee == TPMBOOT_TEE_SNP &&
	    tb_platform()->snp_guest_request != NULL)
		rc = tb_attest_get_evidence_with_certs(report_data,
						       &st->evidence);
	else
		rc = tb_attest_get_evidence(report_data, &st->evidence);
	tb_memzero(report_data, sizeof(report_data));
	return rc;
}

static int fill_key_request(const struct boot_state *st,
			    struct tb_kbs_key_request *req, char *locator,
			    size_t locator_cap, uint8_t *aad, size_t aad_cap)
{
	const struct tb_wrapkey_entry *e = &st->entry;
	size_t aad_len = 0;
	const uint8_t *id = e->mode == TB_WRAP_MODE_KBS_UNWRAP ? e->key_id :
								  e->locator;
	size_t id_len = e->mode == TB_WRAP_MODE_KBS_UNWRAP ? e->key_id_len :
							     e->locator_len;
	int rc;

	if (id_len + 1 > locator_cap)
		return TPMBOOT_E_WRAPKEY_FIELD;
	memcpy(locator, id, id_len);
	locator[id_len] = '\0';

	memset(req, 0, sizeof(*req));
	req->locator = locator;
	req->key2 = e->wrapped;
	req->key2_len = e->wrapped_len;
	switch (e->mode) {
	case TB_WRAP_MODE_KBS_UNWRAP:
		req->mode = TB_KBS_WRAP_KBS_UNWRAP;
		rc = tb_wrapkey_envelope_aad(e, &st->image, aad, aad_cap,
					     &aad_len);
		if (rc != TPMBOOT_OK)
			return rc;
		req->aad = aad;
		req->aad_len = aad_len;
		break;
	case TB_WRAP_MODE_TRUSTEE_PKCS11:
		req->mode = TB_KBS_WRAP_TRUSTEE_PKCS11;
		break;
	case TB_WRAP_MODE_RESOURCE:
		req->mode = TB_KBS_WRAP_RESOURCE;
		break;
	}
	return TPMBOOT_OK;
}

/* Step 3: send the evidence, then exchange Key2 for Key1. */
static int step_exchange(struct boot_state *st)
{
	struct tb_kbs_evidence ev;
	struct tb_kbs_key_request req;
	char locator[TB_WRAPKEY_LOCATOR_MAX + 1];
	uint8_t *aad;
	size_t aad_cap = TB_WRAPKEY_MAX_LEN + 1 + 255 + TB_WRAPKEY_LAYOUT_LEN;
	int rc;

	memset(&ev, 0, sizeof(ev));
	if (st->evidence.tee == TPMBOOT_TEE_TDX) {
		ev.report = st->evidence.quote;
		ev.report_len = st->evidence.quote_len;
	} else {
		ev.report = st->evidence.report;
		ev.report_len = st->evidence.report_len;
		ev.aux = st->evidence.certs;
		ev.aux_len = st->evidence.certs_len;
	}
	rc = tb_kbs_attest(st->kbs, &ev);
	if (rc != TPMBOOT_OK)
		return rc;

	aad = tb_alloc(aad_cap);
	if (aad == NULL)
		return TPMBOOT_E_NO_MEMORY;
	rc = fill_key_request(st, &req, locator, sizeof(locator), aad, aad_cap);
	if (rc == TPMBOOT_OK)
		rc = tb_kbs_fetch_key(st->kbs, &req, st->key1,
				      sizeof(st->key1), &st->key1_len);
	tb_free(aad);
	tb_kbs_session_close(st->kbs);
	st->kbs = NULL;
	return rc;
}

/* Step 4: the entry's tag proves Key1 belongs to this entry and image. */
static int step_unwrap(struct boot_state *st)
{
	return tb_wrapkey_verify(&st->entry, &st->image, st->key1,
				 st->key1_len);
}

static int find_nvchip(void *ctx, uint64_t inode, uint32_t flags)
{
	(void)flags;
	if (inode == TPMBOOT_INODE_NVCHIP)
		*(int *)ctx = 1;
	return 0;
}

/* Reads the whole NVChip once, so every block of it is authenticated
 * before the boot reports success; the copy is wiped. */
static int read_nvchip_once(struct tpmboot_fs *fs, size_t *size)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = tb_cocoonfs_file_size(fs, TPMBOOT_INODE_NVCHIP, size);
	if (rc != TPMBOOT_OK)
		return rc;
	buf = tb_alloc(*size > 0 ? *size : 1);
	if (buf == NULL)
		return TPMBOOT_E_NO_MEMORY;
	rc = tb_cocoonfs_read_file(fs, TPMBOOT_INODE_NVCHIP, buf, *size, &len);
	tb_free_secret(buf, *size);
	return rc;
}

/* Step 5: open the image with Key1 and check the NV state. An image
 * without NVChip is valid: the vTPM then manufactures fresh state. */
static int step_mount(struct boot_state *st, struct tpmboot_fs **fs_out)
{
	int present = 0;
	size_t size;
	int rc;

	rc = tb_cocoonfs_open(st->meta, st->key1, st->key1_len, fs_out);
	if (rc == TPMBOOT_OK)
		rc = tb_cocoonfs_list_inodes(*fs_out, find_nvchip, &present);
	if (rc == TPMBOOT_OK && present)
		rc = read_nvchip_once(*fs_out, &size);
	if (rc != TPMBOOT_OK) {
		tb_cocoonfs_close(*fs_out);
		*fs_out = NULL;
		return rc;
	}

	if (present)
		tb_info("boot: NVChip (inode 0x%llx) is %zu bytes",
			(unsigned long long)TPMBOOT_INODE_NVCHIP, size);
	else
		tb_info("boot: no NVChip (inode 0x%llx) yet; the vTPM starts "
			"from manufactured state",
			(unsigned long long)TPMBOOT_INODE_NVCHIP);
	return TPMBOOT_OK;
}

static void boot_state_wipe(struct boot_state *st)
{
	tb_kbs_session_close(st->kbs);
	tb_evidence_free(&st->evidence);
	tb_cocoonfs_meta_free(st->meta);
	if (st->entry_buf != NULL)
		tb_free_secret(st->entry_buf, st->entry.raw_len);
	tb_memzero(st, sizeof(*st));
}

static uint64_t *step_time(struct tpmboot_summary *s, unsigned step)
{
	uint64_t *times[] = { NULL, &s->discover_ms, &s->attest_ms,
			      &s->exchange_ms, &s->unwrap_ms, &s->mount_ms };

	return times[step];
}

static int run_steps(struct boot_state *st, struct tpmboot_summary *summary,
		     struct tpmboot_fs **fs_out)
{
	unsigned step;
	int rc = TPMBOOT_OK;

	for (step = 1; step <= 5 && rc == TPMBOOT_OK; step++) {
		uint64_t start = tb_time_ms();

		switch (step) {
		case 1:
			rc = step_discover(st);
			break;
		case 2:
			rc = step_attest(st);
			break;
		case 3:
			rc = step_exchange(st);
			break;
		case 4:
			rc = step_unwrap(st);
			break;
		case 5:
			rc = step_mount(st, fs_out);
			break;
		}
		*step_time(summary, step) = tb_time_ms() - start;
		if (rc != TPMBOOT_OK) {
			summary->failed_step = step;
			tb_err("boot: step %u (%s) failed: %s (%d)", step,
			       step_names[step], tpmboot_error_name(rc), rc);
		} else {
			tb_info("boot: step %u (%s) done in %llu ms", step,
				step_names[step],
				(unsigned long long)*step_time(summary, step));
		}
	}
	return rc;
}

int tpmboot_run(const struct tpmboot_platform *platform,
		const struct tpmboot_config *config,
		struct tpmboot_fs **fs_out, struct tpmboot_summary *summary)
{
	struct tpmboot_summary local_summary;
	struct boot_state *st;
	int rc;

	if (fs_out == NULL)
		return TPMBOOT_E_INVALID_ARGUMENT;
	*fs_out = NULL;
	if (summary == NULL)
		summary = &local_summary;
	memset(summary, 0, sizeof(*summary));

	rc = tb_core_attach(platform, config);
	if (rc != TPMBOOT_OK)
		return rc;
	rc = check_platform(platform, tb_config());
	if (rc != TPMBOOT_OK)
		return rc;
	tb_fast_init(tb_boot_tier_cap(tb_config()->simd_cap));
	tb_info("boot: svsm-tpmboot starting (API %u, crypto tier %s)",
		TPMBOOT_API_VERSION, tier_name(tb_fast_tier()));

	/* The state contains Key1 and is too large for a small stack frame. */
	st = tb_calloc(1, sizeof(*st));
	if (st == NULL)
		return TPMBOOT_E_NO_MEMORY;
	rc = run_steps(st, summary, fs_out);
	boot_state_wipe(st);
	tb_free(st);
	tb_rng_wipe();

	if (rc == TPMBOOT_OK)
		tb_info("boot: unlocked: discover %llu ms, attest %llu ms, "
			"exchange %llu ms, unwrap %llu ms, mount %llu ms",
			(unsigned long long)summary->discover_ms,
			(unsigned long long)summary->attest_ms,
			(unsigned long long)summary->exchange_ms,
			(unsigned long long)summary->unwrap_ms,
			(unsigned long long)summary->mount_ms);
	return rc;
}

int tpmboot_fs_read(struct tpmboot_fs *fs, uint64_t inode, uint8_t *buf,
		    size_t cap, size_t *len)
{
	if (fs == NULL || len == NULL || (buf == NULL && cap != 0))
		return TPMBOOT_E_INVALID_ARGUMENT;
	return tb_cocoonfs_read_file(fs, inode, buf, cap, len);
}

int tpmboot_fs_size(struct tpmboot_fs *fs, uint64_t inode, size_t *size)
{
	if (fs == NULL || size == NULL)
		return TPMBOOT_E_INVALID_ARGUMENT;
	return tb_cocoonfs_file_size(fs, inode, size);
}

void tpmboot_fs_close(struct tpmboot_fs *fs)
{
	tb_cocoonfs_close(fs);
}
