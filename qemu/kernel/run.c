/*
 * mode=run: fills struct tpmboot_platform and struct tpmboot_config, calls
 * tpmboot_run(), prints the step timings and the SHA-256 of the NVChip
 * file, and checks that the module returned all its memory.
 *
 * Command-line options (all optional):
 *   tee=snp|tdx                kbs=trustee|aproxy
 *   tee_key=p256|p521|rsa2048  simd=auto|none|sse|avx2
 *   kbs_host=NAME              kbs_timeout_ms=N  kbs_retries=N
 *   log=error|warn|info|debug  seqno=N (last VMPCK sequence number used)
 *   vmpck_index=N  vmpl=N      reconnect_wait_ms=N  amdsp_timeout_ms=N
 *   expect_nvchip=HEX          fail unless the NVChip digest matches
 *   mrtd=HEX                   TDX: MRTD (48 bytes) of the simulated TD
 * The VMPCK comes from the fw_cfg file opt/tpmboot/vmpck (32 bytes), and
 * the optional KBS release key from opt/tpmboot/kbs-release-key (65 bytes).
 */
#include <string.h>

#include "platform.h"

#define NVCHIP_MAX (64u * 1024u)
#define VMPCK_SIZE 32
#define VMPCK_FW_CFG "opt/tpmboot/vmpck"
#define RELEASE_KEY_SIZE 65
#define RELEASE_KEY_FW_CFG "opt/tpmboot/kbs-release-key"

struct choice {
	const char *name;
	int value;
};

static const struct choice tee_choices[] = {
	{ "snp", TPMBOOT_TEE_SNP }, { "tdx", TPMBOOT_TEE_TDX }, { NULL, 0 },
};

static const struct choice kbs_choices[] = {
	{ "trustee", TPMBOOT_KBS_TRUSTEE },
	{ "aproxy", TPMBOOT_KBS_COCONUT_APROXY },
	{ NULL, 0 },
};

static const struct choice tee_key_choices[] = {
	{ "p256", TPMBOOT_TEE_KEY_EC_P256 },
	{ "p521", TPMBOOT_TEE_KEY_EC_P521 },
	{ "rsa2048", TPMBOOT_TEE_KEY_RSA_2048 },
	{ NULL, 0 },
};

static const struct choice simd_choices[] = {
	{ "auto", TPMBOOT_SIMD_AUTO }, { "none", TPMBOOT_SIMD_NONE },
	{ "sse", TPMBOOT_SIMD_SSE }, { "avx2", TPMBOOT_SIMD_AVX2_VAES },
	{ NULL, 0 },
};

static const struct choice log_choices[] = {
	{ "error", TPMBOOT_LOG_ERROR }, { "warn", TPMBOOT_LOG_WARN },
	{ "info", TPMBOOT_LOG_INFO }, { "debug", TPMBOOT_LOG_DEBUG },
	{ NULL, 0 },
};

/* Harness state that outlives tpmboot_run(): the module keeps pointers
 * to the VMPCK and the sequence number. */
static struct harness_platform harness;
static struct tpmboot_platform platform;
static struct tpmboot_config config;
static uint8_t vmpck[VMPCK_SIZE];
static uint8_t release_key[RELEASE_KEY_SIZE];
static uint64_t msg_seqno;
static char kbs_host[64];

/* Sets *value from key=name; returns -1 (and prints why) for a name not
 * in choices, 0 otherwise, including when the key is absent. */
static int parse_choice(const char *cmdline, const char *key,
			const struct choice *choices, int *value)
{
	char name[16];
	const struct choice *c;

	if (cmdline_get(cmdline, key, name, sizeof(name)) < 0)
		return 0;
	for (c = choices; c->name != NULL; c++) {
		if (strcmp(c->name, name) == 0) {
			*value = c->value;
			return 0;
		}
	}
	kprintf("run: invalid %s=%s; valid values:", key, name);
	for (c = choices; c->name != NULL; c++)
		kprintf(" %s", c->name);
	kprintf("\n");
	return -1;
}

static void parse_u32(const char *cmdline, const char *key, uint32_t *value)
{
	uint64_t v;

	if (cmdline_get_u64(cmdline, key, &v) == 0 && v <= UINT32_MAX)
		*value = (uint32_t)v;
}

static int all_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

static int load_vmpck(void)
{
	size_t len = 0;
	int rc = fwcfg_read_file(VMPCK_FW_CFG, vmpck, sizeof(vmpck), &len);

	if (rc == -1)
		return 0; /* no VMPCK: attestation needs snp_get_report */
	if (rc != 0 || len != VMPCK_SIZE) {
		kprintf("run: fw_cfg file %s has %zu bytes, expected %u\n",
			VMPCK_FW_CFG, len, VMPCK_SIZE);
		memset(vmpck, 0, sizeof(vmpck));
		return -1;
	}
	config.vmpck = vmpck;
	return 0;
}

/*
 * Pins the KBS release key (config.kbs_release_key) from the fw_cfg file
 * RELEASE_KEY_FW_CFG, a 65-byte SEC 1 uncompressed P-256 public key, when
 * the file exists. Returns -1 for a file of another size.
 *
 * fw_cfg is not measured, so the host chooses this key, and this path is
 * for tests only. A real SVSM takes the key from measured launch data.
 */
static int load_release_key(void)
{
	uint8_t digest[32];
	size_t len = 0;
	int rc;

	rc = fwcfg_read_file(RELEASE_KEY_FW_CFG, release_key,
			     sizeof(release_key), &len);
	if (rc == -1)
		return 0; /* no file: the module warns that nothing is pinned */
	if (rc != 0 || len != RELEASE_KEY_SIZE) {
		kprintf("run: invalid fw_cfg file %s: %zu bytes, expected %u "
			"(SEC 1 uncompressed P-256 public key)\n",
			RELEASE_KEY_FW_CFG, len, RELEASE_KEY_SIZE);
		memset(release_key, 0, sizeof(release_key));
		return -1;
	}

	/* The id is the one the module's log lines use for the pinned key. */
	sha256(release_key, sizeof(release_key), digest);
	kprintf("run: KBS release key %02x%02x%02x%02x pinned from fw_cfg %s "
		"(not measured; tests only)\n", digest[0], digest[1],
		digest[2], digest[3], RELEASE_KEY_FW_CFG);
	config.kbs_release_key = release_key;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Sets harness.mrtd from mrtd=HEX (96 hex digits); zeros without it. */
static int parse_mrtd(const char *cmdline)
{
	char text[128];
	int len;
	size_t i;

	memset(harness.mrtd, 0, sizeof(harness.mrtd));
	len = cmdline_get(cmdline, "mrtd", text, sizeof(text));
	if (len < 0)
		return 0;
	if ((size_t)len != 2 * sizeof(harness.mrtd)) {
		kprintf("run: invalid mrtd=: expected %zu hex digits, got %d\n",
			2 * sizeof(harness.mrtd), len);
		return -1;
	}
	for (i = 0; i < sizeof(harness.mrtd); i++) {
		int hi = hex_digit(text[2 * i]);
		int lo = hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			kprintf("run: invalid mrtd=: non-hex digit near position %zu\n",
				2 * i);
			return -1;
		}
		harness.mrtd[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int configure(const char *cmdline)
{
	int tee = TPMBOOT_TEE_SNP, kbs = TPMBOOT_KBS_TRUSTEE;
	int tee_key = TPMBOOT_TEE_KEY_EC_P256, simd = TPMBOOT_SIMD_AUTO;
	int log_level = TPMBOOT_LOG_INFO;
	uint64_t seqno = 0;

	if (parse_choice(cmdline, "tee", tee_choices, &tee) != 0 ||
	    parse_choice(cmdline, "kbs", kbs_choices, &kbs) != 0 ||
	    parse_choice(cmdline, "tee_key", tee_key_choices, &tee_key) != 0 ||
	    parse_choice(cmdline, "simd", simd_choices, &simd) != 0 ||
	    parse_choice(cmdline, "log", log_choices, &log_level) != 0)
		return -1;

	memset(&config, 0, sizeof(config));
	config.api_version = TPMBOOT_API_VERSION;
	config.tee = (enum tpmboot_tee)tee;
	config.kbs_protocol = (enum tpmboot_kbs_protocol)kbs;
	config.tee_key = (enum tpmboot_tee_key)tee_key;
	config.simd_cap = (enum tpmboot_simd_cap)simd;
	config.log_level = (enum tpmboot_log_level)log_level;
	if (cmdline_get(cmdline, "kbs_host", kbs_host, sizeof(kbs_host)) > 0)
		config.kbs_host = kbs_host;
	parse_u32(cmdline, "kbs_timeout_ms", &config.kbs_timeout_ms);
	parse_u32(cmdline, "kbs_retries", &config.kbs_max_retries);
	parse_u32(cmdline, "vmpck_index", &config.vmpck_index);
	parse_u32(cmdline, "vmpl", &config.report_vmpl);
	cmdline_get_u64(cmdline, "seqno", &seqno);
	msg_seqno = seqno;
	config.msg_seqno = &msg_seqno;

	harness.log_level = config.log_level;
	harness.send_timeout_ms = 10000;
	harness.reconnect_wait_ms = 1500;
	harness.amdsp_timeout_ms = 30000;
	parse_u32(cmdline, "reconnect_wait_ms", &harness.reconnect_wait_ms);
	if (parse_mrtd(cmdline) != 0)
		return -1;
	parse_u32(cmdline, "amdsp_timeout_ms", &harness.amdsp_timeout_ms);
	/* The public key first: a failure then leaves no VMPCK loaded. */
	if (load_release_key() != 0)
		return -1;
	return load_vmpck();
}

/* Prints the NVChip digest; with expect_nvchip=HEX also compares it.
 * Returns 0 when the file was read (and matched). */
static int report_nvchip(struct tpmboot_fs *fs, const char *cmdline)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t digest[32];
	char hex[65], expected[80];
	uint8_t *buf;
	size_t size = 0, len = 0;
	int rc, i;

	buf = NULL;
	rc = tpmboot_fs_size(fs, TPMBOOT_INODE_NVCHIP, &size);
	if (rc == 0) {
		if (size > NVCHIP_MAX) {
			kprintf("run: NVChip of %zu bytes exceeds the harness "
				"limit of %u\n", size, NVCHIP_MAX);
			return -1;
		}
		/* heap_alloc(0) also returns a block, for an empty file. */
		buf = heap_alloc(size, 16);
		if (buf == NULL) {
			kprintf("run: no memory for the %zu-byte NVChip\n", size);
			return -1;
		}
		rc = tpmboot_fs_read(fs, TPMBOOT_INODE_NVCHIP, buf, size, &len);
	}
	if (rc != 0) {
		kprintf("run: reading NVChip (inode 0x%llx) failed: %s (%s)\n",
			(unsigned long long)TPMBOOT_INODE_NVCHIP,
			tpmboot_error_name(rc), tpmboot_strerror(rc));
		heap_free(buf);
		return -1;
	}
	sha256(buf, len, digest);
	memset(buf, 0, len);
	heap_free(buf);

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[64] = '\0';
	kprintf("run: nvchip size=%zu sha256=%s\n", len, hex);

	if (cmdline_get(cmdline, "expect_nvchip", expected, sizeof(expected)) < 0)
		return 0;
	if (strcmp(expected, hex) != 0) {
		kprintf("run: NVChip digest differs from expect_nvchip=%s\n",
			expected);
		return -1;
	}
	kprintf("run: NVChip digest matches the expected one\n");
	return 0;
}

static void print_summary(const struct tpmboot_summary *s)
{
	kprintf("run: steps discover=%llu ms attest=%llu ms exchange=%llu ms "
		"unwrap=%llu ms mount=%llu ms failed_step=%u\n",
		(unsigned long long)s->discover_ms,
		(unsigned long long)s->attest_ms,
		(unsigned long long)s->exchange_ms,
		(unsigned long long)s->unwrap_ms,
		(unsigned long long)s->mount_ms, s->failed_step);
	kprintf("run: proxy stream %u connects, %llu bytes sent, %llu received; "
		"AMD-SP %u guest requests\n", harness.proxy.connects,
		(unsigned long long)harness.proxy.bytes_sent,
		(unsigned long long)harness.proxy.bytes_received,
		harness.guest_requests);
}

int tpmboot_mode_simtest(const struct boot_info *info)
{
	if (configure(info->cmdline) != 0)
		return -1;
	harness_platform_init(&harness, &platform, NULL);
	return simtest_run(&harness);
}

int tpmboot_mode_run(const struct boot_info *info, struct virtio_blk *blk)
{
	struct tpmboot_summary summary;
	struct tpmboot_fs *fs = NULL;
	size_t heap_before, stack_before, stack_used;
	uint64_t t0, elapsed;
	int rc, result;

	if (blk == NULL) {
		kprintf("run: no virtio-blk device; start QEMU with the image "
			"(run-vm.sh --image)\n");
		return -1;
	}
	if (configure(info->cmdline) != 0)
		return -1;
	harness_platform_init(&harness, &platform, blk);
	kprintf("run: streams: host proxy %s, AMD-SP simulator %s; VMPCK %s\n",
		harness.proxy.present ? "on COM3" : "missing",
		harness.amdsp.present ? "on COM2" : "missing",
		config.vmpck != NULL ? "from fw_cfg" : "absent");

	memset(&summary, 0, sizeof(summary));
	heap_before = heap_in_use();
	heap_reset_peak();
	stack_before = kernel_stack_refill();
	t0 = timer_now_ms();

	rc = tpmboot_run(&platform, &config, &fs, &summary);

	elapsed = timer_now_ms() - t0;
	stack_used = kernel_stack_peak() - stack_before;
	print_summary(&summary);
	if (rc != 0) {
		kprintf("run: tpmboot_run failed after %llu ms: %s (%d): %s\n",
			(unsigned long long)elapsed, tpmboot_error_name(rc), rc,
			tpmboot_strerror(rc));
		result = -1;
	} else {
		kprintf("run: tpmboot_run succeeded in %llu ms\n",
			(unsigned long long)elapsed);
		result = report_nvchip(fs, info->cmdline);
		tpmboot_fs_close(fs);
	}

	kprintf("run: module stack peak %zu bytes, heap peak %zu bytes\n",
		stack_used, heap_peak() - heap_before);
	if (heap_in_use() != heap_before) {
		kprintf("run: the module left %zu heap bytes allocated\n",
			heap_in_use() - heap_before);
		result = -1;
	}
	if (config.vmpck != NULL)
		kprintf("run: VMPCK after tpmboot_run: %s\n",
			all_zero(vmpck, sizeof(vmpck)) ?
				"wiped by the module (a failure that could "
				"desynchronise the sequence number)" :
				"kept (it is the platform's key; the module "
				"wipes only its own copies)");
	memset(vmpck, 0, sizeof(vmpck));
	return result;
}
