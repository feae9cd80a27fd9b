/* publish/mirror.c: opening and closing a mirror, its scratch space, and the
 * pause points crash tests use. See mirror.h. */
#include "publish/mirror.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mirror_is_rsync(const char *dest)
{
	if (!strncmp(dest, "rsync://", 8))
		return 1;
	const char *colon = strchr(dest, ':'), *slash = strchr(dest, '/');
	return colon && (!slash || colon < slash);
}

struct mirror *mirror_open(const char *dest, const struct mirror_opts *o)
{
	if (!*dest) {
		error("the mirror destination is empty");
		return NULL;
	}
	struct mirror *m = xcalloc(1, sizeof *m);
	m->ops = mirror_is_rsync(dest) ? &mirror_rsync_ops : &mirror_local_ops;
	m->root = xstrdup(dest);
	size_t n = strlen(m->root);
	while (n > 1 && m->root[n - 1] == '/' && !(m->ops == &mirror_rsync_ops && n > 1 && m->root[n - 2] == ':'))
		m->root[--n] = 0;
	m->opts = *o;
	if (!m->opts.lock_wait_s)
		m->opts.lock_wait_s = 3600;
	m->lock_fd = -1;
	const char *tmp = getenv("TMPDIR");
	m->scratch = xasprintf("%s/apkg-publish.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(m->scratch)) {
		error_errno("cannot create a temporary directory in %s", tmp && *tmp ? tmp : "/tmp");
		free(m->scratch);
		m->scratch = NULL;
		mirror_close(m);
		return NULL;
	}
	cleanup_register(m->scratch);
	return m;
}

void mirror_close(struct mirror *m)
{
	if (!m)
		return;
	m->ops->unlock(m);
	if (m->scratch) {
		rm_rf(m->scratch);
		cleanup_unregister(m->scratch);
		free(m->scratch);
	}
	free(m->root);
	free(m);
}

char *mirror_scratch_dir(struct mirror *m, const char *label)
{
	char *dir = xasprintf("%s/%s.%u", m->scratch, label, m->scratch_seq++);
	if (mkdir_p(dir, 0700) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

void mirror_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static volatile sig_atomic_t resumed;

static void resume(int sig)
{
	(void)sig;
	resumed = 1;
}

void publish_pause_point(const char *phase)
{
	const char *want = getenv("APKG_PUBLISH_PAUSE_AT");
	if (!want || strcmp(want, phase))
		return;
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	struct sigaction sa = {.sa_handler = resume}, previous;
	sigaction(SIGUSR1, &sa, &previous);
	resumed = 0;
	fprintf(stderr, "apkg: paused at %s\n", phase);
	fflush(stderr);
	while (!resumed)
		sigsuspend(&old);
	sigaction(SIGUSR1, &previous, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	fprintf(stderr, "apkg: resumed at %s\n", phase);
}
