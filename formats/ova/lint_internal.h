/* formats/ova/lint_internal.h: what the linter's tar pass (lint.c) hands to its
 * descriptor pass (lint_ovf.c). Internal to formats/ova/. */
#ifndef APKG_FORMATS_OVA_LINT_INTERNAL_H
#define APKG_FORMATS_OVA_LINT_INTERNAL_H

#include "formats/ova/lint.h"
#include "util/digest.h"
#include "util/strbuf.h"

#include <stdint.h>

enum member_kind { MEMBER_OVF, MEMBER_MF, MEMBER_CERT, MEMBER_FILE };

struct lint_member {
	char *name;
	uint64_t size;
	enum member_kind kind;
	char digest[3][DIGEST_MAX_HEX]; /* by enum digest_alg */
	int have_digest[3];
	int is_vmdk;                    /* a sparse VMDK header was read */
	uint64_t vmdk_capacity;         /* bytes, from that header */
};

struct manifest_entry {
	char *name;
	enum digest_alg alg;
	char hex[DIGEST_MAX_HEX];
	int line;
};

struct lint_ctx {
	struct lint_report *report;
	struct lint_member *members;
	size_t n_members;
	const char *current;            /* member being read, for messages */
	struct strbuf ovf_text, mf_text;
	struct manifest_entry *mf;
	size_t n_mf;
	int mf_parsed;
	int seen_ovf, seen_mf;          /* a descriptor / manifest member was read */
	char **ref_hrefs;               /* References/File hrefs, in order (lint_ovf.c) */
	size_t n_refs;
};

void lint_add(struct lint_report *r, enum lint_severity sev, const char *rule, unsigned products, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
enum member_kind lint_member_kind(const char *name);
const struct lint_member *lint_find_member(const struct lint_ctx *c, const char *name);

/* lint_ovf.c: parses c->ovf_text and checks the descriptor against the members. */
void lint_check_ovf(struct lint_ctx *c);
/* The files must come in References order. */
void lint_check_reference_order(struct lint_ctx *c);
void lint_ovf_release(struct lint_ctx *c);

#endif
