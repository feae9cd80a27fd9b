/* builder/users.c: edit the image's passwd, group, shadow and gshadow directly.
 *
 * Each file is held as its lines; apkg only appends lines or rewrites the
 * lines of the accounts the recipe names, so whatever the base put there
 * (comments, NIS entries, odd spacing) survives unchanged. The files come
 * from an untrusted image, so a line that does not parse is kept but never
 * used for a lookup.
 */
#include "builder/users.h"

#include "builder/imgroot.h"
#include "builder/recipe.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID_FIRST 1000
#define ID_LAST 59999 /* Debian's UID_MAX / GID_MAX */
#define MAX_FIELDS 10
#define DB_MAX_SIZE (16u << 20)

enum { PASSWD, GROUP, SHADOW, GSHADOW, N_DBFILES };

struct dbfile {
	const char *path;
	char **lines;
	size_t n, alloc;
	int present, changed;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct userdb {
	struct dbfile f[N_DBFILES];
};

static const char *const db_paths[N_DBFILES] = {"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"};

/* Splits a copy of line at ':' into at most MAX_FIELDS fields. The caller
 * frees fields[0]. */
static int split_fields(const char *line, char **fields)
{
	char *copy = xstrdup(line);
	int n = 0;
	fields[n++] = copy;
	for (char *c = copy; *c && n < MAX_FIELDS; c++)
		if (*c == ':') {
			*c = 0;
			fields[n++] = c + 1;
		}
	return n;
}

static char *join_fields(char **fields, int n)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%s", i ? ":" : "", fields[i]);
	return strbuf_detach(&sb);
}

static void add_line(struct dbfile *f, char *line)
{
	if (f->n == f->alloc) {
		f->alloc = f->alloc ? 2 * f->alloc : 32;
		f->lines = xrealloc(f->lines, f->alloc * sizeof *f->lines);
	}
	f->lines[f->n++] = line;
	f->changed = 1;
}

/* Keeps every line, empty ones included, so untouched lines survive. */
static void parse_lines(struct dbfile *f, const char *text)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		add_line(f, strndup(p, n));
		p += n + (p[n] == '\n');
	}
	f->changed = 0;
}

static struct userdb *userdb_new(void)
{
	struct userdb *db = xcalloc(1, sizeof *db);
	for (int i = 0; i < N_DBFILES; i++) {
		db->f[i].path = db_paths[i];
		db->f[i].mode = i == SHADOW || i == GSHADOW ? 0640 : 0644;
	}
	return db;
}

struct userdb *userdb_from_text(const char *const text[4])
{
	struct userdb *db = userdb_new();
	for (int i = 0; i < N_DBFILES; i++) {
		db->f[i].present = text[i] != NULL;
		if (text[i])
			parse_lines(&db->f[i], text[i]);
	}
	return db;
}

void userdb_text(const struct userdb *db, int which, struct strbuf *out)
{
	if (which < 0 || which >= N_DBFILES)
		return;
	for (size_t j = 0; j < db->f[which].n; j++)
		strbuf_addf(out, "%s\n", db->f[which].lines[j]);
}

static int load_file(struct dbfile *f, const struct imgroot *ir)
{
	struct strbuf sb = STRBUF_INIT;
	int r = imgroot_read(ir, f->path, &sb, DB_MAX_SIZE, 1);
	if (r < 0) {
		strbuf_release(&sb);
		return -1;
	}
	f->present = r == 0;
	struct stat st;
	if (f->present && imgroot_stat(ir, f->path, &st) == 0) {
		f->mode = st.st_mode & 07777;
		f->uid = st.st_uid;
		f->gid = st.st_gid;
	}
	parse_lines(f, sb.buf);
	strbuf_release(&sb);
	return 0;
}

struct userdb *userdb_load(const struct imgroot *ir)
{
	struct userdb *db = userdb_new();
	for (int i = 0; i < N_DBFILES; i++) {
		if (load_file(&db->f[i], ir) < 0) {
			userdb_free(db);
			return NULL;
		}
	}
	return db;
}

void userdb_free(struct userdb *db)
{
	if (!db)
		return;
	for (int i = 0; i < N_DBFILES; i++) {
		for (size_t j = 0; j < db->f[i].n; j++)
			free(db->f[i].lines[j]);
		free(db->f[i].lines);
	}
	free(db);
}

/* Index of the line whose first field is name, or -1. */
static long find_entry(const struct dbfile *f, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < f->n; i++)
		if (!strncmp(f->lines[i], name, n) && f->lines[i][n] == ':')
			return (long)i;
	return -1;
}

/* Parses field idx of a line as an id (0..UINT_MAX-1). */
static int line_id(const char *line, int idx, unsigned long *out)
{
	char *fields[MAX_FIELDS];
	int n = split_fields(line, fields), r = -1;
	if (idx < n && fields[idx][0] && isdigit((unsigned char)fields[idx][0])) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(fields[idx], &end, 10);
		if (!*end && !errno && v < UINT_MAX) {
			*out = v;
			r = 0;
		}
	}
	free(fields[0]);
	return r;
}

int userdb_user(const struct userdb *db, const char *name, uid_t *uid, gid_t *gid)
{
	long i = find_entry(&db->f[PASSWD], name);
	unsigned long u, g;
	if (i < 0 || line_id(db->f[PASSWD].lines[i], 2, &u) < 0 || line_id(db->f[PASSWD].lines[i], 3, &g) < 0)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int userdb_group(const struct userdb *db, const char *name, gid_t *gid)
{
	long i = find_entry(&db->f[GROUP], name);
	unsigned long g;
	if (i < 0 || line_id(db->f[GROUP].lines[i], 2, &g) < 0)
		return -1;
	*gid = (gid_t)g;
	return 0;
}

static int id_used(const struct dbfile *f, unsigned long id)
{
	unsigned long v;
	for (size_t i = 0; i < f->n; i++)
		if (line_id(f->lines[i], 2, &v) == 0 && v == id)
			return 1;
	return 0;
}

/* The lowest id from 1000 up that is neither a uid nor a gid, so that a
 * user's own group can share its number. */
static long alloc_id(const struct userdb *db)
{
	for (unsigned long id = ID_FIRST; id <= ID_LAST; id++)
		if (!id_used(&db->f[PASSWD], id) && !id_used(&db->f[GROUP], id))
			return (long)id;
	return -1;
}

static int parse_number(const char *s, unsigned long *out)
{
	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	char *end;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return *end || errno || *out >= UINT_MAX ? -1 : 0;
}

int userdb_resolve_owner(const struct userdb *db, const char *owner, uid_t *uid, gid_t *gid)
{
	char *user = xstrdup(owner && *owner ? owner : "root");
	char *group = strchr(user, ':');
	if (group)
		*group++ = 0;
	unsigned long n;
	gid_t primary = 0;
	int r = 0;
	if (parse_number(user, &n) == 0)
		*uid = (uid_t)n;
	else if (userdb_user(db, user, uid, &primary) < 0)
		r = error("owner '%s': no user '%s' in the image's /etc/passwd", owner, user);
	if (r == 0 && group && *group) {
		if (parse_number(group, &n) == 0)
			*gid = (gid_t)n;
		else if (userdb_group(db, group, gid) < 0)
			r = error("owner '%s': no group '%s' in the image's /etc/group", owner, group);
	} else if (r == 0) {
		if (parse_number(user, &n) == 0)
			*gid = (gid_t)n;
		else
			*gid = primary;
	}
	free(user);
	return r;
}

/* Account names as useradd accepts them: they end up between colons. */
static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || strchr("_-.", s[i]) ||
		      (s[i] == '$' && i == n - 1)))
			return 0;
	return 1;
}

static int valid_field(const char *s)
{
	return !s || !strpbrk(s, ":\n");
}

/* Adds name to the comma-separated member list in field idx of line i. */
static void add_member(struct dbfile *f, long i, int idx, const char *member)
{
	char *fields[MAX_FIELDS];
	int n = split_fields(f->lines[i], fields);
	while (n <= idx)
		fields[n++] = "";
	const char *list = fields[idx];
	size_t len = strlen(member);
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		if (l == len && !strncmp(p, member, len)) {
			free(fields[0]);
			return;
		}
		p += l + (p[l] == ',');
	}
	char *newlist = xasprintf("%s%s%s", list, *list ? "," : "", member);
	fields[idx] = newlist;
	free(f->lines[i]);
	f->lines[i] = join_fields(fields, n);
	f->changed = 1;
	free(newlist);
	free(fields[0]);
}

static int add_group(struct userdb *db, const char *name, long gid)
{
	if (gid < 0 && (gid = alloc_id(db)) < 0)
		return error("no free group id between %d and %d for group '%s'", ID_FIRST, ID_LAST, name);
	add_line(&db->f[GROUP], xasprintf("%s:x:%ld:", name, gid));
	if (db->f[GSHADOW].present)
		add_line(&db->f[GSHADOW], xasprintf("%s:!::", name));
	return 0;
}

static int add_to_group(struct userdb *db, const char *group, const char *user)
{
	if (!valid_name(group))
		return error("user '%s': invalid group name '%s'", user, group);
	if (find_entry(&db->f[GROUP], group) < 0 && add_group(db, group, -1) < 0)
		return -1;
	add_member(&db->f[GROUP], find_entry(&db->f[GROUP], group), 3, user);
	long gs = find_entry(&db->f[GSHADOW], group);
	if (gs >= 0)
		add_member(&db->f[GSHADOW], gs, 3, user);
	return 0;
}

static void set_password(struct userdb *db, const struct recipe_user *u, uint64_t epoch)
{
	struct dbfile *sh = &db->f[SHADOW];
	const char *pw = u->password ? u->password : "!";
	long i = find_entry(sh, u->name);
	if (i < 0) {
		add_line(sh, xasprintf("%s:%s:%llu:0:99999:7:::", u->name, pw, (unsigned long long)(epoch / 86400)));
		return;
	}
	char *fields[MAX_FIELDS];
	int n = split_fields(sh->lines[i], fields);
	if (n < 2)
		fields[n++] = "";
	fields[1] = (char *)pw;
	free(sh->lines[i]);
	sh->lines[i] = join_fields(fields, n);
	sh->changed = 1;
	free(fields[0]);
}

static int create_account(struct userdb *db, const struct recipe_user *u, uint64_t epoch)
{
	long uid = u->uid;
	if (uid >= 0 && id_used(&db->f[PASSWD], (unsigned long)uid))
		return error("user '%s': uid %ld is already used in the image", u->name, uid);
	if (uid < 0 && (uid = alloc_id(db)) < 0)
		return error("user '%s': no free uid between %d and %d", u->name, ID_FIRST, ID_LAST);
	gid_t gid;
	if (userdb_group(db, u->name, &gid) < 0) {
		long want = id_used(&db->f[GROUP], (unsigned long)uid) ? -1 : uid;
		if (add_group(db, u->name, want) < 0 || userdb_group(db, u->name, &gid) < 0)
			return -1;
	}
	char *home = u->home ? xstrdup(u->home) : xasprintf("/home/%s", u->name);
	add_line(&db->f[PASSWD], xasprintf("%s:x:%ld:%lu::%s:%s", u->name, uid, (unsigned long)gid, home,
					   u->shell ? u->shell : "/bin/sh"));
	free(home);
	set_password(db, u, epoch);
	return 0;
}

int userdb_add_user(struct userdb *db, const struct recipe_user *u, uint64_t epoch)
{
	if (!valid_name(u->name))
		return error("invalid user name '%s' (use lower-case letters, digits, '_', '-', '.')", u->name);
	if (!valid_field(u->shell) || !valid_field(u->home) || !valid_field(u->password))
		return error("user '%s': shell, home and password must not contain ':' or a newline", u->name);
	uid_t uid;
	gid_t gid;
	if (userdb_user(db, u->name, &uid, &gid) == 0) {
		/* An account the base already has (root, say): keep its ids,
		 * shell and home; set what the recipe sets. */
		if (u->uid >= 0 && (uid_t)u->uid != uid)
			return error("user '%s' already exists in the image with uid %lu, not %ld", u->name,
				     (unsigned long)uid, u->uid);
		if (u->password_set)
			set_password(db, u, epoch);
	} else if (create_account(db, u, epoch) < 0) {
		return -1;
	}
	for (size_t i = 0; i < u->groups.n; i++)
		if (add_to_group(db, u->groups.items[i], u->name) < 0)
			return -1;
	return 0;
}

static mode_t default_mode(int which, const struct userdb *db, gid_t *gid)
{
	*gid = 0;
	if (which != SHADOW && which != GSHADOW)
		return 0644;
	if (userdb_group(db, "shadow", gid) == 0)
		return 0640;
	return 0600;
}

int userdb_save(struct userdb *db, const struct imgroot *ir)
{
	for (int i = 0; i < N_DBFILES; i++) {
		struct dbfile *f = &db->f[i];
		if (!f->changed)
			continue;
		gid_t gid = f->gid;
		uid_t uid = f->uid;
		mode_t mode = f->mode;
		if (!f->present) {
			mode = default_mode(i, db, &gid);
			uid = 0;
		}
		struct strbuf sb = STRBUF_INIT;
		userdb_text(db, i, &sb);
		int r = imgroot_write(ir, f->path, sb.buf, sb.len, mode, uid, gid);
		strbuf_release(&sb);
		if (r < 0)
			return -1;
		f->present = 1;
		f->changed = 0;
	}
	return 0;
}

/* The home directory recorded in passwd (field 6), or NULL. */
static char *user_home(const struct userdb *db, const char *name)
{
	long i = find_entry(&db->f[PASSWD], name);
	if (i < 0)
		return NULL;
	char *fields[MAX_FIELDS];
	int n = split_fields(db->f[PASSWD].lines[i], fields);
	char *home = n > 5 && fields[5][0] == '/' ? xstrdup(fields[5]) : NULL;
	free(fields[0]);
	return home;
}

/* Copies the regular files at the top of /etc/skel, as useradd -m does. */
static int copy_skel(const struct imgroot *ir, const char *home, uid_t uid, gid_t gid)
{
	size_t n;
	char **names = imgroot_list_dir(ir, "/etc/skel", &n);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char *src = xasprintf("/etc/skel/%s", names[i]);
		char *dst = xasprintf("%s/%s", home, names[i]);
		struct stat st;
		struct strbuf sb = STRBUF_INIT;
		if (imgroot_lstat(ir, src, &st) == 0 && S_ISREG(st.st_mode)) {
			r = imgroot_read(ir, src, &sb, DB_MAX_SIZE, 0);
			if (r == 0)
				r = imgroot_write(ir, dst, sb.buf, sb.len, st.st_mode & 0777, uid, gid);
		}
		strbuf_release(&sb);
		free(src);
		free(dst);
	}
	imgroot_free_names(names, n);
	return r;
}

static int make_home(const struct imgroot *ir, const char *home, uid_t uid, gid_t gid)
{
	struct stat st;
	if (imgroot_stat(ir, home, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : error("home directory %s exists in the image and is not a directory", home);
	char *parent = xstrdup(home);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	else
		strcpy(parent, "/");
	int r = imgroot_mkdirs(ir, parent, 0755, 0, 0);
	free(parent);
	if (r < 0 || imgroot_mkdirs(ir, home, 0700, uid, gid) < 0)
		return -1;
	return copy_skel(ir, home, uid, gid);
}

/* Appends the keys that are not there yet to ~/.ssh/authorized_keys. */
static int install_keys(const struct imgroot *ir, const struct recipe_user *u, const char *home, uid_t uid, gid_t gid)
{
	char *dir = xasprintf("%s/.ssh", home);
	char *file = xasprintf("%s/.ssh/authorized_keys", home);
	struct strbuf keys = STRBUF_INIT;
	int r = imgroot_mkdirs(ir, dir, 0700, uid, gid);
	if (r == 0)
		r = imgroot_chown_chmod(ir, dir, 0700, uid, gid);
	if (r == 0)
		r = imgroot_read(ir, file, &keys, DB_MAX_SIZE, 1) < 0 ? -1 : 0;
	if (r == 0 && keys.len && keys.buf[keys.len - 1] != '\n')
		strbuf_addc(&keys, '\n');
	for (size_t i = 0; r == 0 && i < u->ssh_authorized_keys.n; i++) {
		const char *k = u->ssh_authorized_keys.items[i];
		if (strchr(k, '\n')) {
			r = error("user '%s': an SSH key must be a single line", u->name);
			break;
		}
		if (!*k)
			continue;
		char *line = xasprintf("%s\n", k);
		size_t len = strlen(line);
		/* Present already when it starts the file or follows a newline. */
		int have = !strncmp(keys.buf, line, len);
		for (const char *p = keys.buf; !have && (p = strstr(p, line)); p++)
			have = p > keys.buf && p[-1] == '\n';
		if (!have)
			strbuf_adds(&keys, line);
		free(line);
	}
	if (r == 0)
		r = imgroot_write(ir, file, keys.buf, keys.len, 0600, uid, gid);
	strbuf_release(&keys);
	free(dir);
	free(file);
	return r;
}

int users_apply(const struct recipe *r, const struct imgroot *ir, struct userdb *db)
{
	for (size_t i = 0; i < r->n_users; i++)
		if (userdb_add_user(db, &r->users[i], r->epoch) < 0)
			return -1;
	if (userdb_save(db, ir) < 0)
		return -1;
	for (size_t i = 0; i < r->n_users; i++) {
		const struct recipe_user *u = &r->users[i];
		uid_t uid;
		gid_t gid;
		char *home = user_home(db, u->name);
		int rc = home && userdb_user(db, u->name, &uid, &gid) == 0 ? 0 : error("user '%s' has no home directory", u->name);
		if (rc == 0)
			rc = make_home(ir, home, uid, gid);
		if (rc == 0 && u->ssh_authorized_keys.n)
			rc = install_keys(ir, u, home, uid, gid);
		free(home);
		if (rc < 0)
			return -1;
	}
	return 0;
}
