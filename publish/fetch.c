/* publish/fetch.c: files from a URL (curl) or a path. See fetch.h. */
#include "publish/fetch.h"

#include "publish/names.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CURL_PROTOCOLS "=http,https"

int source_init(struct source *s, const char *where)
{
	memset(s, 0, sizeof *s);
	if (!strncmp(where, "http://", 7) || !strncmp(where, "https://", 8)) {
		if (strpbrk(where, "?# \t\r\n"))
			return error("'%s': queries, fragments and spaces are not supported in the URL", where);
		s->is_url = 1;
	} else if (!strncmp(where, "file://", 7)) {
		where += 7;
	} else if (strstr(where, "://")) {
		return error("'%s': only http://, https://, file:// and paths can be verified", where);
	}
	s->base = xstrdup(*where ? where : ".");
	size_t n = strlen(s->base);
	while (n > 1 && s->base[n - 1] == '/')
		s->base[--n] = 0;
	return 0;
}

void source_release(struct source *s)
{
	free(s->base);
	s->base = NULL;
}

void source_child(const struct source *s, const char *sub, struct source *out)
{
	out->is_url = s->is_url;
	out->base = xasprintf("%s/%s", s->base, sub);
}

int source_strip_latest(struct source *s)
{
	char *slash = strrchr(s->base, '/');
	const char *last = slash ? slash + 1 : s->base;
	if (strcmp(last, "latest"))
		return 0;
	if (!slash)
		strcpy(s->base, ".");
	else if (slash == s->base)
		slash[1] = 0;
	else
		*slash = 0;
	return 1;
}

static char *location(const struct source *s, const char *name)
{
	return xasprintf("%s/%s", s->base, name);
}

/* The HTTP status of a download to `to`, or -1 when curl failed. */
static int curl_to_file(const char *url, const char *to, const char *errfile, size_t max)
{
	char maxsize[32];
	snprintf(maxsize, sizeof maxsize, "%zu", max);
	const char *argv[] = {"curl", "-sS", "-L", "--proto", CURL_PROTOCOLS, "--proto-redir", CURL_PROTOCOLS,
			      "--max-filesize", maxsize, "--stderr", errfile, "-o", to, "-w", "%{http_code}", url, NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out, .die_with_parent = 1};
	int rc = run_argv(argv, &o);
	int code = rc == 0 ? atoi(out.buf) : -1;
	strbuf_release(&out);
	if (code < 0) {
		struct strbuf err = STRBUF_INIT;
		read_file(errfile, &err, 4096);
		error("cannot download %s: %s", url, err.len ? err.buf : "curl failed");
		strbuf_release(&err);
	}
	return code;
}

static int fetch_small_url(const char *url, struct strbuf *out, size_t max, int *missing)
{
	char dir[] = "/tmp/apkg-fetch.XXXXXX";
	if (!mkdtemp(dir))
		return error_errno("cannot create a temporary directory");
	char *to = path_join(dir, "body"), *errfile = path_join(dir, "err");
	int code = curl_to_file(url, to, errfile, max), ret = 0;
	if (code == 404 || code == 410)
		*missing = 1;
	else if (code == 200)
		ret = read_file(to, out, max);
	else if (code >= 0)
		ret = error("cannot download %s: HTTP status %d", url, code);
	else
		ret = -1;
	rm_rf(dir);
	free(to);
	free(errfile);
	return ret;
}

int fetch_small(const struct source *s, const char *name, struct strbuf *out, size_t max, int *missing)
{
	*missing = 0;
	if (!mirror_file_name_ok(name))
		return error("'%s' is not a plain file name", name);
	char *where = location(s, name);
	int ret;
	if (s->is_url) {
		ret = fetch_small_url(where, out, max, missing);
	} else {
		struct stat st;
		*missing = stat(where, &st) < 0 && errno == ENOENT;
		ret = *missing ? 0 : read_file(where, out, max);
	}
	free(where);
	return ret;
}

/* Runs curl with its stdout on a pipe and hashes what comes through. */
static int hash_url(const char *url, char hex[65], uint64_t *size)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_errno("pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return error_errno("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphaned download if apkg dies */
		dup2(fds[1], 1);
		const char *argv[] = {"curl", "-sS", "-f", "-L", "--proto", CURL_PROTOCOLS, "--proto-redir", CURL_PROTOCOLS,
				      url, NULL};
		execvp("curl", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	struct sha256 ctx;
	sha256_init(&ctx);
	char *buf = xmalloc(1 << 20);
	ssize_t n;
	*size = 0;
	while ((n = read(fds[0], buf, 1 << 20)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0) {
			sha256_update(&ctx, buf, (size_t)n);
			*size += (uint64_t)n;
		}
	free(buf);
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	uint8_t digest[32];
	sha256_final(&ctx, digest);
	sha256_hex(digest, hex);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return error("cannot download %s (curl exit %d)", url, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

int fetch_hash(const struct source *s, const char *name, char hex[65], uint64_t *size)
{
	if (!mirror_file_name_ok(name))
		return error("'%s' is not a plain file name", name);
	char *where = location(s, name);
	int ret;
	if (s->is_url) {
		ret = hash_url(where, hex, size);
	} else {
		struct stat st;
		ret = stat(where, &st) < 0 ? error_errno("cannot read %s", where) : sha256_file_hex(where, hex);
		*size = ret == 0 ? (uint64_t)st.st_size : 0;
	}
	free(where);
	return ret;
}
