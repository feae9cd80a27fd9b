/* builder/hygiene.c: the hygiene rules, applied to a stream of image entries (see hygiene.h).
 *
 * Each entry is judged as it arrives (paths, modes, the first bytes of a
 * file); what needs the whole tree waits for hygiene_scan_finish(): root's
 * password (shadow wins over passwd, whichever comes first), setuid files
 * against the paths dpkg installed (the .list files may come before or after
 * the binaries), and apt's lists, which are reported per directory.
 * Waivers are applied as findings are added, so a finding over the per-rule
 * cap is still counted as waived or not.
 */
#include "builder/hygiene.h"

#include "builder/recipe.h"
#include "util/diag.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct hygiene_rule hygiene_rules[] = {
	{"ssh-host-keys", HYGIENE_ERROR, "SSH host keys in the image: every copy would share them"},
	{"machine-id", HYGIENE_ERROR, "a non-empty /etc/machine-id: every copy would share its identity"},
	{"root-password", HYGIENE_ERROR, "a password hash (or an empty password) for root the recipe did not set"},
	{"world-writable", HYGIENE_ERROR, "world-writable files or directories outside /tmp and /var/tmp"},
	{"private-keys", HYGIENE_ERROR, "private keys outside hygiene.allow_private_keys"},
	{"apt-lists", HYGIENE_WARNING, "apt package lists or downloaded packages left behind"},
	{"shell-history", HYGIENE_WARNING, "shell or tool histories left behind"},
	{"build-logs", HYGIENE_WARNING, "non-empty logs in /var/log written while the image was made"},
	{"suid-binaries", HYGIENE_WARNING, "setuid or setgid files that no package of the base installed"},
	{"untrimmed-free-space", HYGIENE_WARNING, "image blocks that hold data the filesystems no longer use"},
	{NULL, 0, NULL},
};

const char *const hygiene_rule_names[] = {"ssh-host-keys", "machine-id",    "root-password", "world-writable",
					  "private-keys",  "apt-lists",     "shell-history", "build-logs",
					  "suid-binaries", "untrimmed-free-space", NULL};

enum rule_index {
	R_SSH_HOST_KEYS, R_MACHINE_ID, R_ROOT_PASSWORD, R_WORLD_WRITABLE, R_PRIVATE_KEYS,
	R_APT_LISTS, R_SHELL_HISTORY, R_BUILD_LOGS, R_SUID, R_UNTRIMMED, R_COUNT
};

const struct hygiene_rule *hygiene_rule_find(const char *name)
{
	for (size_t i = 0; hygiene_rules[i].name; i++)
		if (!strcmp(hygiene_rules[i].name, name))
			return &hygiene_rules[i];
	return NULL;
}

static const char *const histories[] = {".bash_history", ".ash_history", ".sh_history", ".zsh_history",
					".python_history", ".lesshst", ".viminfo", ".wget-hsts", ".mysql_history",
					".psql_history", ".sqlite_history", ".node_repl_history", NULL};

struct suid_file {
	char *path;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct alias {
	char *from, *to; /* "/bin" -> "/usr/bin": a top-level directory symlink (merged /usr) */
};

struct apt_tally {
	const char *dir;
	size_t files;
	uint64_t bytes;
};

struct hygiene_scan {
	const struct hygiene_policy *p;
	struct hygiene_report rep;
	char **dpkg_paths;
	size_t n_dpkg, cap_dpkg;
	struct suid_file *suid;
	size_t n_suid, cap_suid;
	struct alias *aliases;
	size_t n_aliases;
	char **host_keys; /* reported as ssh-host-keys, so not again as private-keys */
	size_t n_host_keys, cap_host_keys;
	char *shadow_root, *passwd_root; /* root's password field in each, when seen */
	struct apt_tally apt[3];
};

/* ---- small helpers ---- */

static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int in_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/' && !strchr(path + n + 1, '/');
}

static void push_str(char ***v, size_t *n, size_t *cap, char *s)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = s;
}

static char *human_size(uint64_t bytes)
{
	if (bytes < 10240)
		return xasprintf("%llu bytes", (unsigned long long)bytes);
	if (bytes < (10u << 20))
		return xasprintf("%llu KiB", (unsigned long long)(bytes >> 10));
	return xasprintf("%llu MiB", (unsigned long long)(bytes >> 20));
}

/* ---- findings ---- */

static const struct hygiene_waiver *waiver_for(const struct hygiene_policy *p, const char *rule, const char *path)
{
	for (size_t i = 0; p && i < p->n_waivers; i++) {
		const struct hygiene_waiver *w = &p->waivers[i];
		if (strcmp(w->rule, rule))
			continue;
		if (!w->n_paths)
			return w;
		for (size_t j = 0; path && j < w->n_paths; j++)
			if (under(path, w->paths[j]))
				return w;
	}
	return NULL;
}

static void add_finding(struct hygiene_scan *s, size_t rule, const char *path, char *detail)
{
	struct hygiene_report *rep = &s->rep;
	const struct hygiene_rule *r = &hygiene_rules[rule];
	const struct hygiene_waiver *w = waiver_for(s->p, r->name, path);
	if (w) {
		((struct hygiene_waiver *)w)->used = 1;
		rep->waived++;
	} else if (r->severity == HYGIENE_ERROR) {
		rep->errors++;
	} else {
		rep->warnings++;
	}
	size_t kept = 0;
	for (size_t i = 0; i < rep->n; i++)
		kept += rep->items[i].rule == r;
	if (kept >= HYGIENE_MAX_FINDINGS_PER_RULE) {
		rep->dropped[rule]++;
		free(detail);
		return;
	}
	if (rep->n == rep->cap) {
		rep->cap = rep->cap ? 2 * rep->cap : 16;
		rep->items = xrealloc(rep->items, rep->cap * sizeof *rep->items);
	}
	rep->items[rep->n++] = (struct hygiene_finding){
		.rule = r, .path = path ? xstrdup(path) : NULL, .detail = detail, .waiver_reason = w ? w->reason : NULL};
}

void hygiene_scan_add(struct hygiene_scan *s, const char *rule, const char *path, const char *detail)
{
	const struct hygiene_rule *r = hygiene_rule_find(rule);
	if (r)
		add_finding(s, (size_t)(r - hygiene_rules), path, xstrdup(detail));
}

/* ---- private keys ---- */

static int is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
	       c == '=';
}

/* The PEM header at d[i] ("-----BEGIN X PRIVATE KEY-----" at a line start,
 * then a line of base64 or a legacy Proc-Type header): its label, or 0. */
static size_t pem_key_label(const unsigned char *d, size_t n, size_t i, char *label, size_t size)
{
	static const char begin[] = "-----BEGIN ", tail[] = "PRIVATE KEY-----";
	if (i > 0 && d[i - 1] != '\n')
		return 0;
	size_t p = i + sizeof begin - 1, start = p;
	while (p < n && p - start < 64 && ((d[p] >= 'A' && d[p] <= 'Z') || (d[p] >= '0' && d[p] <= '9') || d[p] == ' '))
		p++;
	size_t tl = sizeof tail - 1;
	if (p + 5 > n || memcmp(d + p, "-----", 5) || p - start + 5 < tl || memcmp(d + p + 5 - tl, tail, tl))
		return 0;
	size_t len = p - start;
	p += 5;
	if (p < n && d[p] == '\r')
		p++;
	if (p >= n || d[p] != '\n')
		return 0;
	p++;
	size_t run = 0;
	while (p + run < n && is_b64(d[p + run]))
		run++;
	if (run < 16 && !(n - p >= 10 && !memcmp(d + p, "Proc-Type:", 10)))
		return 0;
	snprintf(label, size, "%.*s", (int)len, (const char *)d + start);
	return len;
}

/* Names the kind of private key in d[0..n), or returns 0 when there is none. */
static int find_private_key(const unsigned char *d, size_t n, char *label, size_t size)
{
	if (n > 21 && !memcmp(d, "PuTTY-User-Key-File-", 20) && d[20] >= '1' && d[20] <= '9') {
		snprintf(label, size, "PuTTY private key");
		return 1;
	}
	for (size_t i = 0; i + 11 <= n;) {
		const unsigned char *hit = memmem(d + i, n - i, "-----BEGIN ", 11);
		if (!hit)
			return 0;
		i = (size_t)(hit - d);
		if (pem_key_label(d, n, i, label, size))
			return 1;
		i++;
	}
	return 0;
}

static int is_host_key(const struct hygiene_scan *s, const char *path)
{
	for (size_t i = 0; i < s->n_host_keys; i++)
		if (!strcmp(s->host_keys[i], path))
			return 1;
	return 0;
}

static int key_allowed(const struct hygiene_policy *p, const char *path)
{
	for (size_t i = 0; p && i < p->n_allowed_keys; i++)
		if (!strcmp(p->allowed_keys[i], path))
			return 1;
	return 0;
}

static void check_private_key(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	char label[80];
	if (!e->data_len || key_allowed(s->p, e->path) || is_host_key(s, e->path) ||
	    !find_private_key(e->data, e->data_len, label, sizeof label))
		return;
	add_finding(s, R_PRIVATE_KEYS, e->path,
		    xasprintf("private key (-----BEGIN %s-----): list its path in hygiene.allow_private_keys if the "
			      "appliance needs it", label));
}

/* ---- identity ---- */

static void check_ssh_host_key(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	const char *b = base_name(e->path);
	int host = (in_dir(e->path, "/etc/ssh") &&
		    (!fnmatch("ssh_host_*key", b, 0) || !fnmatch("ssh_host_*key.pub", b, 0))) ||
		   (in_dir(e->path, "/etc/dropbear") && !fnmatch("dropbear_*_host_key", b, 0));
	if (!host)
		return;
	push_str(&s->host_keys, &s->n_host_keys, &s->cap_host_keys, xstrdup(e->path));
	add_finding(s, R_SSH_HOST_KEYS, e->path,
		    xstrdup("SSH host key: every copy would share it (sshd makes its own on the first boot)"));
}

static int blank_or_uninitialized(const unsigned char *d, size_t n)
{
	while (n && (d[n - 1] == '\n' || d[n - 1] == ' ' || d[n - 1] == '\t' || d[n - 1] == '\r'))
		n--;
	size_t i = 0;
	while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
		i++;
	return i == n || (n - i == 13 && !memcmp(d + i, "uninitialized", 13));
}

static void check_machine_id(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	if (strcmp(e->path, "/etc/machine-id") && strcmp(e->path, "/var/lib/dbus/machine-id"))
		return;
	if (e->size == 0 || (e->data_len == e->size && blank_or_uninitialized(e->data, e->data_len)))
		return;
	add_finding(s, R_MACHINE_ID, e->path,
		    xstrdup("holds a machine id: every copy would share it (ship it empty; systemd makes one on "
			    "the first boot)"));
}

/* root's second field in passwd/shadow text, or NULL. */
static char *root_password_field(const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n;) {
		const unsigned char *nl = memchr(d + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (d + i)) : n - i;
		if (len > 5 && !memcmp(d + i, "root:", 5)) {
			const unsigned char *f = d + i + 5, *end = memchr(f, ':', len - 5);
			size_t fl = end ? (size_t)(end - f) : len - 5;
			char *out = xmalloc(fl + 1);
			memcpy(out, f, fl);
			out[fl] = 0;
			return out;
		}
		i += len + 1;
	}
	return NULL;
}

static void remember_root_field(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	char **slot = !strcmp(e->path, "/etc/shadow") ? &s->shadow_root
		      : !strcmp(e->path, "/etc/passwd") ? &s->passwd_root
							: NULL;
	if (!slot)
		return;
	free(*slot);
	*slot = root_password_field(e->data, e->data_len);
}

/* Judges root's password field ("x" in passwd defers to shadow). */
static void check_root_password(struct hygiene_scan *s)
{
	const char *f = s->shadow_root, *where = "/etc/shadow";
	if (!f && s->passwd_root && strcmp(s->passwd_root, "x")) {
		f = s->passwd_root;
		where = "/etc/passwd";
	}
	if (!f || (s->p && s->p->root_password_set))
		return;
	const char *rest = f + strspn(f, "!");
	if (!*f)
		add_finding(s, R_ROOT_PASSWORD, where,
			    xstrdup("root has an empty password: anyone can log in as root without one"));
	else if (*rest && strcmp(rest, "*") && strcmp(rest, "x"))
		add_finding(s, R_ROOT_PASSWORD, where,
			    xasprintf("root has a password hash%s that the recipe did not set (set users: "
				      "[{name: root, password: ...}] to mean it)",
				      *f == '!' ? " (locked, but `passwd -u` restores it)" : ""));
}

/* ---- permissions ---- */

/* /tmp and /var/tmp are meant to be world-writable; /run and /dev are
 * mounted over at boot, so what the image holds there is never seen. */
static int world_writable_exempt(const char *path)
{
	return under(path, "/tmp") || under(path, "/var/tmp") || under(path, "/run") || under(path, "/dev");
}

static void check_world_writable(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	if (!(S_ISREG(e->mode) || S_ISDIR(e->mode)) || !(e->mode & S_IWOTH) || world_writable_exempt(e->path))
		return;
	add_finding(s, R_WORLD_WRITABLE, e->path,
		    xasprintf("world-writable %s (mode %04o)", S_ISDIR(e->mode) ? "directory" : "file",
			      (unsigned)(e->mode & 07777)));
}

static void note_suid(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	if (!S_ISREG(e->mode) || !(e->mode & (S_ISUID | S_ISGID)))
		return;
	if (s->n_suid == s->cap_suid) {
		s->cap_suid = s->cap_suid ? 2 * s->cap_suid : 16;
		s->suid = xrealloc(s->suid, s->cap_suid * sizeof *s->suid);
	}
	s->suid[s->n_suid++] = (struct suid_file){xstrdup(e->path), e->mode, e->uid, e->gid};
}

/* "/bin" -> "usr/bin": merged-/usr links, so dpkg's "/bin/su" is "/usr/bin/su". */
static void note_alias(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	const char *t = e->link_target;
	if (!S_ISLNK(e->mode) || !t || strchr(e->path + 1, '/') || strstr(t, "..") || !*t || s->n_aliases >= 64)
		return;
	s->aliases = xrealloc(s->aliases, (s->n_aliases + 1) * sizeof *s->aliases);
	s->aliases[s->n_aliases].from = xstrdup(e->path);
	s->aliases[s->n_aliases++].to = t[0] == '/' ? xstrdup(t) : xasprintf("/%s", t);
}

/* Every path in a dpkg .list file (one per line). */
static void note_dpkg_list(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	if (!in_dir(e->path, "/var/lib/dpkg/info") || fnmatch("*.list", base_name(e->path), 0))
		return;
	const unsigned char *d = e->data;
	size_t n = e->data_len;
	for (size_t i = 0; i < n;) {
		const unsigned char *nl = memchr(d + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (d + i)) : n - i;
		if (len > 1 && d[i] == '/' && !memchr(d + i, 0, len)) {
			char *p = xmalloc(len + 1);
			memcpy(p, d + i, len);
			p[len] = 0;
			push_str(&s->dpkg_paths, &s->n_dpkg, &s->cap_dpkg, p);
		}
		i += len + 1;
	}
}

/* ---- leftovers ---- */

static void tally_apt(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	const char *b = base_name(e->path);
	int k = -1;
	if (under(e->path, "/var/lib/apt/lists") && strcmp(e->path, "/var/lib/apt/lists/lock"))
		k = 0;
	else if (in_dir(e->path, "/var/cache/apt") && !fnmatch("*.bin", b, 0))
		k = 1;
	else if (under(e->path, "/var/cache/apt/archives") && !fnmatch("*.deb", b, 0))
		k = 2;
	if (k < 0 || !S_ISREG(e->mode))
		return;
	s->apt[k].files++;
	s->apt[k].bytes += e->size;
}

static void check_leftovers(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	if (!S_ISREG(e->mode))
		return;
	tally_apt(s, e);
	if (e->size == 0)
		return;
	const char *b = base_name(e->path);
	for (size_t i = 0; histories[i]; i++) {
		if (!strcmp(b, histories[i])) {
			char *sz = human_size(e->size);
			add_finding(s, R_SHELL_HISTORY, e->path, xasprintf("history file (%s)", sz));
			free(sz);
		}
	}
	if (under(e->path, "/var/log")) {
		char *sz = human_size(e->size);
		add_finding(s, R_BUILD_LOGS, e->path, xasprintf("log with %s in it", sz));
		free(sz);
	}
}

/* ---- the scan ---- */

struct hygiene_scan *hygiene_scan_new(const struct hygiene_policy *p)
{
	struct hygiene_scan *s = xcalloc(1, sizeof *s);
	s->p = p;
	s->apt[0].dir = "/var/lib/apt/lists";
	s->apt[1].dir = "/var/cache/apt";
	s->apt[2].dir = "/var/cache/apt/archives";
	return s;
}

size_t hygiene_scan_wants(const struct hygiene_scan *s, const char *path, uint64_t size)
{
	(void)s;
	size_t cap = HYGIENE_HEAD_MAX;
	if (!strcmp(path, "/etc/shadow") || !strcmp(path, "/etc/passwd") || !strcmp(path, "/etc/machine-id") ||
	    !strcmp(path, "/var/lib/dbus/machine-id") ||
	    (in_dir(path, "/var/lib/dpkg/info") && !fnmatch("*.list", base_name(path), 0)))
		cap = HYGIENE_TEXT_MAX;
	return size < cap ? (size_t)size : cap;
}

void hygiene_scan_entry(struct hygiene_scan *s, const struct hygiene_entry *e)
{
	if (!e->path || e->path[0] != '/' || !e->path[1])
		return;
	check_ssh_host_key(s, e);
	if (S_ISREG(e->mode)) {
		check_machine_id(s, e);
		remember_root_field(s, e);
		check_private_key(s, e);
		note_dpkg_list(s, e);
	}
	check_world_writable(s, e);
	note_suid(s, e);
	note_alias(s, e);
	check_leftovers(s, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The path with a merged-/usr alias applied ("/bin/su" -> "/usr/bin/su"). */
static char *canonical(const struct hygiene_scan *s, const char *path)
{
	for (size_t i = 0; i < s->n_aliases; i++) {
		size_t n = strlen(s->aliases[i].from);
		if (!strncmp(path, s->aliases[i].from, n) && path[n] == '/')
			return xasprintf("%s%s", s->aliases[i].to, path + n);
	}
	return xstrdup(path);
}

static void check_suid(struct hygiene_scan *s)
{
	for (size_t i = 0; i < s->n_dpkg; i++) {
		char *c = canonical(s, s->dpkg_paths[i]);
		free(s->dpkg_paths[i]);
		s->dpkg_paths[i] = c;
	}
	if (s->n_dpkg)
		qsort(s->dpkg_paths, s->n_dpkg, sizeof *s->dpkg_paths, cmp_str);
	for (size_t i = 0; i < s->n_suid; i++) {
		const struct suid_file *f = &s->suid[i];
		if (s->n_dpkg && bsearch(&f->path, s->dpkg_paths, s->n_dpkg, sizeof *s->dpkg_paths, cmp_str))
			continue;
		char *what = (f->mode & S_ISUID) ? xasprintf("setuid to uid %u", (unsigned)f->uid)
						 : xasprintf("setgid to gid %u", (unsigned)f->gid);
		add_finding(s, R_SUID, f->path,
			    xasprintf("%s (mode %04o), installed by no package of the base", what,
				      (unsigned)(f->mode & 07777)));
		free(what);
	}
}

static void report_apt(struct hygiene_scan *s)
{
	static const char *const what[] = {"package lists (apt-get update)", "package caches", "downloaded packages"};
	for (size_t k = 0; k < 3; k++) {
		if (!s->apt[k].files)
			continue;
		char *sz = human_size(s->apt[k].bytes);
		add_finding(s, R_APT_LISTS, s->apt[k].dir,
			    xasprintf("%zu file%s of %s, %s", s->apt[k].files, s->apt[k].files == 1 ? "" : "s", what[k],
				      sz));
		free(sz);
	}
}

static int cmp_finding(const void *pa, const void *pb)
{
	const struct hygiene_finding *a = pa, *b = pb;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return strcmp(a->path ? a->path : "", b->path ? b->path : "");
}

void hygiene_scan_finish(struct hygiene_scan *s, struct hygiene_report *out)
{
	check_root_password(s);
	check_suid(s);
	report_apt(s);
	if (s->rep.n)
		qsort(s->rep.items, s->rep.n, sizeof *s->rep.items, cmp_finding);
	*out = s->rep;
	memset(&s->rep, 0, sizeof s->rep);
}

void hygiene_scan_free(struct hygiene_scan *s)
{
	if (!s)
		return;
	hygiene_report_release(&s->rep);
	for (size_t i = 0; i < s->n_dpkg; i++)
		free(s->dpkg_paths[i]);
	free(s->dpkg_paths);
	for (size_t i = 0; i < s->n_suid; i++)
		free(s->suid[i].path);
	free(s->suid);
	for (size_t i = 0; i < s->n_aliases; i++) {
		free(s->aliases[i].from);
		free(s->aliases[i].to);
	}
	free(s->aliases);
	for (size_t i = 0; i < s->n_host_keys; i++)
		free(s->host_keys[i]);
	free(s->host_keys);
	free(s->shadow_root);
	free(s->passwd_root);
	free(s);
}

void hygiene_report_release(struct hygiene_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].path);
		free(r->items[i].detail);
	}
	free(r->items);
	memset(r, 0, sizeof *r);
}

/* ---- the recipe's policy ---- */

void hygiene_policy_from_recipe(const struct recipe *r, struct hygiene_policy *p)
{
	memset(p, 0, sizeof *p);
	p->n_waivers = r->hygiene.n_waivers;
	p->waivers = xcalloc(p->n_waivers ? p->n_waivers : 1, sizeof *p->waivers);
	for (size_t i = 0; i < p->n_waivers; i++) {
		const struct recipe_waiver *w = &r->hygiene.waivers[i];
		p->waivers[i] = (struct hygiene_waiver){.rule = w->rule, .reason = w->reason,
							.paths = (const char *const *)w->paths.items, .n_paths = w->paths.n};
	}
	p->allowed_keys = (const char *const *)r->hygiene.allow_private_keys.items;
	p->n_allowed_keys = r->hygiene.allow_private_keys.n;
	for (size_t i = 0; i < r->n_users; i++)
		if (r->users[i].name && !strcmp(r->users[i].name, "root") && r->users[i].password_set)
			p->root_password_set = 1;
}

void hygiene_policy_release(struct hygiene_policy *p)
{
	free(p->waivers);
	memset(p, 0, sizeof *p);
}
