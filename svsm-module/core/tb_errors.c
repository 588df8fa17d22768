/*
 * Names and messages of the public error codes, generated from the same
 * X-macro lists as enum tpmboot_error.
 */
#include "tpmboot.h"

struct tb_error_entry {
	int code;
	const char *name;
	const char *message;
};

static const struct tb_error_entry error_table[] = {
	{ TPMBOOT_OK, "TPMBOOT_OK", "success" },
#define X(name, number, message) { number, #name, message },
#include "tpmboot/errors-general.def"
#include "tpmboot/errors-crypto.def"
#include "tpmboot/errors-cocoonfs.def"
#include "tpmboot/errors-wrapkey.def"
#include "tpmboot/errors-attest.def"
#include "tpmboot/errors-kbs.def"
#undef X
};

static const struct tb_error_entry *find_error(int error)
{
	size_t i;

	for (i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
		if (error_table[i].code == error)
			return &error_table[i];
	}
	return NULL;
}

const char *tpmboot_strerror(int error)
{
	const struct tb_error_entry *e = find_error(error);

	return e != NULL ? e->message : "unknown error code";
}

const char *tpmboot_error_name(int error)
{
	const struct tb_error_entry *e = find_error(error);

	return e != NULL ? e->name : "TPMBOOT_E_UNKNOWN";
}
