/* publish/lock_token.c: rsync mirror lock tokens. See lock_token.h. */
#include "publish/lock_token.h"

#include "util/strbuf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Field 22 of /proc/PID/stat, or 0 when the process does not exist. */
static unsigned long long process_start(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the command name may hold anything */
	unsigned long long start = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	return start;
}

static void read_boot_id(char out[40])
{
	out[0] = 0;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return;
	if (!fgets(out, 40, f))
		out[0] = 0;
	fclose(f);
	out[strcspn(out, "\n")] = 0;
}

/* Keeps [A-Za-z0-9.-] so a host name cannot break the token's lines. */
static void clean_word(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '-'))
			*s = '_';
}

void lock_self(struct lock_holder *me)
{
	memset(me, 0, sizeof *me);
	if (gethostname(me->host, sizeof me->host - 1) < 0 || !me->host[0])
		strcpy(me->host, "unknown");
	clean_word(me->host);
	read_boot_id(me->boot);
	clean_word(me->boot);
	me->pid = (long)getpid();
	me->start = process_start(me->pid);
}

void lock_token_format(const struct lock_holder *h, unsigned beat, struct strbuf *out)
{
	strbuf_addf(out, "apkg-lock 1\nhost %s\nboot %s\npid %ld\nstart %llu\nbeat %u\n", h->host, h->boot, h->pid,
		    h->start, beat);
}

/* Copies the value of "key value\n" into out (at most cap-1 bytes of [A-Za-z0-9._-]). */
static int field(const char *data, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t line = nl ? (size_t)(nl - data) - pos : len - pos;
		if (line > klen && !memcmp(data + pos, key, klen) && data[pos + klen] == ' ') {
			size_t vlen = line - klen - 1;
			if (!vlen || vlen >= cap)
				return -1;
			memcpy(out, data + pos + klen + 1, vlen);
			out[vlen] = 0;
			if (strspn(out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != vlen)
				return -1; /* also refuses a NUL inside the value */
			return 0;
		}
		pos += line + 1;
	}
	return -1;
}

static int number(const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || s[0] < '0' || s[0] > '9' ? -1 : 0;
}

int lock_token_parse(const char *data, size_t len, struct lock_holder *h)
{
	char pid[24], start[24];
	unsigned long long p, s;
	memset(h, 0, sizeof *h);
	if (len < 12 || memcmp(data, "apkg-lock 1\n", 12) || field(data, len, "host", h->host, sizeof h->host) < 0 ||
	    field(data, len, "boot", h->boot, sizeof h->boot) < 0 || field(data, len, "pid", pid, sizeof pid) < 0 ||
	    field(data, len, "start", start, sizeof start) < 0 || number(pid, &p) < 0 || number(start, &s) < 0 ||
	    p == 0 || p > 0x7fffffff)
		return -1;
	h->pid = (long)p;
	h->start = s;
	return 0;
}

int lock_token_stale(const char *data, size_t len, long age_s, const struct lock_holder *me)
{
	struct lock_holder h;
	if (lock_token_parse(data, len, &h) == 0 && me->boot[0] && !strcmp(h.boot, me->boot)) {
		if (h.pid == me->pid && h.start == me->start)
			return 0;
		return process_start(h.pid) != h.start; /* gone, or the pid was reused */
	}
	return age_s > LOCK_STALE_S;
}

const char *lock_token_describe(const char *data, size_t len)
{
	static char buf[128];
	struct lock_holder h;
	if (lock_token_parse(data, len, &h) < 0)
		return "an unreadable lock token";
	snprintf(buf, sizeof buf, "host %s, pid %ld", h.host, h.pid);
	return buf;
}
