/* builder/recipe_validate.c: the merged recipe tree -> struct recipe (top-level sections).
 *
 * Reads every section, fills every default and checks every value, going on
 * after a problem so that all of them are reported. Lists of maps (files,
 * users, checks) are in recipe_items.c. When this returns 0, struct recipe
 * is complete: later stages never apply defaults themselves.
 */
#include "builder/recipe_internal.h"

#include "builder/ostree_io.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_EPOCH 1700000000ul
#define MAX_EPOCH 253402300799l /* 9999-12-31 */

static const char *const TOP_KEYS[] = {"apkg", "name", "version", "description", "extends", "epoch", "base",
				       "kernel", "packages", "files", "users", "services", "hostname",
				       "network", "run", "disk", "hardware", "outputs", "checks",
				       "check_deadline", "targets", "hygiene", NULL};
static const char *const BASE_KEYS[] = {"distro", "suite", "variant", "mirror", "tarball", "ostree", NULL};
static const char *const OSTREE_KEYS[] = {"repo", "ref", NULL};
static const char *const KERNEL_KEYS[] = {"package", "cmdline", "modules", NULL};
static const char *const SERVICES_KEYS[] = {"enable", "disable", NULL};
static const char *const NETWORK_KEYS[] = {"dhcp", NULL};
static const char *const DISK_KEYS[] = {"size", "filesystem", "boot", NULL};
static const char *const HARDWARE_KEYS[] = {"cpus", "memory", "nic", NULL};

static const char *const DISTROS[] = {"debian", "busybox", NULL};
static const char *const VARIANTS[] = {"minbase", "essential", "standard", NULL};
static const char *const FILESYSTEMS[] = {"ext4", NULL};
static const char *const BOOT_MODES[] = {"hybrid", "bios", "uefi", NULL}; /* enum boot_mode order */
static const char *const NICS[] = {"e1000", "virtio", "vmxnet3", NULL};
static const char *const OUTPUTS[] = {"raw", "qcow2", "vmdk", "ova", "vhdx", "vdi", "ostree", NULL};
static const char *const TARGETS[] = {"vmm",    "qemu-bios",  "qemu-uefi", "virtualbox", "virtualbox-efi",
				      "vmware", "vmware-efi", "hyperv",    NULL};
/* Targets whose virtual hardware has an AHCI controller the cloud kernel cannot drive. */
static const char *const AHCI_TARGETS[] = {"virtualbox", "virtualbox-efi", "vmware", "vmware-efi", "hyperv", NULL};

static const struct recipe_pos NO_POS = {NULL, 0, 0};

static void set_default(char **slot, const char *value)
{
	if (!*slot)
		*slot = xstrdup(value);
}

static void read_optional_string(struct vctx *v, const struct ynode *map, const char *key, const char *label,
				 const struct str_rule *rule, char **out)
{
	const struct ynode *n = field(map, key);
	if (n)
		read_string(v->c, n, label, rule, out);
}

static void read_required_string(struct vctx *v, const struct ynode *map, const char *key,
				 const struct str_rule *rule, char **out)
{
	const struct ynode *n = ynode_map_get(map, key);
	if (!n)
		missing_key(v->c, map, NULL, key);
	else
		read_string(v->c, n, key, rule, out);
}

static void read_epoch(struct vctx *v, const struct ynode *root)
{
	const struct ynode *n = field(root, "epoch");
	const char *env = getenv("SOURCE_DATE_EPOCH");
	long e;
	v->r->epoch = DEFAULT_EPOCH;
	if (n) {
		if (read_int(v->c, n, "epoch", 0, MAX_EPOCH, &e) == 0)
			v->r->epoch = (uint64_t)e;
	} else if (env && *env) {
		char *end;
		unsigned long long x = strtoull(env, &end, 10);
		if (*end || env[0] < '0' || env[0] > '9' || x > (unsigned long long)MAX_EPOCH)
			rerr_at(v->c, "SOURCE_DATE_EPOCH", 0, 0, "not a number of seconds since 1970: \"%s\"", env);
		else
			v->r->epoch = x;
	}
}

static void read_header(struct vctx *v, const struct ynode *root)
{
	const struct ynode *n = ynode_map_get(root, "apkg");
	long schema;
	if (!n)
		missing_key(v->c, root, NULL, "apkg");
	else if (read_int(v->c, n, "apkg", 0, 1000000, &schema) == 0 && schema != 1)
		rerr(v->c, n, "apkg: unsupported recipe version %ld (this apkg reads version 1)", schema);
	read_required_string(v, root, "name", &RULE_NAME, &v->r->name);
	read_required_string(v, root, "version", &RULE_VERSION, &v->r->version);
	read_optional_string(v, root, "description", "description", NULL, &v->r->description);
	read_epoch(v, root);
}

static const char *base_noun(enum base_kind kind)
{
	static const char *const nouns[] = {"debian", "busybox", "a tarball", "an ostree commit"}; /* enum base_kind */
	return nouns[kind];
}

/* suite, variant and mirror: for debian only; defaults bookworm and minbase. */
static void read_debian_options(struct vctx *v, const struct ynode *base)
{
	struct recipe *r = v->r;
	static const char *const debian_only[] = {"suite", "variant", "mirror", NULL};
	if (r->base.kind != BASE_DEBIAN) {
		for (size_t i = 0; debian_only[i]; i++) {
			const struct ynode *n = field(base, debian_only[i]);
			if (n)
				rerr(v->c, n, "base.%s: only for distro debian (this base is %s)", debian_only[i],
				     base_noun(r->base.kind));
		}
		return;
	}
	const struct ynode *n;
	int k;
	read_optional_string(v, base, "suite", "base.suite", &RULE_SUITE, &r->base.suite);
	if ((n = field(base, "variant")) && read_enum(v->c, n, "base.variant", "variant", VARIANTS, &k) == 0)
		r->base.variant = xstrdup(VARIANTS[k]);
	read_optional_string(v, base, "mirror", "base.mirror", &RULE_MIRROR, &r->base.mirror);
	set_default(&r->base.suite, "bookworm");
	set_default(&r->base.variant, "minbase");
}

/* base.ostree: {repo, ref}; the ref is resolved now, so that the recipe's
 * hash covers the commit's content and not only its name. */
static void read_ostree_base(struct vctx *v, const struct ynode *n)
{
	struct recipe *r = v->r;
	r->base.kind = BASE_OSTREE;
	if (expect_kind(v->c, n, "base.ostree", YNODE_MAP) < 0)
		return;
	check_keys(v->c, n, "base.ostree", OSTREE_KEYS);
	const struct ynode *repo = field(n, "repo"), *ref = field(n, "ref");
	if (!repo)
		missing_key(v->c, n, "base.ostree", "repo");
	if (!ref)
		missing_key(v->c, n, "base.ostree", "ref");
	else
		read_string(v->c, ref, "base.ostree.ref", &RULE_OSTREE_REF, &r->base.ostree_ref);
	if (!repo || resolve_host_dir(v->c, repo, "base.ostree.repo", &r->base.ostree_repo) < 0 || !r->base.ostree_ref)
		return;
	char *why = NULL, what[64];
	int rc = ostree_lookup(r->base.ostree_repo, r->base.ostree_ref, r->base.ostree_commit, &why);
	if (rc == -1)
		rerr(v->c, repo, "base.ostree.repo: %s %s", ynode_describe(repo, what, sizeof what), why);
	else if (rc == -2)
		rerr(v->c, ref, "base.ostree.ref: %s %s", ynode_describe(ref, what, sizeof what), why);
	free(why);
}

static void read_base(struct vctx *v, const struct ynode *root)
{
	struct recipe *r = v->r;
	const struct ynode *base = ynode_map_get(root, "base");
	if (!base) {
		missing_key(v->c, root, NULL, "base");
		return;
	}
	if (expect_kind(v->c, base, "base", YNODE_MAP) < 0)
		return;
	r->base.pos = pos_of(base);
	check_keys(v->c, base, "base", BASE_KEYS);
	const struct ynode *distro = field(base, "distro"), *tarball = field(base, "tarball");
	const struct ynode *ostree = field(base, "ostree");
	int k, is_dir = 0;
	if ((distro != NULL) + (tarball != NULL) + (ostree != NULL) > 1) {
		rerr(v->c, distro && tarball ? tarball : ostree, "base: give one of distro, tarball or ostree, not several");
	} else if (ostree) {
		read_ostree_base(v, ostree);
	} else if (distro) {
		if (read_enum(v->c, distro, "base.distro", "distro", DISTROS, &k) < 0)
			return;
		r->base.kind = k == 0 ? BASE_DEBIAN : BASE_BUSYBOX;
		r->base.distro = xstrdup(DISTROS[k]);
	} else if (tarball) {
		r->base.kind = BASE_TARBALL;
		if (resolve_source(v->c, tarball, "base.tarball", &r->base.tarball, &is_dir) == 0 && is_dir)
			rerr(v->c, tarball, "base.tarball: \"%s\" is a directory, not an archive", tarball->str);
	} else {
		rerr(v->c, base, "base: needs distro (debian or busybox), tarball or ostree");
		return;
	}
	v->base_known = (distro != NULL) + (tarball != NULL) + (ostree != NULL) == 1;
	if (v->base_known)
		read_debian_options(v, base);
}

static void read_packages(struct vctx *v, const struct ynode *root)
{
	const struct ynode *n = field(root, "packages");
	if (!n || read_list(v->c, n, "packages", &RULE_PACKAGE, 1, &v->r->packages) < 0 || !v->r->packages.n)
		return;
	if (v->base_known && v->r->base.kind != BASE_DEBIAN)
		rerr(v->c, n, "packages: only a debian base installs packages (this base is %s)",
		     base_noun(v->r->base.kind));
}

static void read_kernel(struct vctx *v, const struct ynode *root)
{
	struct recipe *r = v->r;
	const struct ynode *k = field(root, "kernel"), *n;
	if (k && expect_kind(v->c, k, "kernel", YNODE_MAP) == 0) {
		check_keys(v->c, k, "kernel", KERNEL_KEYS);
		if ((n = field(k, "package"))) {
			v->kernel_pkg_node = n;
			read_string(v->c, n, "kernel.package", &RULE_PACKAGE, &r->kernel.package);
		}
		read_optional_string(v, k, "cmdline", "kernel.cmdline", &RULE_LINE, &r->kernel.cmdline);
		if ((n = field(k, "modules")))
			read_list(v->c, n, "kernel.modules", &RULE_MODULE, 1, &r->kernel.modules);
	}
	set_default(&r->kernel.package, "linux-image-amd64");
	set_default(&r->kernel.cmdline, "");
}

static void read_services(struct vctx *v, const struct ynode *root)
{
	struct recipe *r = v->r;
	const struct ynode *s = field(root, "services"), *n;
	if (!s || expect_kind(v->c, s, "services", YNODE_MAP) < 0)
		return;
	check_keys(v->c, s, "services", SERVICES_KEYS);
	if ((n = field(s, "enable")))
		read_list(v->c, n, "services.enable", &RULE_UNIT, 1, &r->services_enable);
	if ((n = field(s, "disable")))
		read_list(v->c, n, "services.disable", &RULE_UNIT, 1, &r->services_disable);
	for (size_t i = 0; i < r->services_disable.n; i++) {
		const char *name = r->services_disable.items[i];
		struct recipe_pos p = r->services_disable.pos[i];
		if (list_has(&r->services_enable, name))
			rerr_at(v->c, p.file, p.line, p.col, "services.disable: \"%s\" is also in services.enable", name);
	}
}

static void read_system(struct vctx *v, const struct ynode *root)
{
	struct recipe *r = v->r;
	const struct ynode *n;
	read_optional_string(v, root, "hostname", "hostname", &RULE_HOSTNAME, &r->hostname);
	set_default(&r->hostname, r->name ? r->name : "appliance");
	r->network_dhcp = 1;
	if ((n = field(root, "network")) && expect_kind(v->c, n, "network", YNODE_MAP) == 0) {
		check_keys(v->c, n, "network", NETWORK_KEYS);
		const struct ynode *d = field(n, "dhcp");
		if (d)
			read_bool(v->c, d, "network.dhcp", &r->network_dhcp);
	}
	if ((n = field(root, "run")))
		read_list(v->c, n, "run", &RULE_COMMAND, 0, &r->run);
}

static void format_size(char *buf, size_t size, uint64_t bytes)
{
	static const char units[] = "KMGT";
	int u = -1;
	while (u < 3 && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, size, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%llu%c", (unsigned long long)bytes, units[u]);
}

/* A size such as 2G; "auto" (stored as 0) where allowed. */
static int read_size(struct vctx *v, const struct ynode *n, const char *label, int allow_auto, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	char what[64], lim[32];
	uint64_t bytes;
	if (allow_auto && n->kind == YNODE_SCALAR && !strcmp(n->str, "auto")) {
		*out = 0;
		return 0;
	}
	if (n->kind != YNODE_SCALAR || ynode_is_null(n) || strlen(n->str) != n->len ||
	    parse_size(n->str, &bytes) < 0) {
		rerr(v->c, n, "%s: %s is not a size (use %sa whole number with an optional K, M, G or T suffix, like %s)",
		     label, ynode_describe(n, what, sizeof what), allow_auto ? "auto or " : "",
		     allow_auto ? "2G" : "512M");
		return -1;
	}
	if (bytes < min || bytes > max) {
		format_size(lim, sizeof lim, bytes < min ? min : max);
		rerr(v->c, n, "%s: %s is too %s (at %s %s)", label, n->str, bytes < min ? "small" : "large",
		     bytes < min ? "least" : "most", lim);
		return -1;
	}
	*out = bytes;
	return 0;
}

static void read_disk(struct vctx *v, const struct ynode *root)
{
	struct recipe *r = v->r;
	const struct ynode *d = field(root, "disk"), *n;
	int k;
	r->disk.boot = BOOT_HYBRID;
	if (d && expect_kind(v->c, d, "disk", YNODE_MAP) == 0) {
		check_keys(v->c, d, "disk", DISK_KEYS);
		if ((n = field(d, "size"))) {
			r->disk.size_pos = pos_of(n);
			read_size(v, n, "disk.size", 1, 64ull << 20, UINT64_C(1) << 50, &r->disk.size);
		}
		if ((n = field(d, "filesystem")) && read_enum(v->c, n, "disk.filesystem", "filesystem", FILESYSTEMS, &k) == 0)
			r->disk.filesystem = xstrdup(FILESYSTEMS[k]);
		if ((n = field(d, "boot"))) {
			v->boot_node = n;
			if (read_enum(v->c, n, "disk.boot", "boot mode", BOOT_MODES, &k) == 0)
				r->disk.boot = (enum boot_mode)k;
		}
	}
	set_default(&r->disk.filesystem, "ext4");
}

static void read_hardware(struct vctx *v, const struct ynode *root)
{
	struct recipe *r = v->r;
	const struct ynode *h = field(root, "hardware"), *n;
	long cpus;
	int k;
	r->hardware.cpus = 1;
	r->hardware.memory = 512ull << 20;
	if (h && expect_kind(v->c, h, "hardware", YNODE_MAP) == 0) {
		check_keys(v->c, h, "hardware", HARDWARE_KEYS);
		if ((n = field(h, "cpus")) && read_int(v->c, n, "hardware.cpus", 1, 64, &cpus) == 0)
			r->hardware.cpus = (int)cpus;
		if ((n = field(h, "memory")))
			read_size(v, n, "hardware.memory", 0, 64ull << 20, 1ull << 40, &r->hardware.memory);
		if ((n = field(h, "nic")) && read_enum(v->c, n, "hardware.nic", "nic", NICS, &k) == 0)
			r->hardware.nic = xstrdup(NICS[k]);
	}
	set_default(&r->hardware.nic, "e1000");
}

static void read_outputs_targets(struct vctx *v, const struct ynode *root)
{
	struct recipe *r = v->r;
	const struct ynode *n;
	long deadline;
	if ((n = field(root, "outputs")) &&
	    read_enum_list(v->c, n, "outputs", "output", OUTPUTS, &r->outputs) == 0 && !n->n)
		rerr(v->c, n, "outputs: name at least one output (raw, qcow2, vmdk, ova, vhdx, vdi or ostree)");
	if (!n)
		list_add(&r->outputs, "qcow2", NO_POS);
	if ((n = field(root, "targets")))
		read_enum_list(v->c, n, "targets", "target", TARGETS, &r->targets);
	else {
		list_add(&r->targets, "vmm", NO_POS);
		list_add(&r->targets, "qemu-uefi", NO_POS);
	}
	r->check_deadline_s = 120;
	if ((n = field(root, "check_deadline")) && read_int(v->c, n, "check_deadline", 1, 86400, &deadline) == 0)
		r->check_deadline_s = (int)deadline;
}

/* The firmware a target boots with: BOOT_HYBRID when it does not matter. */
static enum boot_mode target_firmware(const char *target)
{
	static const char *const bios[] = {"qemu-bios", "virtualbox", "vmware", NULL};
	static const char *const uefi[] = {"qemu-uefi", "virtualbox-efi", "vmware-efi", "hyperv", NULL};
	for (size_t i = 0; bios[i]; i++)
		if (!strcmp(target, bios[i]))
			return BOOT_BIOS;
	for (size_t i = 0; uefi[i]; i++)
		if (!strcmp(target, uefi[i]))
			return BOOT_UEFI;
	return BOOT_HYBRID;
}

static void check_targets_boot(struct vctx *v)
{
	struct recipe *r = v->r;
	if (r->disk.boot == BOOT_HYBRID)
		return;
	for (size_t i = 0; i < r->targets.n; i++) {
		enum boot_mode need = target_firmware(r->targets.items[i]);
		struct recipe_pos p = r->targets.pos[i];
		if (need == BOOT_HYBRID || need == r->disk.boot)
			continue;
		if (p.file)
			rerr_at(v->c, p.file, p.line, p.col, "targets: %s boots with %s, but disk.boot is %s",
				r->targets.items[i], need == BOOT_BIOS ? "BIOS" : "UEFI", BOOT_MODES[r->disk.boot]);
		else if (v->boot_node)
			rerr(v->c, v->boot_node, "disk.boot: %s cannot boot the default target %s (set targets)",
			     BOOT_MODES[r->disk.boot], r->targets.items[i]);
	}
}

static void check_kernel_targets(struct vctx *v)
{
	struct recipe *r = v->r;
	if (!v->kernel_pkg_node || strncmp(r->kernel.package, "linux-image-cloud-", 18))
		return;
	for (size_t i = 0; AHCI_TARGETS[i]; i++) {
		if (list_has(&r->targets, AHCI_TARGETS[i])) {
			rwarn(v->c, v->kernel_pkg_node,
			      "kernel.package: %s has no AHCI driver, which the %s target needs; use linux-image-amd64",
			      r->kernel.package, AHCI_TARGETS[i]);
			return;
		}
	}
}

int recipe_from_tree(struct rctx *c, struct ynode *root, struct recipe *r)
{
	struct vctx v = {.c = c, .r = r};
	int errors_before = c->n_errors;
	check_keys(c, root, NULL, TOP_KEYS);
	read_header(&v, root);
	read_base(&v, root);
	read_kernel(&v, root);
	read_packages(&v, root);
	read_files(&v, root);
	read_users(&v, root);
	read_services(&v, root);
	read_system(&v, root);
	read_disk(&v, root);
	read_hardware(&v, root);
	read_outputs_targets(&v, root);
	read_checks(&v, root);
	read_hygiene(&v, root);
	check_targets_boot(&v);
	check_kernel_targets(&v);
	return c->n_errors > errors_before ? -1 : 0;
}
