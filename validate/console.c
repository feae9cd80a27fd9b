/* validate/console.c: line splitting, cleaning and recognition of a guest's
 * serial console output. See console.h. */
#include "validate/console.h"

#include "util/json.h"

#include <stdlib.h>
#include <string.h>

void console_init(struct console *c)
{
	memset(c, 0, sizeof *c);
	strbuf_init(&c->log);
	strbuf_init(&c->partial);
	c->expected_checks = -1;
}

/* Removes ANSI escape sequences, carriage returns and other controls. */
static void clean_line(const char *in, size_t len, struct strbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == 0x1b) {
			if (i + 1 < len && in[i + 1] == '[') { /* CSI: parameters up to a final byte */
				i += 2;
				while (i < len && !((unsigned char)in[i] >= 0x40 && (unsigned char)in[i] <= 0x7e))
					i++;
			} else {
				i++; /* a two-byte escape such as ESC c */
			}
			continue;
		}
		if (ch == '\t' || ch >= 0x20)
			if (ch != 0x7f)
				strbuf_addc(out, (char)ch);
	}
}

static struct json_value *json_after(const char *line, const char *tag)
{
	const char *p = strstr(line, tag);
	if (!p)
		return NULL;
	p += strlen(tag);
	return json_parse_prefix(p, strlen(p), NULL, NULL);
}

static long get_long(const struct json_value *v, const char *key, long dflt)
{
	uint64_t u;
	return json_get_u64(v, key, &u) == 0 && u <= 0x7fffffff ? (long)u : dflt;
}

static void on_check(struct console *c, const char *line)
{
	struct json_value *v = json_after(line, "APKG-CHECK ");
	const char *name = json_get_str(v, "check");
	const struct json_value *ok = json_get(v, "ok");
	if (!name || !ok || ok->type != JSON_BOOL || c->n_checks >= CONSOLE_MAX_CHECKS) {
		c->garbled++;
	} else {
		const char *detail = json_get_str(v, "detail");
		c->checks = xrealloc(c->checks, (c->n_checks + 1) * sizeof *c->checks);
		c->checks[c->n_checks++] = (struct console_check){
			.name = xstrdup(name), .ok = ok->boolean, .detail = xstrdup(detail ? detail : ""),
			.ms = get_long(v, "ms", 0),
		};
	}
	json_free(v);
}

static void on_result(struct console *c, const char *line)
{
	struct json_value *v = json_after(line, "APKG-RESULT ");
	long passed = get_long(v, "passed", -1), failed = get_long(v, "failed", -1);
	if (passed < 0 || failed < 0) {
		c->garbled++;
	} else if (!c->got_result) {
		c->got_result = 1;
		c->passed = passed;
		c->failed = failed;
	}
	json_free(v);
}

static void on_probe(struct console *c, const char *line)
{
	struct json_value *v = json_after(line, "APKG-PROBE ");
	c->probe_started = 1;
	c->expected_checks = get_long(v, "checks", -1);
	if (!v)
		c->garbled++;
	json_free(v);
}

static void recognise(struct console *c, const char *line)
{
	const char *p;
	if (strstr(line, "APKG-CHECK {"))
		on_check(c, line);
	else if (strstr(line, "APKG-RESULT {"))
		on_result(c, line);
	else if (strstr(line, "APKG-PROBE {"))
		on_probe(c, line);
	else if ((p = strstr(line, "APKG-INITRAMFS-ERROR")) && !c->initramfs_error) {
		p += strlen("APKG-INITRAMFS-ERROR");
		p += strspn(p, ": ");
		c->initramfs_error = xstrdup(*p ? p : "(no reason given)");
	} else if ((p = strstr(line, "Kernel panic")) && !c->panic) {
		c->panic = xstrdup(p);
	}
}

static void keep_line(struct console *c, const char *line, size_t len)
{
	if (c->log.len + len + 1 <= CONSOLE_MAX_LOG) {
		strbuf_add(&c->log, line, len);
		strbuf_addc(&c->log, '\n');
	} else {
		c->log_truncated = 1;
	}
	free(c->tail[c->tail_next]);
	c->tail[c->tail_next] = xstrdup(line);
	c->tail_next = (c->tail_next + 1) % CONSOLE_TAIL_LINES;
	if (c->tail_n < CONSOLE_TAIL_LINES)
		c->tail_n++;
}

static void end_line(struct console *c)
{
	struct strbuf line = STRBUF_INIT;
	clean_line(c->partial.buf, c->partial.len, &line);
	strbuf_reset(&c->partial);
	keep_line(c, line.buf, line.len);
	recognise(c, line.buf);
	strbuf_release(&line);
}

void console_feed(struct console *c, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		size_t room = CONSOLE_MAX_LINE - c->partial.len;
		size_t take = n < room ? n : room;
		strbuf_add(&c->partial, data, take);
		if (take < n || nl || c->partial.len >= CONSOLE_MAX_LINE) {
			/* an over-long line is split; the rest starts a new one */
			if (take == n && nl)
				take++;
			end_line(c);
		}
		data += take;
		len -= take;
	}
}

void console_finish(struct console *c)
{
	if (c->partial.len)
		end_line(c);
}

char *console_tail_text(const struct console *c)
{
	struct strbuf sb = STRBUF_INIT;
	size_t first = (c->tail_next + CONSOLE_TAIL_LINES - c->tail_n) % CONSOLE_TAIL_LINES;
	for (size_t i = 0; i < c->tail_n; i++) {
		strbuf_adds(&sb, c->tail[(first + i) % CONSOLE_TAIL_LINES]);
		strbuf_addc(&sb, '\n');
	}
	return strbuf_detach(&sb);
}

void console_free(struct console *c)
{
	for (size_t i = 0; i < c->n_checks; i++) {
		free(c->checks[i].name);
		free(c->checks[i].detail);
	}
	free(c->checks);
	for (size_t i = 0; i < CONSOLE_TAIL_LINES; i++)
		free(c->tail[i]);
	free(c->panic);
	free(c->initramfs_error);
	strbuf_release(&c->log);
	strbuf_release(&c->partial);
	memset(c, 0, sizeof *c);
}
