/* builder/recipe_items.c: the recipe's lists of maps: files, users and checks.
 *
 * Each item is read on its own (every problem reported, defaults filled) and
 * then the list as a whole is checked for duplicates: two files with one
 * path, two users with one name or uid.
 */
#include "builder/recipe_internal.h"

#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

static const char *const FILE_KEYS[] = {"path", "content", "source", "mode", "owner", NULL};
static const char *const USER_KEYS[] = {"name", "uid", "groups", "shell", "password", "ssh_authorized_keys",
					"home", NULL};
static const char *const CHECK_KEYS[] = {"service", "tcp", "http", "command", "file", "timeout", NULL};
static const char *const CHECK_KINDS[] = {"service", "tcp", "http", "command", "file", NULL}; /* enum check_kind order */
static const char *const HTTP_KEYS[] = {"url", "status", "contains", NULL};

/* ---- files ---- */

char *normalize_path(const char *p)
{
	struct strbuf sb = STRBUF_INIT;
	for (; *p; p++)
		if (!(*p == '/' && sb.len && sb.buf[sb.len - 1] == '/'))
			strbuf_addc(&sb, *p);
	if (sb.len > 1 && sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = 0;
	return strbuf_detach(&sb);
}

static int read_mode(struct rctx *c, const struct ynode *n, const char *label, unsigned *out)
{
	char what[64];
	const char *s = n->kind == YNODE_SCALAR ? n->str : "";
	if (!strncmp(s, "0o", 2))
		s += 2;
	size_t digits = strspn(s, "01234567");
	unsigned long mode = digits >= 3 && digits <= 5 && !s[digits] ? strtoul(s, NULL, 8) : ~0ul;
	if (mode > 07777) {
		rerr(c, n, "%s: %s is not an octal mode (like \"0644\")", label, ynode_describe(n, what, sizeof what));
		return -1;
	}
	*out = (unsigned)mode;
	return 0;
}

static void read_file_content(struct rctx *c, const struct ynode *n, const char *label, struct recipe_file *f)
{
	if (expect_kind(c, n, label, YNODE_SCALAR) < 0)
		return;
	f->content = xmalloc(n->len + 1);
	memcpy(f->content, n->str, n->len + 1);
	f->content_len = n->len;
}

/* Reads content or source (exactly one); returns whether the source is a directory. */
static int read_file_data(struct vctx *v, const struct ynode *item, size_t i, struct recipe_file *f)
{
	const struct ynode *content = field(item, "content"), *source = field(item, "source");
	int is_dir = 0;
	if (content && source)
		rerr(v->c, source, "files[%zu]: give either content or source, not both", i);
	else if (content)
		read_file_content(v->c, content, field_label("files[%zu].content", i).s, f);
	else if (source)
		resolve_source(v->c, source, field_label("files[%zu].source", i).s, &f->source, &is_dir);
	else
		rerr(v->c, item, "files[%zu]: needs content or source", i);
	return is_dir;
}

static void read_file_item(struct vctx *v, const struct ynode *item, size_t i, struct recipe_file *f,
			   struct ynode **path_node)
{
	struct label where = field_label("files[%zu]", i);
	const struct ynode *n;
	char *raw;
	f->pos = pos_of(item);
	f->owner = xstrdup("root:root");
	f->mode = 0644;
	if (expect_kind(v->c, item, where.s, YNODE_MAP) < 0)
		return;
	check_keys(v->c, item, where.s, FILE_KEYS);
	struct ynode *p = ynode_map_get(item, "path");
	if (!p)
		missing_key(v->c, item, where.s, "path");
	else if (read_string(v->c, p, field_label("files[%zu].path", i).s, &RULE_ABS_PATH, &raw) == 0) {
		f->path = normalize_path(raw);
		*path_node = p;
		free(raw);
	}
	int is_dir = read_file_data(v, item, i, f);
	if (f->path && !strcmp(f->path, "/") && !is_dir)
		rerr(v->c, p, "files[%zu].path: \"/\" takes only a directory source", i);
	if ((n = field(item, "mode")) && read_mode(v->c, n, field_label("files[%zu].mode", i).s, &f->mode) == 0)
		f->mode_set = 1;
	else if (is_dir)
		f->mode = 0755;
	if ((n = field(item, "owner"))) {
		char *owner;
		if (read_string(v->c, n, field_label("files[%zu].owner", i).s, &RULE_OWNER, &owner) == 0) {
			free(f->owner);
			f->owner = owner;
		}
	}
}

void read_files(struct vctx *v, const struct ynode *root)
{
	const struct ynode *list = field(root, "files");
	if (!list || expect_kind(v->c, list, "files", YNODE_SEQ) < 0)
		return;
	struct recipe *r = v->r;
	r->files = xcalloc(list->n, sizeof *r->files);
	r->n_files = list->n;
	char **paths = xcalloc(list->n ? list->n : 1, sizeof *paths);
	struct ynode **nodes = xcalloc(list->n ? list->n : 1, sizeof *nodes);
	for (size_t i = 0; i < list->n; i++) {
		read_file_item(v, list->vals[i], i, &r->files[i], &nodes[i]);
		paths[i] = nodes[i] ? r->files[i].path : NULL;
	}
	report_duplicates(v->c, list->n, paths, nodes, "files", "path", "file", 1);
	free(paths);
	free(nodes);
}

/* ---- users ---- */

static void read_uid(struct vctx *v, const struct ynode *n, size_t i, struct recipe_user *u)
{
	int is_root = u->name && !strcmp(u->name, "root");
	long uid;
	u->uid = is_root ? 0 : -1;
	if (!n || read_int(v->c, n, field_label("users[%zu].uid", i).s, 0, 65533, &uid) < 0)
		return;
	if (is_root && uid != 0)
		rerr(v->c, n, "users[%zu].uid: root has uid 0", i);
	else if (!is_root && uid == 0)
		rerr(v->c, n, "users[%zu].uid: uid 0 is root's", i);
	else
		u->uid = uid;
}

static void read_user_strings(struct vctx *v, const struct ynode *item, size_t i, struct recipe_user *u)
{
	const struct ynode *n;
	if ((n = field(item, "shell")))
		read_string(v->c, n, field_label("users[%zu].shell", i).s, &RULE_ABS_PATH, &u->shell);
	if ((n = field(item, "password")) &&
	    read_string(v->c, n, field_label("users[%zu].password", i).s, &RULE_PASSWORD, &u->password) == 0)
		u->password_set = 1;
	if ((n = field(item, "home")))
		read_string(v->c, n, field_label("users[%zu].home", i).s, &RULE_ABS_PATH, &u->home);
	if ((n = field(item, "groups")))
		read_list(v->c, n, field_label("users[%zu].groups", i).s, &RULE_LOGIN, 1, &u->groups);
	if ((n = field(item, "ssh_authorized_keys")))
		read_list(v->c, n, field_label("users[%zu].ssh_authorized_keys", i).s, &RULE_SSH_KEY, 1,
			  &u->ssh_authorized_keys);
}

static void read_user_item(struct vctx *v, const struct ynode *item, size_t i, struct recipe_user *u,
			   struct ynode **name_node)
{
	struct label where = field_label("users[%zu]", i);
	u->pos = pos_of(item);
	u->uid = -1;
	if (expect_kind(v->c, item, where.s, YNODE_MAP) == 0) {
		check_keys(v->c, item, where.s, USER_KEYS);
		struct ynode *n = ynode_map_get(item, "name");
		if (!n)
			missing_key(v->c, item, where.s, "name");
		else if (read_string(v->c, n, field_label("users[%zu].name", i).s, &RULE_LOGIN, &u->name) == 0)
			*name_node = n;
		read_uid(v, field(item, "uid"), i, u);
		read_user_strings(v, item, i, u);
	}
	if (!u->shell)
		u->shell = xstrdup("/bin/sh");
	if (!u->password)
		u->password = xstrdup("!");
	if (!u->home)
		u->home = u->uid == 0 ? xstrdup("/root") : xasprintf("/home/%s", u->name ? u->name : "");
}

void read_users(struct vctx *v, const struct ynode *root)
{
	const struct ynode *list = field(root, "users");
	if (!list || expect_kind(v->c, list, "users", YNODE_SEQ) < 0)
		return;
	struct recipe *r = v->r;
	size_t n = list->n;
	r->users = xcalloc(n, sizeof *r->users);
	r->n_users = n;
	char **names = xcalloc(n ? n : 1, sizeof *names), **uids = xcalloc(n ? n : 1, sizeof *uids);
	struct ynode **name_nodes = xcalloc(n ? n : 1, sizeof *name_nodes);
	struct ynode **uid_nodes = xcalloc(n ? n : 1, sizeof *uid_nodes);
	for (size_t i = 0; i < n; i++) {
		read_user_item(v, list->vals[i], i, &r->users[i], &name_nodes[i]);
		names[i] = name_nodes[i] ? r->users[i].name : NULL;
		uid_nodes[i] = field(list->vals[i], "uid");
		if (uid_nodes[i] && r->users[i].uid >= 0)
			uids[i] = xasprintf("%ld", r->users[i].uid);
	}
	report_duplicates(v->c, n, names, name_nodes, "users", "name", "user", 1);
	report_duplicates(v->c, n, uids, uid_nodes, "users", "uid", "uid", 0);
	for (size_t i = 0; i < n; i++)
		free(uids[i]);
	free(uids);
	free(names);
	free(name_nodes);
	free(uid_nodes);
}

/* ---- checks ---- */

static void read_http(struct vctx *v, const struct ynode *n, size_t i, struct recipe_check *ch)
{
	struct label where = field_label("checks[%zu].http", i);
	const struct ynode *x;
	long status;
	if (n->kind == YNODE_SCALAR) { /* the short form: http: URL */
		read_string(v->c, n, where.s, &RULE_HTTP_URL, &ch->target);
		return;
	}
	if (expect_kind(v->c, n, where.s, YNODE_MAP) < 0)
		return;
	check_keys(v->c, n, where.s, HTTP_KEYS);
	if (!(x = ynode_map_get(n, "url")))
		missing_key(v->c, n, where.s, "url");
	else
		read_string(v->c, x, field_label("checks[%zu].http.url", i).s, &RULE_HTTP_URL, &ch->target);
	if ((x = field(n, "status")) &&
	    read_int(v->c, x, field_label("checks[%zu].http.status", i).s, 100, 599, &status) == 0)
		ch->status = (int)status;
	if ((x = field(n, "contains")))
		read_string(v->c, x, field_label("checks[%zu].http.contains", i).s, NULL, &ch->contains);
}

static void read_check_body(struct vctx *v, const struct ynode *n, size_t i, struct recipe_check *ch)
{
	struct label where = field_label("checks[%zu].%s", i, check_kind_name(ch->kind));
	long port;
	switch (ch->kind) {
	case CHECK_SERVICE:
		read_string(v->c, n, where.s, &RULE_UNIT, &ch->target);
		break;
	case CHECK_TCP:
		if (read_int(v->c, n, where.s, 1, 65535, &port) == 0)
			ch->port = (int)port;
		break;
	case CHECK_HTTP:
		read_http(v, n, i, ch);
		break;
	case CHECK_COMMAND:
		read_string(v->c, n, where.s, &RULE_COMMAND, &ch->target);
		break;
	case CHECK_FILE:
		read_string(v->c, n, where.s, &RULE_ABS_PATH, &ch->target);
		break;
	}
}

static void read_check_item(struct vctx *v, const struct ynode *item, size_t i, struct recipe_check *ch)
{
	char what[64];
	long timeout;
	ch->pos = pos_of(item);
	ch->timeout_s = 5;
	ch->status = 200;
	if (item->kind != YNODE_MAP) {
		rerr(v->c, item, "checks[%zu]: expected a map like {service: nginx}, got %s", i,
		     ynode_describe(item, what, sizeof what));
		return;
	}
	check_keys(v->c, item, field_label("checks[%zu]", i).s, CHECK_KEYS);
	int kinds = 0;
	for (size_t j = 0; j < item->n; j++) {
		for (int k = 0; CHECK_KINDS[k]; k++) {
			if (strcmp(item->keys[j]->str, CHECK_KINDS[k]))
				continue;
			if (kinds++) {
				rerr(v->c, item->keys[j], "checks[%zu]: one kind per check; found %s and %s", i,
				     check_kind_name(ch->kind), CHECK_KINDS[k]);
				break;
			}
			ch->kind = (enum check_kind)k;
			read_check_body(v, item->vals[j], i, ch);
		}
	}
	if (!kinds)
		rerr(v->c, item, "checks[%zu]: needs one of service, tcp, http, command or file", i);
	const struct ynode *t = field(item, "timeout");
	if (t && read_int(v->c, t, field_label("checks[%zu].timeout", i).s, 1, 3600, &timeout) == 0)
		ch->timeout_s = (int)timeout;
}

void read_checks(struct vctx *v, const struct ynode *root)
{
	const struct ynode *list = field(root, "checks");
	if (!list || expect_kind(v->c, list, "checks", YNODE_SEQ) < 0)
		return;
	struct recipe *r = v->r;
	r->checks = xcalloc(list->n, sizeof *r->checks);
	r->n_checks = list->n;
	for (size_t i = 0; i < list->n; i++)
		read_check_item(v, list->vals[i], i, &r->checks[i]);
}
