/*
 * tpmboot-mkimage: command line. See usage() and docs/tpmboot-mkimage.md.
 * Exit status: 0 on success, 1 on any error (with one message on stderr),
 * 2 for invalid usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mk.h"

static const char usage_text[] =
"Usage: tpmboot-mkimage COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  mkfs -i IMAGE -s SIZE (-K HEX | -k FILE) [format options]\n"
"       [--file INODE[:FLAGS]=PATH]... [--aux UUID=PATH]...\n"
"      Write a new CocoonFs (format version 1) image with the given files\n"
"      and auxiliary metadata entries.\n"
"  write-mkfs-info -i IMAGE -s SIZE [format options] [--aux UUID=PATH]...\n"
"      Write an unformatted volume holding only a filesystem creation\n"
"      header; the first opener with the key formats it.\n"
"  aux list -i IMAGE [--hex]\n"
"      List the auxiliary metadata entries (no key needed).\n"
"  aux add -i IMAGE UUID PATH\n"
"  aux remove -i IMAGE UUID [INDEX]\n"
"      Change the auxiliary metadata without the key, within the reserve\n"
"      made at mkfs. INDEX picks among entries with the same UUID (0).\n"
"  provision -i IMAGE --wrap MODE [wrap options] [-s SIZE] [--nvchip FILE]\n"
"       [--key1-file FILE] [--print-key1] [--key1-out FILE] [format options]\n"
"      Make a vTPM image: NVChip at inode 0x100000000 (a fresh random\n"
"      16 KiB one unless --nvchip), \"COCONUT-SVSM\" at 0x100000001, and the\n"
"      wrapped-key entry. Key1 is 32 random bytes unless --key1-file.\n"
"  add-wrapped-key -i IMAGE --key1-file FILE --wrap MODE [wrap options]\n"
"      Add a wrapped-key entry to an existing image without the image's\n"
"      key (keyless aux update). Key1 is the image's raw key.\n"
"\n"
"Format options (sizes take B, K, M or G; a bare number is bytes):\n"
"  -s, --size SIZE                    image size (provision: 256K)\n"
"  -K, --key HEX / -k, --key-file F   raw filesystem key\n"
"  -I, --salt HEX                     salt (filesystem ID); provision: 16\n"
"                                     random bytes if not given\n"
"  -t, --security-strength 128|192|256   hash and AES sizes (128)\n"
"  -H sha2, -C aes                    the only hash family and cipher\n"
"  --allocation-block-size SIZE       (128B)\n"
"  --io-block-size SIZE               (512B)\n"
"  --auth-tree-data-block-size SIZE   (the IO block size)\n"
"  --auth-tree-node-size SIZE         (1K)\n"
"  --allocation-bitmap-file-block-size SIZE (512B)\n"
"  --inode-index-tree-leaf-node-size SIZE     (128B)\n"
"  --inode-index-tree-internal-node-size SIZE (128B)\n"
"  --aux-fs-metadata-extra-reserve-capacity SIZE|disabled\n"
"                                     room for keyless aux updates (1K)\n"
"  -n, --no-randomize                 leave unallocated space zero\n"
"\n"
"Wrap options for provision:\n"
"  --wrap kbs-unwrap --key-id ID (--kek-file F |\n"
"         --kbs URL --kbs-admin-token-file F)\n"
"      AES-256-GCM envelope under a KEK, made locally from a 32-byte KEK\n"
"      file (raw or hex) or by the KBS at URL (http://host:port).\n"
"  --wrap resource --resource REPOSITORY/TYPE/TAG\n"
"      Key1 is a KBS resource; upload it there yourself (--key1-out).\n"
"  --wrap trustee-pkcs11 --rsa-pub PEM [--key-id LABEL]\n"
"      RSA-OAEP-SHA256 encryption of Key1 with the plugin's public key.\n"
"  --print-key1                       print Key1 in hex on stdout\n"
"  --key1-out FILE                    write Key1 (raw, mode 0600)\n";

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "tpmboot-mkimage: %s%s%s\n", msg, arg ? ": " : "",
		arg ? arg : "");
	fprintf(stderr, "Run \"tpmboot-mkimage --help\" for the options.\n");
	return 2;
}

enum {
	OPT_AB = 256, OPT_IOB, OPT_ATDB, OPT_NODE, OPT_BITMAP, OPT_LEAF,
	OPT_INTERNAL, OPT_RESERVE, OPT_FILE, OPT_AUX, OPT_HEX, OPT_WRAP,
	OPT_KBS, OPT_TOKEN, OPT_KEY_ID, OPT_KEK, OPT_RESOURCE, OPT_RSA,
	OPT_NVCHIP, OPT_KEY1_FILE, OPT_PRINT_KEY1, OPT_KEY1_OUT,
};

static const struct option long_opts[] = {
	{ "image", required_argument, NULL, 'i' },
	{ "size", required_argument, NULL, 's' },
	{ "key", required_argument, NULL, 'K' },
	{ "key-file", required_argument, NULL, 'k' },
	{ "salt", required_argument, NULL, 'I' },
	{ "security-strength", required_argument, NULL, 't' },
	{ "hash", required_argument, NULL, 'H' },
	{ "cipher", required_argument, NULL, 'C' },
	{ "no-randomize", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "allocation-block-size", required_argument, NULL, OPT_AB },
	{ "io-block-size", required_argument, NULL, OPT_IOB },
	{ "auth-tree-data-block-size", required_argument, NULL, OPT_ATDB },
	{ "auth-tree-node-size", required_argument, NULL, OPT_NODE },
	{ "allocation-bitmap-file-block-size", required_argument, NULL, OPT_BITMAP },
	{ "inode-index-tree-leaf-node-size", required_argument, NULL, OPT_LEAF },
	{ "inode-index-tree-internal-node-size", required_argument, NULL, OPT_INTERNAL },
	{ "aux-fs-metadata-extra-reserve-capacity", required_argument, NULL, OPT_RESERVE },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "aux", required_argument, NULL, OPT_AUX },
	{ "hex", no_argument, NULL, OPT_HEX },
	{ "wrap", required_argument, NULL, OPT_WRAP },
	{ "kbs", required_argument, NULL, OPT_KBS },
	{ "kbs-admin-token-file", required_argument, NULL, OPT_TOKEN },
	{ "key-id", required_argument, NULL, OPT_KEY_ID },
	{ "kek-file", required_argument, NULL, OPT_KEK },
	{ "resource", required_argument, NULL, OPT_RESOURCE },
	{ "rsa-pub", required_argument, NULL, OPT_RSA },
	{ "nvchip", required_argument, NULL, OPT_NVCHIP },
	{ "key1-file", required_argument, NULL, OPT_KEY1_FILE },
	{ "print-key1", no_argument, NULL, OPT_PRINT_KEY1 },
	{ "key1-out", required_argument, NULL, OPT_KEY1_OUT },
	{ NULL, 0, NULL, 0 },
};

#define MAX_ITEMS 4096

struct cli {
	struct mk_params params;
	struct mk_provision pv;
	const char *image;
	uint8_t key[1024];
	size_t key_len;
	int have_key, have_size, hex;
	struct mk_file files[MAX_ITEMS];
	size_t file_count;
	struct mk_aux_entry aux[MAX_ITEMS];
	size_t aux_count;
	uint8_t *buffers[2 * MAX_ITEMS];
	size_t buffer_count;
	uint8_t key1[64];
};

static int size_log2(const char *text, uint32_t *out)
{
	uint64_t v;
	uint32_t l = 0;

	if (mk_parse_size(text, &v) != MK_OK)
		return MK_E_USAGE;
	while (l < 63 && ((uint64_t)1 << l) < v)
		l++;
	if (v == 0 || ((uint64_t)1 << l) != v)
		return mk_fail(MK_E_USAGE, "size \"%s\" is not a power of two",
			       text);
	*out = l;
	return MK_OK;
}

/* Loads PATH of a NAME=PATH argument into a kept buffer. */
static int load_item(struct cli *c, const char *path, const uint8_t **data,
		     size_t *len)
{
	uint8_t *buf;
	int rc = mk_read_file(path, &buf, len);

	if (rc != MK_OK)
		return rc;
	c->buffers[c->buffer_count++] = buf;
	*data = buf;
	return MK_OK;
}

static int parse_file_arg(struct cli *c, char *arg)
{
	char *eq = strchr(arg, '='), *colon;
	struct mk_file *f = &c->files[c->file_count];
	uint64_t flags = 0;
	int rc;

	if (eq == NULL || c->file_count == MAX_ITEMS)
		return mk_fail(MK_E_USAGE, "--file \"%s\" is not INODE[:FLAGS]"
			       "=PATH", arg);
	*eq = '\0';
	colon = strchr(arg, ':');
	if (colon != NULL) {
		*colon = '\0';
		if ((rc = mk_parse_u64(colon + 1, &flags)) != MK_OK)
			return rc;
	}
	if ((rc = mk_parse_u64(arg, &f->inode)) != MK_OK ||
	    (rc = load_item(c, eq + 1, &f->data, &f->len)) != MK_OK)
		return rc;
	if (flags > 255)
		return mk_fail(MK_E_USAGE, "file flags %llu exceed 255",
			       (unsigned long long)flags);
	f->flags = (uint32_t)flags;
	c->file_count++;
	return MK_OK;
}

static int parse_aux_arg(struct cli *c, char *arg)
{
	char *eq = strchr(arg, '=');
	struct mk_aux_entry *e = &c->aux[c->aux_count];
	int rc;

	if (eq == NULL || c->aux_count == MAX_ITEMS)
		return mk_fail(MK_E_USAGE, "--aux \"%s\" is not UUID=PATH", arg);
	*eq = '\0';
	if ((rc = mk_parse_uuid(arg, e->uuid)) != MK_OK ||
	    (rc = load_item(c, eq + 1, &e->data, &e->len)) != MK_OK)
		return rc;
	c->aux_count++;
	return MK_OK;
}

static int parse_key_file(struct cli *c, const char *path)
{
	uint8_t *data;
	size_t len;
	int rc = mk_read_file(path, &data, &len);

	if (rc != MK_OK)
		return rc;
	if (len == 0 || len > sizeof(c->key)) {
		free(data);
		return mk_fail(MK_E_USAGE, "key file %s must hold 1 to %zu "
			       "bytes", path, sizeof(c->key));
	}
	memcpy(c->key, data, len);
	c->key_len = len;
	c->have_key = 1;
	mk_wipe(data, len);
	free(data);
	return MK_OK;
}

static int parse_opt(struct cli *c, int opt, char *arg)
{
	struct mk_params *p = &c->params;
	uint64_t v;
	int rc = MK_OK;

	switch (opt) {
	case 'i': c->image = arg; break;
	case 's':
		rc = mk_parse_size(arg, &p->image_size);
		c->have_size = 1;
		break;
	case 'K':
		rc = mk_parse_hex(arg, c->key, sizeof(c->key), &c->key_len);
		c->have_key = 1;
		break;
	case 'k': rc = parse_key_file(c, arg); break;
	case 'I': rc = mk_parse_hex(arg, p->salt, sizeof(p->salt), &p->salt_len); break;
	case 't':
		rc = mk_parse_u64(arg, &v);
		p->strength = (unsigned)v;
		break;
	case 'H':
		if (strcmp(arg, "sha2") != 0)
			rc = mk_fail(MK_E_USAGE, "hash family \"%s\" is not "
				     "supported (only sha2)", arg);
		break;
	case 'C':
		if (strcmp(arg, "aes") != 0)
			rc = mk_fail(MK_E_USAGE, "cipher \"%s\" is not supported "
				     "(only aes)", arg);
		break;
	case 'n': p->randomize = 0; break;
	case OPT_AB: rc = size_log2(arg, &p->ab_log2); break;
	case OPT_IOB: rc = size_log2(arg, &p->iob_log2); break;
	case OPT_ATDB: rc = size_log2(arg, &p->atdb_log2); break;
	case OPT_NODE: rc = size_log2(arg, &p->node_log2); break;
	case OPT_BITMAP: rc = size_log2(arg, &p->bitmap_log2); break;
	case OPT_LEAF: rc = size_log2(arg, &p->leaf_log2); break;
	case OPT_INTERNAL: rc = size_log2(arg, &p->internal_log2); break;
	case OPT_RESERVE:
		if (strcmp(arg, "disabled") == 0)
			p->aux_reserve = MK_RESERVE_DISABLED;
		else
			rc = mk_parse_size(arg, &p->aux_reserve);
		break;
	case OPT_FILE: rc = parse_file_arg(c, arg); break;
	case OPT_AUX: rc = parse_aux_arg(c, arg); break;
	case OPT_HEX: c->hex = 1; break;
	case OPT_WRAP: c->pv.wrap_mode = arg; break;
	case OPT_KBS: c->pv.kbs_url = arg; break;
	case OPT_TOKEN: c->pv.kbs_token_file = arg; break;
	case OPT_KEY_ID: c->pv.key_id = arg; break;
	case OPT_KEK: c->pv.kek_file = arg; break;
	case OPT_RESOURCE: c->pv.resource = arg; break;
	case OPT_RSA: c->pv.rsa_pub_file = arg; break;
	case OPT_NVCHIP: c->pv.nvchip_path = arg; break;
	case OPT_KEY1_FILE: {
		uint8_t *data = NULL;
		size_t len;

		rc = mk_read_file(arg, &data, &len);
		if (rc == MK_OK && (len < 16 || len > sizeof(c->key1)))
			rc = mk_fail(MK_E_USAGE, "Key1 file %s must hold 16 to "
				     "64 raw bytes, not %zu", arg, len);
		if (rc == MK_OK) {
			memcpy(c->key1, data, len);
			c->pv.key1 = c->key1;
			c->pv.key1_len = len;
		}
		if (data != NULL && rc != MK_E_IO) {
			mk_wipe(data, len);
			free(data);
		}
		break;
	}
	case OPT_PRINT_KEY1: c->pv.print_key1 = 1; break;
	case OPT_KEY1_OUT: c->pv.key1_out = arg; break;
	default: rc = MK_E_USAGE; break;
	}
	return rc;
}

static int cmd_mkfs(struct cli *c, int info_only)
{
	uint8_t *image = NULL;
	size_t len = 0;
	int rc;

	if (c->image == NULL || !c->have_size)
		return usage_error("mkfs and write-mkfs-info need -i IMAGE and "
				   "-s SIZE", NULL);
	if (info_only) {
		rc = mk_mkfsinfo(&c->params, c->aux, c->aux_count, &image, &len);
	} else {
		if (!c->have_key)
			return usage_error("mkfs needs -K HEX or -k FILE", NULL);
		rc = mk_mkfs(&c->params, c->key, c->key_len, c->files,
			     c->file_count, c->aux, c->aux_count, &image, &len);
	}
	if (rc == MK_OK)
		rc = mk_write_file_atomic(c->image, image, len, 0);
	free(image);
	return rc == MK_OK ? 0 : 1;
}

static void print_entry(const struct mk_aux_entry *e, int hex)
{
	char uuid[37];
	size_t i;

	mk_format_uuid(e->uuid, uuid);
	printf("%s %zu", uuid, e->len);
	if (hex) {
		printf(" ");
		for (i = 0; i < e->len; i++)
			printf("%02x", e->data[i]);
	}
	printf("\n");
}

static int cmd_aux(struct cli *c, int argc, char **argv)
{
	uint8_t *image = NULL, uuid[MK_UUID_LEN];
	const uint8_t *data = NULL;
	size_t len, data_len = 0, i;
	uint64_t index = 0;
	const char *sub;
	int rc, unformatted = 0;

	sub = argv[2];
	if (c->image == NULL)
		return usage_error("aux needs -i IMAGE", NULL);
	if ((rc = mk_platform_attach()) != MK_OK ||
	    (rc = mk_read_file(c->image, &image, &len)) != MK_OK)
		return 1;

	if (strcmp(sub, "list") == 0) {
		struct mk_aux aux = { 0 };

		rc = mk_aux_read_image(image, len, &aux, &unformatted);
		if (rc == MK_OK && unformatted)
			rc = mk_fail(MK_E_FORMAT, "%s holds only a filesystem "
				     "creation header; listing its aux blob is "
				     "not implemented", c->image);
		for (i = 0; rc == MK_OK && i < mk_aux_count(&aux); i++) {
			struct mk_aux_entry e;

			mk_aux_get(&aux, i, &e);
			print_entry(&e, c->hex);
		}
		mk_aux_free(&aux);
		free(image);
		return rc == MK_OK ? 0 : 1;
	}

	if (strcmp(sub, "add") == 0 && optind + 2 == argc) {
		rc = mk_parse_uuid(argv[optind], uuid);
		if (rc == MK_OK)
			rc = load_item(c, argv[optind + 1], &data, &data_len);
		if (rc == MK_OK)
			rc = mk_aux_offline_update(image, len, MK_AUX_ADD, uuid,
						   data, data_len, 0);
	} else if (strcmp(sub, "remove") == 0 &&
		   (optind + 1 == argc || optind + 2 == argc)) {
		rc = mk_parse_uuid(argv[optind], uuid);
		if (rc == MK_OK && optind + 2 == argc)
			rc = mk_parse_u64(argv[optind + 1], &index);
		if (rc == MK_OK)
			rc = mk_aux_offline_update(image, len, MK_AUX_REMOVE,
						   uuid, NULL, 0, (size_t)index);
	} else {
		free(image);
		return usage_error("expected \"aux add -i IMAGE UUID PATH\" or "
				   "\"aux remove -i IMAGE UUID [INDEX]\"", sub);
	}
	if (rc == MK_OK)
		rc = mk_write_file_atomic(c->image, image, len, 0);
	free(image);
	return rc == MK_OK ? 0 : 1;
}

static int cmd_provision(struct cli *c)
{
	int rc;

	if (c->image == NULL || c->pv.wrap_mode == NULL)
		return usage_error("provision needs -i IMAGE and --wrap MODE",
				   NULL);
	if (!c->have_size)
		c->params.image_size = 256u * 1024u;
	c->pv.params = c->params;
	c->pv.image_path = c->image;
	rc = mk_provision_run(&c->pv);
	return rc == MK_OK ? 0 : 1;
}

static int cmd_add_wrapped_key(struct cli *c)
{
	if (c->image == NULL || c->pv.wrap_mode == NULL)
		return usage_error("add-wrapped-key needs -i IMAGE and --wrap "
				   "MODE", NULL);
	c->pv.image_path = c->image;
	return mk_add_wrapped_key_run(&c->pv) == MK_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct cli *c;
	const char *cmd;
	int opt, rc = MK_OK, status;
	size_t i;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return 1;
	mk_params_init(&c->params);
	cmd = argv[1];
	/* "aux" takes a subcommand word before its options. */
	optind = strcmp(cmd, "aux") == 0 && argc > 2 ? 3 : 2;
	while (rc == MK_OK &&
	       (opt = getopt_long(argc, argv, "i:s:K:k:I:t:H:C:nh", long_opts,
				  NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage_text, stdout);
			free(c);
			return 0;
		}
		if (opt == '?') {
			free(c);
			return usage_error("invalid option", NULL);
		}
		rc = parse_opt(c, opt, optarg);
	}
	if (rc != MK_OK) {
		status = rc == MK_E_USAGE ? 2 : 1;
	} else if (strcmp(cmd, "mkfs") == 0 && optind == argc) {
		status = cmd_mkfs(c, 0);
	} else if (strcmp(cmd, "write-mkfs-info") == 0 && optind == argc) {
		status = cmd_mkfs(c, 1);
	} else if (strcmp(cmd, "aux") == 0 && argc > 2) {
		status = cmd_aux(c, argc, argv);
	} else if (strcmp(cmd, "provision") == 0 && optind == argc) {
		status = cmd_provision(c);
	} else if (strcmp(cmd, "add-wrapped-key") == 0 && optind == argc) {
		status = cmd_add_wrapped_key(c);
	} else {
		status = usage_error("unknown command or extra arguments", cmd);
	}
	mk_wipe(c->key, sizeof(c->key));
	mk_wipe(c->key1, sizeof(c->key1));
	for (i = 0; i < c->buffer_count; i++)
		free(c->buffers[i]);
	free(c);
	return status;
}
