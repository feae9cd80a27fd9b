/* builder/hygiene.h: the hygiene gates: what must not ship in every copy of an appliance.
 *
 * Appliances are notorious for baking secrets and identity into every copy
 * (shared/reference/peers.md, item 10). The rules below look at a finished
 * root filesystem, file by file, and report findings under stable rule names:
 *
 *   errors (an unwaived one fails the build)   warnings (reported, recorded)
 *   ssh-host-keys   machine-id                  apt-lists     shell-history
 *   root-password   world-writable              build-logs    suid-binaries
 *   private-keys                                untrimmed-free-space (images only)
 *
 * The engine does not care where the files come from: a scan is fed entries
 * (path, lstat data, the first bytes of a regular file), from a directory
 * walk at build time (hygiene_scan_tree) or from a tar stream of an existing
 * image that libguestfs produces (hygiene_scan_tar_fd, for `apkg inspect
 * --hygiene`). Everything read from the image is treated as hostile: file
 * contents are read up to a bound per file and parsed with bounds checks.
 * A recipe may waive a rule (optionally for some paths only) with a reason,
 * and allow private keys at listed paths; both are recorded in the report.
 */
#ifndef APKG_BUILDER_HYGIENE_H
#define APKG_BUILDER_HYGIENE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct recipe;
struct strbuf;

enum hygiene_severity { HYGIENE_ERROR, HYGIENE_WARNING };

struct hygiene_rule {
	const char *name;              /* stable: recipes and scripts use it */
	enum hygiene_severity severity;
	const char *summary;           /* one line, for messages and the README */
};

/* Every rule, ending with {NULL}. */
extern const struct hygiene_rule hygiene_rules[];
/* The rule names alone, ending with NULL (for the recipe's enum check). */
extern const char *const hygiene_rule_names[];
const struct hygiene_rule *hygiene_rule_find(const char *name);

/* Reads of file contents are bounded: the first HYGIENE_HEAD_MAX bytes of
 * each regular file are scanned for private keys (a key later in a file is
 * not seen); the account, machine-id and dpkg files get up to HYGIENE_TEXT_MAX. */
#define HYGIENE_HEAD_MAX (256u << 10)
#define HYGIENE_TEXT_MAX (16u << 20)
/* Findings kept per rule; further ones are only counted. */
#define HYGIENE_MAX_FINDINGS_PER_RULE 100

struct hygiene_finding {
	const struct hygiene_rule *rule;
	char *path;                    /* image path, or NULL for image-wide findings */
	char *detail;                  /* what is wrong, in words */
	const char *waiver_reason;     /* non-NULL when a waiver covers it (owned by the policy) */
};

/* A waiver: rule by name; paths (exact, or directories covering what is
 * below them) narrow it; no paths cover the whole image. */
struct hygiene_waiver {
	const char *rule;
	const char *reason;
	const char *const *paths;
	size_t n_paths;
	int used;                      /* set when it covered a finding */
};

struct hygiene_policy {
	struct hygiene_waiver *waivers;
	size_t n_waivers;
	const char *const *allowed_keys; /* private keys expected at these exact paths */
	size_t n_allowed_keys;
	int root_password_set;           /* the recipe sets root's password itself */
};

struct hygiene_report {
	struct hygiene_finding *items;
	size_t n, cap;
	size_t dropped[16];              /* per rule index: findings over the cap */
	size_t errors, warnings;         /* unwaived findings, dropped ones included */
	size_t waived;
};

/* The policy a recipe asks for (pointers into r, which must outlive it). */
void hygiene_policy_from_recipe(const struct recipe *r, struct hygiene_policy *p);
void hygiene_policy_release(struct hygiene_policy *p);

/* ---- the scan ---- */

struct hygiene_entry {
	const char *path;              /* absolute image path, "/" separated, no trailing slash */
	mode_t mode;                   /* type and permission bits, as lstat gives them */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	const char *link_target;       /* symbolic links: the target, else NULL */
	const unsigned char *data;     /* regular files: the first data_len bytes */
	size_t data_len;               /* at most hygiene_scan_wants() */
};

struct hygiene_scan;

struct hygiene_scan *hygiene_scan_new(const struct hygiene_policy *p);
/* How many bytes of a regular file the scan wants to see (0: none). */
size_t hygiene_scan_wants(const struct hygiene_scan *s, const char *path, uint64_t size);
void hygiene_scan_entry(struct hygiene_scan *s, const struct hygiene_entry *e);
/* Adds a finding that no file walk can see (e.g. untrimmed-free-space). */
void hygiene_scan_add(struct hygiene_scan *s, const char *rule, const char *path, const char *detail);
/* Ends the scan: the rules that need the whole tree run, waivers are
 * applied, and the findings (sorted by rule, then path) go to out. */
void hygiene_scan_finish(struct hygiene_scan *s, struct hygiene_report *out);
void hygiene_scan_free(struct hygiene_scan *s);

/* Feeds every entry below rootdir (not crossing into other filesystems,
 * never following a symlink). Returns 0, or -1 after printing an error. */
int hygiene_scan_tree(struct hygiene_scan *s, const char *rootdir);
/* Feeds every entry of a tar stream read from fd (the image root, as
 * `tar -C / -c .` or libguestfs' tar-out writes it). Returns 0 or -1. */
int hygiene_scan_tar_fd(struct hygiene_scan *s, int fd);

void hygiene_report_release(struct hygiene_report *r);
/* Prints each finding (errors with error(), warnings with warning(), waived
 * ones with info()). With a recipe, a finding at a path that the recipe's
 * `files` put there also names that entry's position. */
void hygiene_report_print(const struct hygiene_report *rep, const struct recipe *r);
/* The report as a JSON object (see README: "hygiene" in manifest.json and
 * in `apkg inspect --json`), with the policy's waivers and allow-list. */
void hygiene_report_json(const struct hygiene_report *rep, const struct hygiene_policy *p, struct strbuf *out,
			 int indent);

/* The build's gate: scans rootdir under the recipe's policy, prints the
 * findings, appends the JSON report to json_out, and returns -1 when an
 * unwaived error remains (after saying how to waive it), else 0. */
int hygiene_gate(const struct recipe *r, const char *rootdir, struct strbuf *json_out);

#endif
