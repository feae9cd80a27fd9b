/* publish/mirror_rsync.c: a mirror reached with rsync (host:path over ssh,
 * or rsync://host/module/path), using only what plain rsync can do: every
 * file rsync writes gets a temporary name and is renamed into place, so each
 * file and symlink is replaced atomically; rsync cannot rename a directory or
 * create one exclusively, which shapes the rest:
 *
 * Lock: a directory .apkg-lock/ of claims. A publisher uploads its token,
 * then downloads the directory: if its token is the only live one it holds
 * the lock, otherwise it removes its token, waits a random moment and tries
 * again. Two publishers cannot both see only their own token (each uploaded
 * before looking), so at most one holds the lock; stale tokens (lock_token.h)
 * are removed by whoever finds them, and a holder refreshes its token from a
 * child process while it works.
 *
 * Promote: the verified staged directory cannot be renamed, so the final
 * version directory is made of hard links to the staged files (rsync
 * --link-dest: no data moves), checked line by line in rsync's itemized
 * output (a file copied instead of linked would not be the file that was
 * verified, and fails the publish), with SHA256SUMS linked last. A version
 * directory that has SHA256SUMS is therefore complete; one without it is an
 * unfinished publish, which the next publish replaces.
 *
 * Uploads are built as a local tree of symlinks to the files and sent with
 * include/exclude filters naming exactly the paths meant, from the mirror
 * root, so missing parent directories are created and nothing else is
 * touched. Downloads never follow or create symlinks (-rt without -l):
 * a hostile mirror cannot make apkg read or write outside its scratch space.
 */
#include "publish/mirror.h"

#include "publish/lock_token.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCK_DIR ".apkg-lock"
#define TOKEN_MAX 4096

struct args {
	char **v;
	size_t n;
};

__attribute__((format(printf, 2, 3))) static void add(struct args *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct strbuf sb = STRBUF_INIT;
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
	a->v[a->n++] = strbuf_detach(&sb);
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* The rsync location of rel ("" is the root itself). */
static char *remote(const struct mirror *m, const char *rel)
{
	size_t n = strlen(m->root);
	return xasprintf("%s%s%s", m->root, n && m->root[n - 1] == ':' ? "" : "/", rel);
}

/* Filters that let exactly rel through, from the root: its parents, then
 * rel itself (and, for a tree, everything below it). */
static void add_path_filters(struct args *a, const char *rel, int tree)
{
	for (const char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/'))
		add(a, "--include=/%.*s/", (int)(slash - rel), rel);
	add(a, "--include=/%s", rel);
	if (tree)
		add(a, "--include=/%s/***", rel);
	add(a, "--exclude=*");
}

static struct args rsync_args(const struct mirror *m)
{
	struct args a = {0};
	add(&a, "rsync");
	for (size_t i = 0; i < m->opts.n_rsync_opts; i++)
		add(&a, "%s", m->opts.rsync_opts[i]);
	return a;
}

/* rsync's exit status when source files vanished while it ran. */
#define RSYNC_VANISHED 24

/* Runs and frees a; out (may be NULL) gets rsync's output. With
 * vanished_ok, source files deleted during the transfer are not an error. */
static int run_rsync_ex(struct args *a, const char *what, struct strbuf *out, int vanished_ok)
{
	struct strbuf captured = STRBUF_INIT;
	a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
	a->v[a->n] = NULL;
	struct run_opts o = {.output = &captured, .die_with_parent = 1};
	int rc = run_argv((const char *const *)a->v, &o);
	if (rc == RSYNC_VANISHED && vanished_ok)
		rc = 0;
	if (rc != 0) {
		error("rsync could not %s (exit %d)", what, rc);
		if (captured.len)
			fprintf(stderr, "%s%s", captured.buf, captured.buf[captured.len - 1] == '\n' ? "" : "\n");
	}
	if (out)
		strbuf_add(out, captured.buf, captured.len);
	strbuf_release(&captured);
	args_free(a);
	return rc == 0 ? 0 : -1;
}

static int run_rsync(struct args *a, const char *what, struct strbuf *out)
{
	return run_rsync_ex(a, what, out, 0);
}

/* A scratch tree holding rel as a symlink to target (for uploads). */
static char *tree_with_link(struct mirror *m, const char *rel, const char *target)
{
	char *tree = mirror_scratch_dir(m, "up");
	if (!tree)
		return NULL;
	char *path = path_join(tree, rel), *dir = xstrdup(path);
	*strrchr(dir, '/') = 0;
	int ok = mkdir_p(dir, 0755) == 0 && symlink(target, path) == 0;
	if (!ok)
		error_errno("cannot prepare %s", path);
	free(path);
	free(dir);
	if (!ok) {
		free(tree);
		return NULL;
	}
	return tree;
}

/* A scratch directory holding symlinks named like the files (absolute targets). */
static char *link_farm(struct mirror *m, const char *sub, const struct mirror_file *files, size_t n)
{
	char *tree = mirror_scratch_dir(m, "files");
	char *dir = tree ? path_join(tree, sub) : NULL;
	int ok = dir && mkdir_p(dir, 0755) == 0;
	for (size_t i = 0; ok && i < n; i++) {
		char *target = realpath(files[i].path, NULL), *link = path_join(dir, files[i].name);
		ok = target && symlink(target, link) == 0;
		if (!ok)
			error_errno("cannot prepare %s for upload", files[i].path);
		free(target);
		free(link);
	}
	free(dir);
	if (!ok) {
		free(tree);
		return NULL;
	}
	return tree;
}

static int rsync_remove(struct mirror *m, const char *dir, const char *name)
{
	char *empty = mirror_scratch_dir(m, "empty");
	if (!empty)
		return -1;
	struct args a = rsync_args(m);
	char *dest = remote(m, dir);
	add(&a, "-r");
	add(&a, "--delete");
	add(&a, "--include=/%s", name);
	add(&a, "--include=/%s/**", name);
	add(&a, "--exclude=*");
	add(&a, "%s/", empty);
	add(&a, "%s/", dest);
	int ret = run_rsync(&a, "delete a file on the mirror", NULL);
	free(dest);
	free(empty);
	return ret;
}

/* ---- lock ---- */

static int upload_token(struct mirror *m, const struct lock_holder *me, unsigned beat)
{
	struct strbuf text = STRBUF_INIT;
	lock_token_format(me, beat, &text);
	char *rel = xasprintf("%s/%s", LOCK_DIR, m->lock_token);
	char *tree = mirror_scratch_dir(m, "token"), *path = tree ? path_join(tree, rel) : NULL;
	char *dir = tree ? path_join(tree, LOCK_DIR) : NULL;
	int ret = -1;
	if (tree && mkdir_p(dir, 0755) == 0 && write_file_atomic(path, text.buf, text.len, 0644) == 0) {
		struct args a = rsync_args(m);
		char *dest = remote(m, "");
		add(&a, "-r"); /* no -t: the mirror stamps the token with its own clock */
		add(&a, "--chmod=D0755,F0644");
		add_path_filters(&a, rel, 0);
		add(&a, "%s/", tree);
		add(&a, "%s", dest);
		ret = run_rsync(&a, "write the mirror lock", NULL);
		free(dest);
		rm_rf(tree);
	}
	strbuf_release(&text);
	free(rel);
	free(tree);
	free(path);
	free(dir);
	return ret;
}

static int token_name_ok(const char *s)
{
	if (s[0] == '.' || !*s)
		return 0; /* rsync's temporary files start with '.' */
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(s);
}

/* Judges one downloaded token; removes it from the mirror when stale.
 * Returns 1 when it is a live claim. */
static int judge_token(struct mirror *m, const char *view, const char *name, time_t now_remote,
		       const struct lock_holder *me, struct strbuf *holder)
{
	char *path = path_join(view, name);
	struct strbuf text = STRBUF_INIT;
	struct stat st;
	int live = 0;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= TOKEN_MAX && read_file(path, &text, TOKEN_MAX) == 0) {
		live = !lock_token_stale(text.buf, text.len, (long)(now_remote - st.st_mtime), me);
		if (live) {
			strbuf_reset(holder);
			strbuf_adds(holder, lock_token_describe(text.buf, text.len));
		} else {
			info("removing a stale mirror lock (%s)", lock_token_describe(text.buf, text.len));
			rsync_remove(m, LOCK_DIR, name);
		}
	}
	strbuf_release(&text);
	free(path);
	return live;
}

/* Counts the live claims other than ours; -1 on error. */
static int other_claims(struct mirror *m, const struct lock_holder *me, struct strbuf *holder)
{
	char *view = mirror_scratch_dir(m, "lockview");
	if (!view)
		return -1;
	struct args a = rsync_args(m);
	char *src = remote(m, "");
	add(&a, "-rt");
	add(&a, "--include=/%s/", LOCK_DIR);
	/* Other publishers' uploads in flight (rsync's dot-named temporaries)
	 * are not claims yet; a token deleted while we read (exit 24) was
	 * withdrawn, so it is no claim either. */
	add(&a, "--exclude=/%s/.*", LOCK_DIR);
	add(&a, "--include=/%s/*", LOCK_DIR);
	add(&a, "--exclude=*");
	add(&a, "%s", src);
	add(&a, "%s/", view);
	free(src);
	int live = run_rsync_ex(&a, "read the mirror lock", NULL, 1);
	char *dir = path_join(view, LOCK_DIR), *mine = path_join(dir, m->lock_token);
	struct stat st;
	time_t now_remote = lstat(mine, &st) == 0 ? st.st_mtime : time(NULL);
	DIR *d = live == 0 ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (token_name_ok(de->d_name) && strcmp(de->d_name, m->lock_token))
			live += judge_token(m, dir, de->d_name, now_remote, me, holder);
	if (d)
		closedir(d);
	rm_rf(view);
	free(view);
	free(dir);
	free(mine);
	return live;
}

/* Refreshes our token every LOCK_HEARTBEAT_S seconds until killed; dies with us. */
static void start_heartbeat(struct mirror *m, const struct lock_holder *me)
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0) {
		m->heartbeat = pid > 0 ? pid : 0;
		return;
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(0);
	m->scratch_seq = 1u << 30; /* scratch names apart from the parent's */
	for (unsigned beat = 1;; beat++) {
		sleep(LOCK_HEARTBEAT_S);
		upload_token(m, me, beat);
	}
}

static unsigned random_u32(void)
{
	unsigned r = 0;
	if (getrandom(&r, sizeof r, 0) != sizeof r)
		r = (unsigned)getpid() ^ (unsigned)time(NULL);
	return r;
}

static int rsync_lock(struct mirror *m)
{
	struct lock_holder me;
	lock_self(&me);
	m->lock_token = xasprintf("%s.%ld.%08x", me.host, me.pid, random_u32());
	time_t give_up = time(NULL) + m->opts.lock_wait_s;
	struct strbuf holder = STRBUF_INIT;
	for (int said = 0;; said = 1) {
		int others = upload_token(m, &me, 0) < 0 ? -1 : other_claims(m, &me, &holder);
		if (others == 0) {
			start_heartbeat(m, &me);
			strbuf_release(&holder);
			return 0;
		}
		rsync_remove(m, LOCK_DIR, m->lock_token);
		if (others < 0 || time(NULL) >= give_up) {
			if (others > 0)
				error("gave up waiting for the mirror lock (held by %s) after %u s", holder.buf,
				      m->opts.lock_wait_s);
			break;
		}
		if (!said)
			info("waiting for another publisher to finish (mirror lock held by %s)", holder.buf);
		usleep(500000 + random_u32() % 1500000);
	}
	strbuf_release(&holder);
	free(m->lock_token);
	m->lock_token = NULL;
	return -1;
}

static void rsync_unlock(struct mirror *m)
{
	if (m->heartbeat > 0) {
		kill(m->heartbeat, SIGKILL);
		waitpid(m->heartbeat, NULL, 0);
		m->heartbeat = 0;
	}
	if (m->lock_token) {
		rsync_remove(m, LOCK_DIR, m->lock_token);
		free(m->lock_token);
		m->lock_token = NULL;
	}
}

/* ---- reading ---- */

static int rsync_read(struct mirror *m, const char *rel, struct strbuf *out, size_t max, int *missing)
{
	char *view = mirror_scratch_dir(m, "fetch");
	if (!view)
		return -1;
	struct args a = rsync_args(m);
	char *src = remote(m, "");
	add(&a, "-rt");
	add_path_filters(&a, rel, 0);
	add(&a, "%s", src);
	add(&a, "%s/", view);
	free(src);
	int ret = run_rsync(&a, "read from the mirror", NULL);
	char *path = path_join(view, rel);
	struct stat st;
	*missing = ret == 0 && lstat(path, &st) < 0;
	if (ret == 0 && !*missing)
		ret = S_ISREG(st.st_mode) ? read_file(path, out, max) : error("%s on the mirror is not a file", rel);
	rm_rf(view);
	free(view);
	free(path);
	return ret;
}

/* One line of `rsync --list-only`: "drwxr-xr-x   4,096 2026/01/02 03:04:05 path[ -> target]". */
static const char *listed_path(char *line)
{
	int skip = -1;
	if (sscanf(line, "%*s %*s %*s %*s %n", &skip) < 0 || skip < 0 || !line[skip])
		return NULL;
	char *arrow = strstr(line + skip, " -> ");
	if (arrow)
		*arrow = 0;
	return line + skip;
}

static int rsync_list(struct mirror *m, const char *dir, char ***names, size_t *n)
{
	struct args a = rsync_args(m);
	struct strbuf out = STRBUF_INIT;
	char *src = remote(m, "");
	char *children = xasprintf("%s/*", dir);
	*names = NULL;
	*n = 0;
	add(&a, "-r");
	add(&a, "--list-only");
	add_path_filters(&a, children, 0);
	add(&a, "%s", src);
	free(src);
	free(children);
	int ret = run_rsync(&a, "list the mirror", &out);
	size_t prefix = strlen(dir) + 1;
	for (char *line = strtok(out.buf, "\n"); ret == 0 && line; line = strtok(NULL, "\n")) {
		const char *path = listed_path(line);
		if (!path || strncmp(path, dir, prefix - 1) || path[prefix - 1] != '/' || !path[prefix] ||
		    strchr(path + prefix, '/'))
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof **names);
		(*names)[(*n)++] = xstrdup(path + prefix);
	}
	strbuf_release(&out);
	return ret;
}

static int rsync_readback(struct mirror *m, const char *dir, char **local_dir)
{
	char *view = mirror_scratch_dir(m, "readback");
	if (!view)
		return -1;
	struct args a = rsync_args(m);
	char *src = remote(m, dir);
	add(&a, "-rtS");
	add(&a, "%s/", src);
	add(&a, "%s/", view);
	free(src);
	if (run_rsync(&a, "read back the uploaded files", NULL) < 0) {
		free(view);
		return -1;
	}
	*local_dir = view;
	return 0;
}

/* ---- writing ---- */

static void add_upload_options(struct args *a)
{
	add(a, "-rtLS");
	add(a, "--chmod=D0755,F0644");
}

static int rsync_stage(struct mirror *m, const char *dir, const struct mirror_file *files, size_t n)
{
	char *tree = link_farm(m, dir, files, n);
	if (!tree)
		return -1;
	struct args a = rsync_args(m);
	char *dest = remote(m, "");
	add_upload_options(&a);
	add(&a, "--delete");
	add_path_filters(&a, dir, 1);
	add(&a, "%s/", tree);
	add(&a, "%s", dest);
	int ret = run_rsync(&a, "upload the files", NULL);
	free(dest);
	free(tree);
	return ret;
}

/* Every file line of rsync -ii output must be a hard link ("hf"); counts them. */
static int all_linked(const struct strbuf *out, size_t *linked)
{
	struct strbuf copy = STRBUF_INIT;
	strbuf_add(&copy, out->buf, out->len);
	int ret = 0;
	*linked = 0;
	for (char *line = strtok(copy.buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strlen(line) < 13 || line[11] != ' ' || line[1] != 'f')
			continue;
		if (line[0] == 'h')
			(*linked)++;
		else
			ret = error("rsync copied %s instead of linking the verified upload", line + 12);
	}
	strbuf_release(&copy);
	return ret;
}

/* One --link-dest pass; `filter` picks the files. */
static int link_pass(struct mirror *m, const char *src, const char *dest, const char *from, const char *filter,
		     size_t expect)
{
	struct args a = rsync_args(m);
	struct strbuf out = STRBUF_INIT;
	size_t linked;
	add_upload_options(&a);
	add(&a, "-ii");
	add(&a, "--link-dest=../%s", from);
	add(&a, "%s", filter);
	if (strncmp(filter, "--exclude", 9))
		add(&a, "--exclude=*");
	add(&a, "%s/", src);
	add(&a, "%s/", dest);
	int ret = run_rsync(&a, "link the verified files into place", &out);
	if (ret == 0 && all_linked(&out, &linked) < 0)
		ret = -1;
	else if (ret == 0 && linked != expect)
		ret = error("rsync linked %zu of %zu files into place", linked, expect);
	strbuf_release(&out);
	return ret;
}

static int rsync_promote(struct mirror *m, const char *parent, const char *from, const char *to,
			 const struct mirror_file *files, size_t n)
{
	char *src = link_farm(m, "", files, n);
	if (!src)
		return -1;
	char *rel = xasprintf("%s/%s", parent, to), *dest = remote(m, rel);
	int has_sums = 0;
	for (size_t i = 0; i < n; i++)
		has_sums |= !strcmp(files[i].name, "SHA256SUMS");
	int ret = has_sums ? 0 : error("internal: promoting a version without SHA256SUMS");
	if (ret == 0)
		ret = link_pass(m, src, dest, from, "--exclude=/SHA256SUMS", n - 1);
	if (ret == 0)
		ret = link_pass(m, src, dest, from, "--include=/SHA256SUMS", 1);
	if (ret == 0)
		ret = rsync_remove(m, parent, from);
	free(rel);
	free(dest);
	free(src);
	return ret;
}

/* Uploads the tree's rel (a file or a symlink) with rsync's temp + rename. */
static int upload_one(struct mirror *m, const char *tree, const char *rel, const char *what)
{
	struct args a = rsync_args(m);
	char *dest = remote(m, "");
	add(&a, "-rlt");
	add(&a, "--chmod=D0755,F0644");
	add_path_filters(&a, rel, 0);
	add(&a, "%s/", tree);
	add(&a, "%s", dest);
	int ret = run_rsync(&a, what, NULL);
	free(dest);
	return ret;
}

static int rsync_put(struct mirror *m, const char *rel, const void *data, size_t len)
{
	char *tree = mirror_scratch_dir(m, "put");
	char *path = tree ? path_join(tree, rel) : NULL, *dir = path ? xstrdup(path) : NULL;
	int ret = -1;
	if (dir) {
		*strrchr(dir, '/') = 0;
		if (mkdir_p(dir, 0755) == 0 && write_file_atomic(path, data, len, 0644) == 0)
			ret = upload_one(m, tree, rel, "update the mirror");
	}
	free(tree);
	free(path);
	free(dir);
	return ret;
}

static int rsync_symlink(struct mirror *m, const char *rel, const char *target)
{
	char *tree = tree_with_link(m, rel, target);
	int ret = tree ? upload_one(m, tree, rel, "update a link on the mirror") : -1;
	free(tree);
	return ret;
}

const struct mirror_ops mirror_rsync_ops = {
	.kind = "rsync",
	.lock = rsync_lock,
	.unlock = rsync_unlock,
	.read = rsync_read,
	.list = rsync_list,
	.remove = rsync_remove,
	.stage = rsync_stage,
	.readback = rsync_readback,
	.promote = rsync_promote,
	.put = rsync_put,
	.symlink = rsync_symlink,
};
