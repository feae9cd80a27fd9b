/* builder/recipe_schema.c: typed reading of recipe values, with one message per problem.
 *
 * Every reader takes the node, the field's name as the user sees it
 * ("files[2].mode") and reports a problem at the node's position in the words
 * a user needs to fix it: what was expected and what was found, and for a
 * misspelt key or enum value the closest valid word. Readers never stop at
 * the first problem: callers go on so that every error is reported.
 */
#include "builder/recipe_internal.h"

#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct label field_label(const char *fmt, ...)
{
	struct label l;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l.s, sizeof l.s, fmt, ap);
	va_end(ap);
	return l;
}

struct recipe_pos pos_of(const struct ynode *n)
{
	return (struct recipe_pos){n->file, n->line, n->col};
}

/* ---- what strings must look like ---- */

static int in_set(char ch, const char *set)
{
	return ch && strchr(set, ch);
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"

/* s matches [first][rest]{0,max-1} */
static int word_of(const char *s, const char *first, const char *rest, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max || !in_set(s[0], first))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!in_set(s[i], rest))
			return 0;
	return 1;
}

static int valid_name(const char *s) { return word_of(s, LOWER DIGIT, LOWER DIGIT "-", 63); }
static int valid_version(const char *s) { return word_of(s, LOWER UPPER DIGIT, LOWER UPPER DIGIT ".+~_-", 64); }
static int valid_module(const char *s) { return word_of(s, LOWER UPPER DIGIT "_-", LOWER UPPER DIGIT "_-", 64); }
static int valid_unit(const char *s) { return word_of(s, LOWER UPPER DIGIT "_@.-", LOWER UPPER DIGIT "_@.:-", 255); }
static int valid_login(const char *s) { return word_of(s, LOWER "_", LOWER DIGIT "_-", 32); }
static int valid_suite(const char *s) { return word_of(s, LOWER, LOWER DIGIT ".-", 64); }

/* name[:arch][=version], as apt-get install takes it */
static int valid_package(const char *s)
{
	size_t n = strcspn(s, ":=");
	char name[130];
	if (n < 2 || n >= sizeof name)
		return 0;
	memcpy(name, s, n);
	name[n] = 0;
	if (!word_of(name, LOWER DIGIT, LOWER DIGIT "+.-", 128))
		return 0;
	s += n;
	if (*s == ':') {
		n = strcspn(++s, "=");
		for (size_t i = 0; i < n; i++)
			if (!in_set(s[i], LOWER DIGIT "-"))
				return 0;
		if (!n)
			return 0;
		s += n;
	}
	if (*s == '=')
		return word_of(s + 1, LOWER UPPER DIGIT, LOWER UPPER DIGIT ".+~:-", 128);
	return !*s;
}

static int valid_hostname(const char *s)
{
	if (strlen(s) > 253)
		return 0;
	for (;;) {
		size_t n = strcspn(s, ".");
		char part[64];
		if (n == 0 || n > 63)
			return 0;
		memcpy(part, s, n);
		part[n] = 0;
		if (!word_of(part, LOWER UPPER DIGIT, LOWER UPPER DIGIT "-", 63))
			return 0;
		if (!s[n])
			return 1;
		s += n + 1;
	}
}

static int valid_owner_part(const char *s, size_t n)
{
	char part[40];
	if (!n || n >= sizeof part)
		return 0;
	memcpy(part, s, n);
	part[n] = 0;
	return valid_login(part) || word_of(part, DIGIT, DIGIT, 10);
}

static int valid_owner(const char *s)
{
	const char *colon = strchr(s, ':');
	return colon && valid_owner_part(s, (size_t)(colon - s)) && valid_owner_part(colon + 1, strlen(colon + 1));
}

/* "!" (locked), "*", or a crypt(3) hash "$id$...", optionally locked with a leading "!". */
static int valid_password(const char *s)
{
	if (*s == '!')
		s++;
	if (!*s || !strcmp(s, "*"))
		return 1;
	return s[0] == '$' && word_of(s + 1, LOWER UPPER DIGIT "./$=+-", LOWER UPPER DIGIT "./$=+-", 512);
}

static int is_ssh_key_type(const char *s, size_t n)
{
	static const char *const types[] = {"ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256",
					    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
					    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", NULL};
	for (size_t i = 0; types[i]; i++)
		if (strlen(types[i]) == n && !memcmp(types[i], s, n))
			return 1;
	return 0;
}

static int is_base64_word(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && in_set(s[i], LOWER UPPER DIGIT "+/"))
		i++;
	size_t pad = 0;
	while (i < n && s[i] == '=' && pad < 2) {
		i++;
		pad++;
	}
	return i == n && n >= 16;
}

/* "[options ]type base64[ comment]", one line */
static int valid_ssh_key(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			return 0;
	size_t n = strcspn(s, " ");
	if (!is_ssh_key_type(s, n)) {
		if (!s[n]) /* options must be followed by the key */
			return 0;
		s += n + 1;
		n = strcspn(s, " ");
		if (!is_ssh_key_type(s, n))
			return 0;
	}
	if (!s[n])
		return 0;
	s += n + 1;
	return is_base64_word(s, strcspn(s, " "));
}

static int no_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Absolute, without "." or ".." parts (which would make two names for one file). */
static int valid_abs_path(const char *s)
{
	if (s[0] != '/' || !no_control_chars(s))
		return 0;
	for (const char *p = s; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
	}
	return 1;
}

static int valid_mirror(const char *s)
{
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8) && strncmp(s, "file:/", 6))
		return 0;
	return !strchr(s, ' ') && no_control_chars(s) && strlen(s) > 8;
}

/* http://HOST[:PORT][/PATH], plain HTTP: the in-guest probe has no TLS. */
static int valid_http_url(const char *s)
{
	if (strncmp(s, "http://", 7) || !no_control_chars(s) || strchr(s, ' '))
		return 0;
	s += 7;
	size_t host = s[0] == '[' ? strcspn(s, "]") + 1 : strcspn(s, ":/?#");
	if (host == 0 || (s[0] == '[' && !s[host - 1]))
		return 0;
	for (size_t i = 0; s[0] != '[' && i < host; i++)
		if (!in_set(s[i], LOWER UPPER DIGIT ".-"))
			return 0;
	s += host;
	if (*s == ':') {
		size_t n = strspn(++s, DIGIT);
		long port = n && n <= 5 ? strtol(s, NULL, 10) : 0;
		if (port < 1 || port > 65535)
			return 0;
		s += n;
	}
	return !*s || *s == '/' || *s == '?';
}

/* OSTree refs: components of [A-Za-z0-9._-] (not starting with '.' or '-') joined by '/'. */
static int valid_ostree_ref(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 255)
		return 0;
	for (const char *c = s; *c;) {
		size_t len = strcspn(c, "/");
		if (!len || !in_set(c[0], LOWER UPPER DIGIT "_"))
			return 0;
		for (size_t i = 1; i < len; i++)
			if (!in_set(c[i], LOWER UPPER DIGIT "._-"))
				return 0;
		c += len;
		if (*c == '/' && !*++c)
			return 0;
	}
	return 1;
}

static int valid_command(const char *s)
{
	return s[strspn(s, " \t\n\r")] != 0;
}

const struct str_rule RULE_NAME = {valid_name, "name",
				   "lowercase letters, digits and '-', starting with a letter or digit, "
				   "at most 63 characters"};
const struct str_rule RULE_VERSION = {valid_version, "version",
				      "letters, digits and . + ~ _ -, starting with a letter or digit"};
const struct str_rule RULE_PACKAGE = {valid_package, "package name", "a Debian package like nginx-light"};
const struct str_rule RULE_MODULE = {valid_module, "module name", "like vmw_pvscsi"};
const struct str_rule RULE_UNIT = {valid_unit, "service name", "like nginx or getty@tty1"};
const struct str_rule RULE_LOGIN = {valid_login, "name",
				    "lowercase letters, digits, '_' and '-', starting with a letter or '_', "
				    "at most 32 characters"};
const struct str_rule RULE_HOSTNAME = {valid_hostname, "hostname", "letters, digits and '-', dot-separated"};
const struct str_rule RULE_OWNER = {valid_owner, "owner", "user:group, names or numbers"};
const struct str_rule RULE_PASSWORD = {valid_password, "password",
				       "a crypt(3) hash such as \"$6$...\", or \"!\" for none"};
const struct str_rule RULE_SSH_KEY = {valid_ssh_key, "SSH public key", "\"ssh-ed25519 AAAA... comment\""};
const struct str_rule RULE_ABS_PATH = {valid_abs_path, "absolute path",
				       "starting with /, without . or .. parts"};
const struct str_rule RULE_SUITE = {valid_suite, "suite", "like bookworm"};
const struct str_rule RULE_MIRROR = {valid_mirror, "mirror", "an http://, https:// or file:/ URL"};
const struct str_rule RULE_HTTP_URL = {valid_http_url, "URL",
				       "http://HOST[:PORT]/PATH; the check speaks plain HTTP"};
const struct str_rule RULE_OSTREE_REF = {valid_ostree_ref, "OSTree ref",
					 "like os/x86_64/stable or a commit checksum"};
const struct str_rule RULE_COMMAND = {valid_command, NULL, "empty command"};
const struct str_rule RULE_LINE = {no_control_chars, NULL, "must be a single line without control characters"};

/* ---- keys ---- */

struct ynode *field(const struct ynode *map, const char *key)
{
	struct ynode *v = ynode_map_get(map, key);
	return ynode_is_null(v) ? NULL : v;
}

void check_keys(struct rctx *c, const struct ynode *map, const char *where, const char *const *allowed)
{
	for (size_t i = 0; i < map->n; i++) {
		const struct ynode *k = map->keys[i];
		size_t j = 0;
		while (allowed[j] && strcmp(allowed[j], k->str))
			j++;
		if (allowed[j] && k->len == strlen(k->str))
			continue;
		if (!where && !strncmp(k->str, "x-", 2))
			continue; /* top-level "x-..." keys are the user's own, e.g. to hold anchors */
		char what[64];
		const char *hint = closest_word(k->str, allowed);
		rerr(c, k, "unknown key %s%s%s%s%s%s", ynode_describe(k, what, sizeof what), where ? " in " : "",
		     where ? where : "", hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
	}
}

void missing_key(struct rctx *c, const struct ynode *map, const char *where, const char *key)
{
	rerr(c, map, "missing required key \"%s\"%s%s", key, where ? " in " : "", where ? where : "");
}

/* ---- typed readers ---- */

static const char *kind_noun(enum ynode_kind kind)
{
	return kind == YNODE_MAP ? "a map" : kind == YNODE_SEQ ? "a list" : "a string";
}

int expect_kind(struct rctx *c, const struct ynode *n, const char *label, enum ynode_kind kind)
{
	char what[64];
	if (n->kind == kind && !(kind == YNODE_SCALAR && ynode_is_null(n)))
		return 0;
	rerr(c, n, "%s: expected %s, got %s", label, kind_noun(kind), ynode_describe(n, what, sizeof what));
	return -1;
}

int read_string(struct rctx *c, const struct ynode *n, const char *label, const struct str_rule *rule,
		char **out)
{
	char what[64];
	if (expect_kind(c, n, label, YNODE_SCALAR) < 0)
		return -1;
	if (strlen(n->str) != n->len) {
		rerr(c, n, "%s: contains a NUL character", label);
		return -1;
	}
	if (rule && !rule->ok(n->str)) {
		if (rule->noun)
			rerr(c, n, "%s: %s is not a valid %s (%s)", label, ynode_describe(n, what, sizeof what),
			     rule->noun, rule->explain);
		else
			rerr(c, n, "%s: %s", label, rule->explain);
		return -1;
	}
	*out = xstrdup(n->str);
	return 0;
}

static int parse_long(const char *s, long *out)
{
	int neg = *s == '-';
	const char *p = s + neg;
	size_t digits = strspn(p, DIGIT);
	if (!digits || digits > 18 || p[digits])
		return -1;
	long v = 0;
	for (size_t i = 0; i < digits; i++)
		v = v * 10 + (p[i] - '0');
	*out = neg ? -v : v;
	return 0;
}

int read_int(struct rctx *c, const struct ynode *n, const char *label, long min, long max, long *out)
{
	char what[64];
	long v;
	if (n->kind != YNODE_SCALAR || ynode_is_null(n) || parse_long(n->str, &v) < 0) {
		rerr(c, n, "%s: expected an integer, got %s", label, ynode_describe(n, what, sizeof what));
		return -1;
	}
	if (v < min || v > max) {
		rerr(c, n, "%s: %ld is out of range (%ld to %ld)", label, v, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int read_bool(struct rctx *c, const struct ynode *n, const char *label, int *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL};
	char what[64];
	for (size_t i = 0; n->kind == YNODE_SCALAR && yes[i]; i++) {
		if (!strcmp(n->str, yes[i]) || !strcmp(n->str, no[i])) {
			*out = !strcmp(n->str, yes[i]);
			return 0;
		}
	}
	rerr(c, n, "%s: expected true or false, got %s", label, ynode_describe(n, what, sizeof what));
	return -1;
}

static void join_or(struct strbuf *sb, const char *const *values)
{
	for (size_t i = 0; values[i]; i++)
		strbuf_addf(sb, "%s%s", i == 0 ? "" : values[i + 1] ? ", " : " or ", values[i]);
}

int read_enum(struct rctx *c, const struct ynode *n, const char *label, const char *noun,
	      const char *const *values, int *index)
{
	char what[64];
	if (expect_kind(c, n, label, YNODE_SCALAR) < 0)
		return -1;
	for (int i = 0; values[i]; i++) {
		if (!strcmp(n->str, values[i]) && strlen(values[i]) == n->len) {
			*index = i;
			return 0;
		}
	}
	const char *hint = closest_word(n->str, values);
	struct strbuf sb = STRBUF_INIT;
	if (hint)
		strbuf_addf(&sb, "did you mean \"%s\"?", hint);
	else {
		strbuf_adds(&sb, "expected ");
		join_or(&sb, values);
	}
	rerr(c, n, "%s: unknown %s %s (%s)", label, noun, ynode_describe(n, what, sizeof what), sb.buf);
	strbuf_release(&sb);
	return -1;
}

void list_add(struct string_list *l, const char *s, struct recipe_pos pos)
{
	l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
	l->pos = xrealloc(l->pos, (l->n + 1) * sizeof *l->pos);
	l->items[l->n] = xstrdup(s);
	l->pos[l->n++] = pos;
}

int list_has(const struct string_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], s))
			return 1;
	return 0;
}

int read_list(struct rctx *c, const struct ynode *n, const char *label, const struct str_rule *rule, int unique,
	      struct string_list *out)
{
	if (expect_kind(c, n, label, YNODE_SEQ) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n->n; i++) {
		char *s;
		if (read_string(c, n->vals[i], field_label("%s[%zu]", label, i).s, rule, &s) < 0) {
			rc = -1;
			continue;
		}
		if (!unique || !list_has(out, s))
			list_add(out, s, pos_of(n->vals[i]));
		free(s);
	}
	return rc;
}

int read_enum_list(struct rctx *c, const struct ynode *n, const char *label, const char *noun,
		   const char *const *values, struct string_list *out)
{
	if (expect_kind(c, n, label, YNODE_SEQ) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n->n; i++) {
		int k;
		if (read_enum(c, n->vals[i], field_label("%s[%zu]", label, i).s, noun, values, &k) < 0)
			rc = -1;
		else if (!list_has(out, values[k]))
			list_add(out, values[k], pos_of(n->vals[i]));
	}
	return rc;
}

/* ---- host paths ---- */

/* Lexically: does the relative path climb above its start with ".."? */
static int climbs_out(const char *s)
{
	long depth = 0;
	for (const char *p = s; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			depth--;
		else if (n && !(n == 1 && p[0] == '.'))
			depth++;
		if (depth < 0)
			return 1;
		p += n;
	}
	return 0;
}

static int inside_dir(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	if (!strcmp(dir, "/"))
		return 1;
	return !strncmp(dir, path, n) && (path[n] == '/' || !path[n]);
}

int resolve_source(struct rctx *c, const struct ynode *n, const char *label, char **abs, int *is_dir)
{
	char *rel;
	char what[64];
	if (read_string(c, n, label, NULL, &rel) < 0)
		return -1;
	const char *shown = ynode_describe(n, what, sizeof what);
	const struct rfile *f = rctx_file(c, n->file);
	const char *dir = f ? f->dir : NULL;
	char *full = NULL, *real = NULL;
	int rc = -1;
	struct stat st;
	if (!*rel)
		rerr(c, n, "%s: empty path", label);
	else if (rel[0] == '/')
		rerr(c, n, "%s: %s must be relative to the recipe's directory", label, shown);
	else if (climbs_out(rel))
		rerr(c, n, "%s: %s leaves the recipe's directory", label, shown);
	else if (!dir || !(real = realpath(full = path_join(dir, rel), NULL)))
		rerr(c, n, "%s: %s %s", label, shown,
		     !dir || errno == ENOENT || errno == ENOTDIR ? "does not exist" : strerror(errno));
	else if (!inside_dir(dir, real))
		rerr(c, n, "%s: %s leaves the recipe's directory through a symlink", label, shown);
	else if (stat(real, &st) < 0)
		rerr(c, n, "%s: %s: %s", label, shown, strerror(errno));
	else {
		*is_dir = S_ISDIR(st.st_mode);
		*abs = real;
		real = NULL;
		rc = 0;
	}
	free(real);
	free(full);
	free(rel);
	return rc;
}

int resolve_host_dir(struct rctx *c, const struct ynode *n, const char *label, char **abs)
{
	char *given, what[64];
	if (read_string(c, n, label, NULL, &given) < 0)
		return -1;
	const char *shown = ynode_describe(n, what, sizeof what);
	const struct rfile *f = rctx_file(c, n->file);
	char *full = given[0] == '/' ? xstrdup(given) : f && f->dir ? path_join(f->dir, given) : NULL;
	char *real = NULL;
	struct stat st;
	int rc = -1;
	if (!*given)
		rerr(c, n, "%s: empty path", label);
	else if (!full || !(real = realpath(full, NULL)))
		rerr(c, n, "%s: %s %s", label, shown,
		     !full || errno == ENOENT || errno == ENOTDIR ? "does not exist" : strerror(errno));
	else if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		rerr(c, n, "%s: %s is not a directory", label, shown);
	else {
		*abs = real;
		real = NULL;
		rc = 0;
	}
	free(real);
	free(full);
	free(given);
	return rc;
}

/* ---- duplicates ---- */

struct keyed {
	const char *key;
	size_t index;
};

static int keyed_cmp(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;
	int d = strcmp(a->key, b->key);
	return d ? d : a->index < b->index ? -1 : a->index > b->index;
}

void report_duplicates(struct rctx *c, size_t n, char *const *keys, struct ynode *const *nodes,
		       const char *list, const char *fieldname, const char *noun, int quoted)
{
	struct keyed *k = xcalloc(n ? n : 1, sizeof *k);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (keys[i])
			k[m++] = (struct keyed){keys[i], i};
	qsort(k, m, sizeof *k, keyed_cmp);
	for (size_t i = 1, first = 0; i < m; i++) {
		if (strcmp(k[i].key, k[first].key)) {
			first = i;
			continue;
		}
		const struct ynode *a = nodes[k[first].index], *b = nodes[k[i].index];
		struct label where = a->file == b->file ? field_label("%d:%d", a->line, a->col)
							: field_label("%s:%d:%d", a->file, a->line, a->col);
		const char *q = quoted ? "\"" : "";
		rerr(c, b, "%s[%zu].%s: duplicate %s %s%s%s (first at %s)", list, k[i].index, fieldname, noun, q,
		     k[i].key, q, where.s);
	}
	free(k);
}
