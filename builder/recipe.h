/* builder/recipe.h: the appliance recipe (schema version 1), parsed and resolved.
 *
 * recipe_load() reads a YAML file with libyaml, applies `extends` (maps merge
 * with the child winning, lists append), fills defaults and validates
 * everything. Every error is reported as "file:line:col: message" (with a
 * "did you mean" hint for misspelt keys) and all errors are reported, not
 * just the first. The resulting struct is fully resolved: later stages never
 * look at YAML and never need to apply defaults themselves.
 */
#ifndef APKG_BUILDER_RECIPE_H
#define APKG_BUILDER_RECIPE_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* Where a value came from, for error messages in later stages. */
struct recipe_pos {
	const char *file; /* owned by the recipe (interned) */
	int line, col;    /* 1-based; 0 when the value is a default */
};

struct string_list {
	char **items;
	struct recipe_pos *pos; /* one per item */
	size_t n;
};

enum base_kind { BASE_DEBIAN, BASE_BUSYBOX, BASE_TARBALL, BASE_OSTREE };
enum boot_mode { BOOT_HYBRID, BOOT_BIOS, BOOT_UEFI };

struct recipe_file {
	char *path;        /* absolute path inside the image */
	char *content;     /* inline content, or NULL */
	size_t content_len;
	char *source;      /* absolute host path (resolved against the recipe dir), or NULL */
	unsigned mode;     /* default 0644 for files, 0755 for directories from source */
	int mode_set;      /* mode given explicitly */
	char *owner;       /* "user:group", default "root:root" */
	struct recipe_pos pos;
};

struct recipe_user {
	char *name;
	long uid;          /* -1: allocate from 1000 upwards */
	struct string_list groups;
	char *shell;       /* default /bin/sh */
	char *password;    /* crypt(3) hash or "!" (default) */
	int password_set;  /* given explicitly in the recipe */
	struct string_list ssh_authorized_keys;
	char *home;        /* default /home/<name> (/root for root) */
	struct recipe_pos pos;
};

/* hygiene.waive[]: a hygiene rule (builder/hygiene.h) that does not apply, and why. */
struct recipe_waiver {
	char *rule;        /* a rule name, e.g. "private-keys" */
	char *reason;      /* recorded in manifest.json */
	struct string_list paths; /* image paths it covers (a directory covers what is below); empty: all */
	struct recipe_pos pos;
};

enum check_kind { CHECK_SERVICE, CHECK_TCP, CHECK_HTTP, CHECK_COMMAND, CHECK_FILE };

struct recipe_check {
	enum check_kind kind;
	char *target;      /* service name, command, file path or URL */
	int port;          /* tcp */
	int status;        /* http: expected status, default 200 */
	char *contains;    /* http: optional body substring */
	int timeout_s;     /* per attempt, default 5 */
	struct recipe_pos pos;
};

struct recipe {
	char *path;        /* the recipe file as given */
	char *dir;         /* absolute directory of the top-level recipe */
	char *name;
	char *version;
	char *description;
	uint64_t epoch;    /* SOURCE_DATE_EPOCH for this appliance: recipe `epoch`, env, or default */

	struct {
		enum base_kind kind;
		char *distro;     /* "debian" | "busybox" (NULL for tarball) */
		char *suite;      /* debian: default bookworm */
		char *variant;    /* debian: minbase | essential | standard; default minbase */
		char *mirror;     /* debian: NULL = host's apt source */
		char *tarball;    /* absolute host path */
		char *ostree_repo; /* ostree: absolute host path of the repository */
		char *ostree_ref;  /* ostree: a ref, or a commit checksum */
		char ostree_commit[65]; /* ostree: the commit the ref named when the recipe was loaded */
		struct recipe_pos pos;
	} base;

	struct {
		char *package;    /* default linux-image-amd64 */
		char *cmdline;    /* extra kernel command line, default "" */
		struct string_list modules;
	} kernel;

	struct string_list packages;
	struct recipe_file *files;
	size_t n_files;
	struct recipe_user *users;
	size_t n_users;
	struct string_list services_enable, services_disable;
	char *hostname;          /* default: the recipe name */
	int network_dhcp;        /* default 1 */
	struct string_list run;

	struct {
		uint64_t size;       /* bytes; 0 = auto */
		char *filesystem;    /* ext4 */
		enum boot_mode boot;
		struct recipe_pos size_pos;
	} disk;

	struct {
		int cpus;            /* default 1 */
		uint64_t memory;     /* bytes, default 512 MiB */
		char *nic;           /* e1000 | virtio | vmxnet3; default e1000 */
	} hardware;

	struct string_list outputs;   /* default [qcow2] */
	struct recipe_check *checks;
	size_t n_checks;
	int check_deadline_s;         /* default 120 */
	struct string_list targets;   /* default [vmm, qemu-uefi] */

	struct {
		struct recipe_waiver *waivers;
		size_t n_waivers;
		struct string_list allow_private_keys; /* image paths where a private key is expected */
	} hygiene;

	char hash[65];   /* sha256 over the resolved recipe (canonical JSON) and source contents */

	char **file_names;       /* the recipe files read (this one, then `extends` parents): recipe_pos.file */
	size_t n_file_names;
};

/* Parses, resolves and validates. On error prints every problem as
 * file:line:col and returns NULL. */
struct recipe *recipe_load(const char *path);
/* Parses from memory (used by the fuzzer and tests); `name` labels messages. */
struct recipe *recipe_load_buffer(const char *name, const char *data, size_t len);
/* Like recipe_load_buffer (or recipe_load when data is NULL), but appends the
 * messages to `diags` ("file:line:col: message\n" each) instead of printing them. */
struct recipe *recipe_load_diag(const char *path, const char *data, size_t len, struct strbuf *diags);
void recipe_free(struct recipe *r);
/* Canonical JSON of the resolved recipe (stable key order), used for
 * `apkg recipe check --json` and as the input of recipe->hash. */
void recipe_to_json(const struct recipe *r, struct strbuf *out);
/* The parts of a recipe that shape one stage's root filesystem (see
 * builder/stage_key.h): the base (base.*, packages, kernel.package,
 * network.dhcp, the epoch; for busybox also name and version) or the
 * customisation (files with their source contents, users, services,
 * hostname, network, run, the epoch). sha256 over their canonical JSON;
 * -1 after printing an error when a source cannot be read. */
enum recipe_part { RECIPE_PART_BASE, RECIPE_PART_CUSTOMIZE };
int recipe_part_digest(const struct recipe *r, enum recipe_part part, uint8_t digest[32]);
/* Parses sizes like "512M", "2G", "1048576" (binary units). Returns -1 if invalid. */
int parse_size(const char *s, uint64_t *out);
const char *check_kind_name(enum check_kind k);

#endif
