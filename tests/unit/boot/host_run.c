/*
 * tpmboot-host-run: runs the whole boot flow, tpmboot_run(), as a host
 * process with the test platform. The image is a file, and the KBS stream
 * is a TCP or Unix socket (the test KBS or a proxy). SEV-SNP guest requests
 * go to the AMD-SP simulator's socket. It prints the outcome, the NVChip
 * digest and the heap and stack peaks, and exits 0 on success or 1 on
 * failure.
 *
 * It is the host twin of the QEMU harness kernel: the same module code
 * without the VM, for the boot-flow tests and the instruction-count
 * benchmark (valgrind --tool=callgrind counts this process only).
 */
#include <getopt.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "amdsp_client.h"
#include "tb_test_platform.h"
#include "tpmboot.h"

/* The platform's ctx is the test platform, so the simulator connection
 * reaches the guest-request callback through this pointer. */
static struct amdsp *guest_request_sim;

static int guest_request(void *ctx, int extended, const uint8_t *req_page,
			 uint8_t *resp_page, uint8_t *certs_buf,
			 uint32_t *certs_pages, uint64_t *fw_error)
{
	(void)ctx;
	return amdsp_snp_guest_request(guest_request_sim, extended, req_page,
				       resp_page, certs_buf, certs_pages,
				       fw_error);
}

struct run_call {
	struct tb_test_platform *tp;
	struct tpmboot_fs **fs;
	struct tpmboot_summary *summary;
	int rc;
};

/* tpmboot_run() on a painted stack; the platform callbacks run on it too,
 * so the measured peak is an upper bound for the module alone. */
static void run_boot_on_stack(void *arg)
{
	struct run_call *call = arg;

	call->rc = tpmboot_run(&call->tp->platform, &call->tp->config,
			       call->fs, call->summary);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tpmboot-host-run --image FILE --amdsp-unix PATH\n"
		"         (--kbs-port PORT | --kbs-unix PATH) [options]\n"
		"  --vmpck-file FILE     32-byte VMPCK (default: bytes 0..31,\n"
		"                        the AMD-SP simulator's VMPCK0)\n"
		"  --vmpck-index N       VMPCK number, 0..3 (default 0)\n"
		"  --msg-seqno N         last sequence number used with the\n"
		"                        VMPCK (default 0: a fresh simulator)\n"
		"  --protocol NAME       trustee (default) or aproxy\n"
		"  --tee-key NAME        p256 (default), p521 or rsa\n"
		"  --simd NAME           auto (default), none, sse or vaes\n"
		"  --kbs-release-key FILE  pin the KBS release key: a 65-byte\n"
		"                        SEC 1 uncompressed P-256 public key\n"
		"                        (default: none, releases unauthenticated)\n"
		"  --writable            open the image read-write (default\n"
		"                        read-only: the module must not write)\n"
		"  --quiet               print the module's log only on failure\n");
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int read_vmpck(const char *path, uint8_t vmpck[32])
{
	FILE *f;
	size_t n;

	if (path == NULL) {
		for (int i = 0; i < 32; i++)
			vmpck[i] = (uint8_t)i;
		return 0;
	}
	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	n = fread(vmpck, 1, 32, f);
	fclose(f);
	return n == 32 ? 0 : -1;
}

/* Reads exactly 65 bytes, the SEC 1 uncompressed form of a P-256 key. */
static int read_release_key(const char *path, uint8_t key[65])
{
	uint8_t extra;
	FILE *f;
	size_t n;

	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	n = fread(key, 1, 65, f);
	if (n == 65 && fread(&extra, 1, 1, f) != 0)
		n = 0;
	fclose(f);
	return n == 65 ? 0 : -1;
}

static int parse_choice(const char *value, const char *const *names, int count)
{
	for (int i = 0; i < count; i++) {
		if (strcmp(value, names[i]) == 0)
			return i;
	}
	return -1;
}

static void print_nvchip(struct tpmboot_fs *fs)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	size_t len = 0;
	uint8_t *buf;
	int rc;

	rc = tpmboot_fs_size(fs, TPMBOOT_INODE_NVCHIP, &len);
	if (rc != TPMBOOT_OK) {
		printf("nvchip: %s\n", tpmboot_error_name(rc));
		return;
	}
	buf = malloc(len + 1);
	rc = tpmboot_fs_read(fs, TPMBOOT_INODE_NVCHIP, buf, len, &len);
	if (rc == TPMBOOT_OK) {
		SHA256(buf, len, digest);
		printf("nvchip-size: %zu\nnvchip-sha256: ", len);
		for (size_t i = 0; i < sizeof(digest); i++)
			printf("%02x", digest[i]);
		printf("\n");
	} else {
		printf("nvchip: %s\n", tpmboot_error_name(rc));
	}
	free(buf);
}

int main(int argc, char **argv)
{
	static const char *const protocols[] = { "trustee", "aproxy" };
	static const char *const tee_keys[] = { "p256", "p521", "rsa" };
	static const char *const simd[] = { "auto", "none", "sse", "vaes" };
	static const struct option options[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "amdsp-unix", required_argument, NULL, 'a' },
		{ "kbs-port", required_argument, NULL, 'p' },
		{ "kbs-unix", required_argument, NULL, 'u' },
		{ "vmpck-file", required_argument, NULL, 'v' },
		{ "vmpck-index", required_argument, NULL, 'n' },
		{ "msg-seqno", required_argument, NULL, 'S' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "tee-key", required_argument, NULL, 'k' },
		{ "simd", required_argument, NULL, 's' },
		{ "kbs-release-key", required_argument, NULL, 'r' },
		{ "writable", no_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *image = NULL, *amdsp_path = NULL, *kbs_unix = NULL;
	const char *vmpck_file = NULL, *release_key_file = NULL;
	uint8_t release_key[65];
	struct tb_test_platform tp;
	struct tpmboot_summary summary;
	struct tpmboot_fs *fs = NULL;
	struct amdsp sim;
	uint8_t vmpck[32];
	uint64_t seqno = 0;
	size_t stack_peak = 0;
	struct run_call call;
	int kbs_port = 0, writable = 0, quiet = 0, opt, rc;
	int protocol = 0, tee_key = 0, simd_cap = 0;
	unsigned vmpck_index = 0;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'i': image = optarg; break;
		case 'a': amdsp_path = optarg; break;
		case 'p': kbs_port = atoi(optarg); break;
		case 'u': kbs_unix = optarg; break;
		case 'v': vmpck_file = optarg; break;
		case 'n': vmpck_index = (unsigned)atoi(optarg); break;
		case 'S': seqno = strtoull(optarg, NULL, 0); break;
		case 'P': protocol = parse_choice(optarg, protocols, 2); break;
		case 'k': tee_key = parse_choice(optarg, tee_keys, 3); break;
		case 's': simd_cap = parse_choice(optarg, simd, 4); break;
		case 'r': release_key_file = optarg; break;
		case 'w': writable = 1; break;
		case 'q': quiet = 1; break;
		default: usage(); return 2;
		}
	}
	if (image == NULL || amdsp_path == NULL ||
	    (kbs_port == 0 && kbs_unix == NULL) || protocol < 0 ||
	    tee_key < 0 || simd_cap < 0 || vmpck_index > 3) {
		usage();
		return 2;
	}
	if (read_vmpck(vmpck_file, vmpck) != 0) {
		fprintf(stderr, "cannot read a 32-byte VMPCK from %s\n", vmpck_file);
		return 2;
	}

	if (release_key_file != NULL &&
	    read_release_key(release_key_file, release_key) != 0) {
		fprintf(stderr, "cannot read a 65-byte KBS release key from %s\n",
			release_key_file);
		return 2;
	}

	tb_test_platform_init(&tp);
	tp.log_echo = !quiet;
	if (tb_test_platform_use_image_file(&tp, image, writable) != 0) {
		fprintf(stderr, "cannot open image %s\n", image);
		return 2;
	}
	if (kbs_unix != NULL)
		tb_test_platform_use_stream_unix(&tp, kbs_unix);
	else
		tb_test_platform_use_stream_tcp(&tp, "127.0.0.1",
						(uint16_t)kbs_port);

	memset(&sim, 0, sizeof(sim));
	sim.fd = connect_unix(amdsp_path);
	if (sim.fd < 0) {
		fprintf(stderr, "cannot connect to the AMD-SP simulator at %s\n",
			amdsp_path);
		return 2;
	}
	guest_request_sim = &sim;
	tp.platform.snp_guest_request = guest_request;
	tp.config.tee = TPMBOOT_TEE_SNP;
	tp.config.kbs_protocol = (enum tpmboot_kbs_protocol)protocol;
	tp.config.tee_key = (enum tpmboot_tee_key)tee_key;
	tp.config.simd_cap = simd_cap == 0 ? TPMBOOT_SIMD_AUTO :
			     simd_cap == 1 ? TPMBOOT_SIMD_NONE :
			     simd_cap == 2 ? TPMBOOT_SIMD_SSE :
					     TPMBOOT_SIMD_AVX2_VAES;
	tp.config.vmpck = vmpck;
	tp.config.vmpck_index = vmpck_index;
	tp.config.msg_seqno = &seqno;
	tp.config.log_level = TPMBOOT_LOG_DEBUG;
	if (release_key_file != NULL)
		tp.config.kbs_release_key = release_key;

	call = (struct run_call){ &tp, &fs, &summary, 0 };
	stack_peak = tb_test_run_on_painted_stack(run_boot_on_stack, &call);
	rc = call.rc;
	printf("result: %s (%d)\n", tpmboot_error_name(rc), rc);
	printf("failed-step: %u\n", summary.failed_step);
	printf("steps-ms: discover %llu attest %llu exchange %llu unwrap %llu "
	       "mount %llu\n", (unsigned long long)summary.discover_ms,
	       (unsigned long long)summary.attest_ms,
	       (unsigned long long)summary.exchange_ms,
	       (unsigned long long)summary.unwrap_ms,
	       (unsigned long long)summary.mount_ms);
	if (rc == TPMBOOT_OK) {
		print_nvchip(fs);
		tpmboot_fs_close(fs);
	} else if (quiet) {
		fputs(tp.log_text, stderr);
	}
	printf("msg-seqno: %llu\n", (unsigned long long)seqno);
	printf("vmpck-wiped: %s\n",
	       vmpck[0] == 0 && memcmp(vmpck, vmpck + 1, 31) == 0 ? "yes" : "no");
	printf("blocks-written: %llu\n", (unsigned long long)tp.blocks_written);
	printf("heap-peak: %zu\n", tp.heap_peak);
	printf("stack-peak: %zu\n", stack_peak);
	printf("heap-leaked: %zu\n", tb_test_platform_fini(&tp));
	close(sim.fd);
	return rc == TPMBOOT_OK ? 0 : 1;
}
