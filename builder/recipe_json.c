/* builder/recipe_json.c: the resolved recipe as canonical JSON, and the recipe hash.
 *
 * recipe_to_json() writes every field, defaults included, in one fixed
 * order with 2-space indentation, so equal recipes give equal bytes. The
 * JSON is itself a valid recipe: read back (from the same directory), it
 * resolves to the same JSON. Host paths are shown relative to the recipe's
 * directory so that the JSON (and the hash) do not depend on where the
 * checkout lives. recipe->hash is sha256 over that JSON and the contents of
 * the tarball and every `source` (a sorted walk: type, mode, size, name, bytes).
 */
#include "builder/recipe_internal.h"

#include "util/diag.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct json {
	struct strbuf *sb;
	int depth;
	int need_comma[RECIPE_MAX_DEPTH];
};

/* Code points that a YAML reader would not take back verbatim inside a
 * quoted string (controls, line separators, BOM, non-characters): escaped. */
static int must_escape(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0xfeff || cp == 0xfffe || cp == 0xffff;
}

/* Decodes one UTF-8 sequence; returns its length, or 0 if it is not valid. */
static size_t utf8_decode(const unsigned char *p, size_t left, unsigned *cp)
{
	size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!n || n > left)
		return 0;
	unsigned v = n == 1 ? p[0] : p[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

void json_string(struct strbuf *sb, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	strbuf_addc(sb, '"');
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (!n) { /* not UTF-8 (a host file name): keep the JSON valid */
			strbuf_addf(sb, "\\u%04x", p[i++]);
			continue;
		}
		if (cp == '"' || cp == '\\')
			strbuf_addf(sb, "\\%c", (char)cp);
		else if (cp == '\n')
			strbuf_adds(sb, "\\n");
		else if (cp == '\t')
			strbuf_adds(sb, "\\t");
		else if (must_escape(cp))
			strbuf_addf(sb, "\\u%04x", cp);
		else
			strbuf_add(sb, p + i, n);
		i += n;
	}
	strbuf_addc(sb, '"');
}

static void json_key(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		strbuf_addc(j->sb, ',');
	j->need_comma[j->depth] = 1;
	if (j->depth) /* the document itself starts on the first line */
		strbuf_addf(j->sb, "\n%*s", 2 * j->depth, "");
	if (key) {
		json_string(j->sb, key, strlen(key));
		strbuf_adds(j->sb, ": ");
	}
}

static void json_open(struct json *j, const char *key, char bracket)
{
	json_key(j, key);
	strbuf_addc(j->sb, bracket);
	j->need_comma[++j->depth] = 0;
}

static void json_close(struct json *j, char bracket)
{
	int had_items = j->need_comma[j->depth--];
	if (had_items)
		strbuf_addf(j->sb, "\n%*s", 2 * j->depth, "");
	strbuf_addc(j->sb, bracket);
}

static void json_str(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	if (s)
		json_string(j->sb, s, strlen(s));
	else
		strbuf_adds(j->sb, "null");
}

static void json_int(struct json *j, const char *key, long long v)
{
	json_key(j, key);
	strbuf_addf(j->sb, "%lld", v);
}

static void json_bool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	strbuf_adds(j->sb, v ? "true" : "false");
}

static void json_list(struct json *j, const char *key, const struct string_list *l)
{
	json_open(j, key, '[');
	for (size_t i = 0; i < l->n; i++)
		json_str(j, NULL, l->items[i]);
	json_close(j, ']');
}

static void json_host_path(struct json *j, const struct recipe *r, const char *key, const char *abs)
{
	char *rel = relative_path(r->dir, abs);
	json_str(j, key, rel);
	free(rel);
}

/* A repository may live anywhere: relative when it is under the recipe's
 * directory (the recipe moves with it), else absolute. */
static void json_repo_path(struct json *j, const struct recipe *r, const char *key, const char *abs)
{
	char *rel = relative_path(r->dir, abs);
	json_str(j, key, strncmp(rel, "../", 3) && strcmp(rel, "..") ? rel : abs);
	free(rel);
}

static void json_base(struct json *j, const struct recipe *r)
{
	json_open(j, "base", '{');
	if (r->base.kind == BASE_TARBALL) {
		json_host_path(j, r, "tarball", r->base.tarball);
	} else if (r->base.kind == BASE_OSTREE) {
		json_open(j, "ostree", '{');
		json_repo_path(j, r, "repo", r->base.ostree_repo);
		json_str(j, "ref", r->base.ostree_ref);
		json_close(j, '}');
	} else {
		json_str(j, "distro", r->base.distro);
		if (r->base.kind == BASE_DEBIAN) {
			json_str(j, "suite", r->base.suite);
			json_str(j, "variant", r->base.variant);
			json_str(j, "mirror", r->base.mirror);
		}
	}
	json_close(j, '}');
}

static void json_files(struct json *j, const struct recipe *r)
{
	json_open(j, "files", '[');
	for (size_t i = 0; i < r->n_files; i++) {
		const struct recipe_file *f = &r->files[i];
		char mode[8];
		snprintf(mode, sizeof mode, "%04o", f->mode);
		json_open(j, NULL, '{');
		json_str(j, "path", f->path);
		if (f->source) {
			json_host_path(j, r, "source", f->source);
		} else {
			json_key(j, "content");
			json_string(j->sb, f->content ? f->content : "", f->content_len);
		}
		json_str(j, "mode", mode);
		json_str(j, "owner", f->owner);
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void json_users(struct json *j, const struct recipe *r)
{
	json_open(j, "users", '[');
	for (size_t i = 0; i < r->n_users; i++) {
		const struct recipe_user *u = &r->users[i];
		json_open(j, NULL, '{');
		json_str(j, "name", u->name);
		if (u->uid < 0)
			json_str(j, "uid", NULL); /* allocated at build time */
		else
			json_int(j, "uid", u->uid);
		json_list(j, "groups", &u->groups);
		json_str(j, "shell", u->shell);
		json_str(j, "password", u->password);
		json_str(j, "home", u->home);
		json_list(j, "ssh_authorized_keys", &u->ssh_authorized_keys);
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void json_checks(struct json *j, const struct recipe *r)
{
	json_open(j, "checks", '[');
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct recipe_check *ch = &r->checks[i];
		const char *kind = check_kind_name(ch->kind);
		json_open(j, NULL, '{');
		if (ch->kind == CHECK_TCP) {
			json_int(j, kind, ch->port);
		} else if (ch->kind == CHECK_HTTP) {
			json_open(j, kind, '{');
			json_str(j, "url", ch->target);
			json_int(j, "status", ch->status);
			json_str(j, "contains", ch->contains);
			json_close(j, '}');
		} else {
			json_str(j, kind, ch->target);
		}
		json_int(j, "timeout", ch->timeout_s);
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void json_hygiene(struct json *j, const struct recipe *r)
{
	json_open(j, "hygiene", '{');
	json_open(j, "waive", '[');
	for (size_t i = 0; i < r->hygiene.n_waivers; i++) {
		const struct recipe_waiver *w = &r->hygiene.waivers[i];
		json_open(j, NULL, '{');
		json_str(j, "rule", w->rule);
		json_str(j, "reason", w->reason);
		json_list(j, "paths", &w->paths);
		json_close(j, '}');
	}
	json_close(j, ']');
	json_list(j, "allow_private_keys", &r->hygiene.allow_private_keys);
	json_close(j, '}');
}

static void json_machine(struct json *j, const struct recipe *r)
{
	static const char *const boot[] = {"hybrid", "bios", "uefi"};
	json_open(j, "disk", '{');
	if (r->disk.size)
		json_int(j, "size", (long long)r->disk.size);
	else
		json_str(j, "size", "auto");
	json_str(j, "filesystem", r->disk.filesystem);
	json_str(j, "boot", boot[r->disk.boot]);
	json_close(j, '}');
	json_open(j, "hardware", '{');
	json_int(j, "cpus", r->hardware.cpus);
	json_int(j, "memory", (long long)r->hardware.memory);
	json_str(j, "nic", r->hardware.nic);
	json_close(j, '}');
}

void recipe_to_json(const struct recipe *r, struct strbuf *out)
{
	struct json j = {.sb = out};
	json_open(&j, NULL, '{');
	json_int(&j, "apkg", 1);
	json_str(&j, "name", r->name);
	json_str(&j, "version", r->version);
	json_str(&j, "description", r->description);
	json_int(&j, "epoch", (long long)r->epoch);
	json_base(&j, r);
	json_open(&j, "kernel", '{');
	json_str(&j, "package", r->kernel.package);
	json_str(&j, "cmdline", r->kernel.cmdline);
	json_list(&j, "modules", &r->kernel.modules);
	json_close(&j, '}');
	json_list(&j, "packages", &r->packages);
	json_files(&j, r);
	json_users(&j, r);
	json_open(&j, "services", '{');
	json_list(&j, "enable", &r->services_enable);
	json_list(&j, "disable", &r->services_disable);
	json_close(&j, '}');
	json_str(&j, "hostname", r->hostname);
	json_open(&j, "network", '{');
	json_bool(&j, "dhcp", r->network_dhcp);
	json_close(&j, '}');
	json_list(&j, "run", &r->run);
	json_machine(&j, r);
	json_list(&j, "outputs", &r->outputs);
	json_list(&j, "targets", &r->targets);
	json_int(&j, "check_deadline", r->check_deadline_s);
	json_checks(&j, r);
	json_hygiene(&j, r);
	json_close(&j, '}');
	strbuf_addc(out, '\n');
}

/* ---- hash ---- */

#define MAX_SOURCE_DEPTH 128

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name); /* not alphasort: no locale in a hash */
}

static int not_dot(const struct dirent *d)
{
	return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

static int hash_file_bytes(struct sha256 *s, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		sha256_update(s, buf, (size_t)n);
	}
	close(fd);
	return 0;
}

/* Names the entry that could not be read (the innermost one), keeping errno. */
static int walk_failed(struct strbuf *failed, const char *path)
{
	int e = errno;
	if (!failed->len)
		strbuf_adds(failed, path);
	errno = e;
	return -1;
}

static int hash_dir(struct sha256 *s, const char *path, const char *rel, int depth, struct strbuf *failed);

/* One entry (and, for a directory, everything below it, sorted by name). */
static int hash_tree(struct sha256 *s, const char *path, const char *rel, int depth, struct strbuf *failed)
{
	struct stat st;
	if (depth > MAX_SOURCE_DEPTH) {
		errno = ELOOP;
		return walk_failed(failed, path);
	}
	if (lstat(path, &st) < 0)
		return walk_failed(failed, path);
	char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'o';
	char head[64];
	int hl = snprintf(head, sizeof head, "%c %04o %lld ", type, (unsigned)(st.st_mode & 07777),
			  type == 'f' ? (long long)st.st_size : 0ll);
	sha256_update(s, head, (size_t)hl);
	sha256_update(s, rel, strlen(rel) + 1);
	if (type == 'f' && hash_file_bytes(s, path) < 0)
		return walk_failed(failed, path);
	if (type == 'l') {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof target);
		if (n < 0)
			return walk_failed(failed, path);
		sha256_update(s, target, (size_t)n);
	}
	return type == 'd' ? hash_dir(s, path, rel, depth, failed) : 0;
}

static int hash_dir(struct sha256 *s, const char *path, const char *rel, int depth, struct strbuf *failed)
{
	struct dirent **list;
	int n = scandir(path, &list, not_dot, name_cmp);
	if (n < 0)
		return walk_failed(failed, path);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		if (rc == 0) {
			char *child = xasprintf("%s/%s", path, list[i]->d_name);
			char *child_rel = *rel ? xasprintf("%s/%s", rel, list[i]->d_name) : xstrdup(list[i]->d_name);
			rc = hash_tree(s, child, child_rel, depth + 1, failed);
			free(child);
			free(child_rel);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

static int hash_source(struct rctx *c, struct sha256 *s, const char *abs, struct recipe_pos pos,
		       const char *label)
{
	struct strbuf failed = STRBUF_INIT;
	sha256_update(s, "source\n", 7);
	int rc = hash_tree(s, abs, "", 0, &failed);
	if (rc < 0)
		rerr_at(c, pos.file, pos.line, pos.col, "%s: cannot read %s: %s", label, failed.buf, strerror(errno));
	strbuf_release(&failed);
	return rc;
}

/* ---- the inputs of one build stage ---- */

static int hash_part_source(struct sha256 *s, const char *abs)
{
	struct strbuf failed = STRBUF_INIT;
	sha256_update(s, "source\n", 7);
	int rc = hash_tree(s, abs, "", 0, &failed);
	if (rc < 0)
		error("cannot read %s: %s", failed.buf, strerror(errno));
	strbuf_release(&failed);
	return rc;
}

/* base: what the bootstrap reads (busybox writes the name and version
 * into /etc/os-release; a debian base adds systemd-resolved for DHCP). */
static void json_base_part(struct json *j, const struct recipe *r)
{
	json_base(j, r);
	json_list(j, "packages", &r->packages);
	json_str(j, "kernel.package", r->kernel.package);
	json_bool(j, "network.dhcp", r->network_dhcp);
	if (r->base.kind == BASE_BUSYBOX) {
		json_str(j, "name", r->name);
		json_str(j, "version", r->version);
	}
}

static void json_customize_part(struct json *j, const struct recipe *r)
{
	json_files(j, r);
	json_users(j, r);
	json_open(j, "services", '{');
	json_list(j, "enable", &r->services_enable);
	json_list(j, "disable", &r->services_disable);
	json_close(j, '}');
	json_str(j, "hostname", r->hostname);
	json_bool(j, "network.dhcp", r->network_dhcp);
	json_list(j, "run", &r->run);
}

int recipe_part_digest(const struct recipe *r, enum recipe_part part, uint8_t digest[32])
{
	struct strbuf text = STRBUF_INIT;
	struct json j = {.sb = &text};
	json_open(&j, NULL, '{');
	json_str(&j, "part", part == RECIPE_PART_BASE ? "base" : "customize");
	json_int(&j, "epoch", (long long)r->epoch);
	if (part == RECIPE_PART_BASE)
		json_base_part(&j, r);
	else
		json_customize_part(&j, r);
	json_close(&j, '}');
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, "apkg-recipe-part-1\n", 19);
	sha256_update(&s, text.buf, text.len + 1);
	strbuf_release(&text);
	int rc = 0;
	if (part == RECIPE_PART_BASE && r->base.tarball)
		rc = hash_part_source(&s, r->base.tarball);
	if (part == RECIPE_PART_BASE && r->base.kind == BASE_OSTREE)
		sha256_update(&s, r->base.ostree_commit, strlen(r->base.ostree_commit));
	for (size_t i = 0; part == RECIPE_PART_CUSTOMIZE && rc == 0 && i < r->n_files; i++)
		if (r->files[i].source)
			rc = hash_part_source(&s, r->files[i].source);
	sha256_final(&s, digest);
	return rc;
}

int recipe_compute_hash(struct rctx *c, struct recipe *r)
{
	struct strbuf json = STRBUF_INIT;
	struct sha256 s;
	uint8_t digest[32];
	int rc = 0;
	recipe_to_json(r, &json);
	sha256_init(&s);
	sha256_update(&s, "apkg-recipe-1\n", 14);
	sha256_update(&s, json.buf, json.len + 1);
	strbuf_release(&json);
	if (r->base.tarball && hash_source(c, &s, r->base.tarball, r->base.pos, "base.tarball") < 0)
		rc = -1;
	if (r->base.kind == BASE_OSTREE) { /* the content, not only the name of the ref */
		sha256_update(&s, "ostree-commit\n", 14);
		sha256_update(&s, r->base.ostree_commit, strlen(r->base.ostree_commit));
	}
	for (size_t i = 0; i < r->n_files; i++) {
		if (r->files[i].source &&
		    hash_source(c, &s, r->files[i].source, r->files[i].pos, field_label("files[%zu].source", i).s) < 0)
			rc = -1;
	}
	sha256_final(&s, digest);
	sha256_hex(digest, r->hash);
	return rc;
}
