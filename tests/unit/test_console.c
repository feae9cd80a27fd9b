/* tests/unit/test_console.c: validate/console.c recognises the probe's lines
 * wherever they appear, cleans terminal escapes, bounds lines and the log,
 * and keeps the last lines; the result does not depend on how the bytes
 * arrive. */
#include "tests/unit/test.h"
#include "validate/console.h"

#include <stdlib.h>

static const char sample[] =
	"\033c\033[?7l\033[2JSeaBIOS (version 1.16)\r\n"
	"Booting from Hard Disk...\r\n"
	"[    1.0] Run /init as init process\n"
	"APKG-PROBE {\"checks\":3,\"deadline_s\":85}\n"
	"APKG-CHECK {\"check\":\"tcp 80\",\"ok\":true,\"detail\":\"port 80 accepts connections\",\"ms\":12}\n"
	"[  OK  ] Started x.service.APKG-CHECK {\"check\":\"http http://127.0.0.1/\",\"ok\":false,"
	"\"detail\":\"status 404 (expected 200)\",\"ms\":90000}\n"
	"APKG-CHECK {\"check\":\"broken\",\"ok\":tru\n"
	"APKG-CHECK {\"check\":\"service nginx\",\"ok\":true,\"detail\":\"unit nginx is active\",\"ms\":3000}\n"
	"APKG-RESULT {\"passed\":2,\"failed\":1}\n"
	"APKG-RESULT {\"passed\":9,\"failed\":0}\n"
	"[   95.0] reboot: Power down";

static void feed_in_chunks(struct console *c, const char *s, size_t len, size_t chunk)
{
	for (size_t off = 0; off < len; off += chunk)
		console_feed(c, s + off, len - off < chunk ? len - off : chunk);
	console_finish(c);
}

static void check_sample(struct console *c)
{
	CHECK(c->probe_started && c->expected_checks == 3);
	CHECK(c->n_checks == 3);
	if (c->n_checks == 3) {
		CHECK_STR(c->checks[0].name, "tcp 80");
		CHECK(c->checks[0].ok && c->checks[0].ms == 12);
		CHECK_STR(c->checks[1].name, "http http://127.0.0.1/");
		CHECK(!c->checks[1].ok);
		CHECK_STR(c->checks[1].detail, "status 404 (expected 200)");
		CHECK_STR(c->checks[2].name, "service nginx");
	}
	CHECK(c->garbled == 1);
	CHECK(c->got_result && c->passed == 2 && c->failed == 1); /* the first RESULT counts */
	CHECK(!c->panic && !c->initramfs_error);
	CHECK(strstr(c->log.buf, "SeaBIOS (version 1.16)\nBooting from Hard Disk...\n") == c->log.buf);
	CHECK(!strchr(c->log.buf, '\033') && !strchr(c->log.buf, '\r'));
	char *tail = console_tail_text(c);
	CHECK(strstr(tail, "reboot: Power down\n") != NULL);
	free(tail);
}

static void test_sample_any_split(void)
{
	size_t len = sizeof sample - 1;
	for (size_t chunk = 1; chunk <= len; chunk = chunk < 8 ? chunk + 1 : chunk * 3) {
		struct console c;
		console_init(&c);
		feed_in_chunks(&c, sample, len, chunk);
		check_sample(&c);
		console_free(&c);
	}
}

static void test_panic_and_initramfs_error(void)
{
	struct console c;
	console_init(&c);
	const char *s = "[    2.5] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n"
			"[    2.6] ---[ end Kernel panic - not syncing ]---\n";
	console_feed(&c, s, strlen(s));
	CHECK_STR(c.panic, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100");
	console_free(&c);

	console_init(&c);
	s = "APKG-INITRAMFS-ERROR: root device PARTUUID=1234 not found after 30 s\n";
	console_feed(&c, s, strlen(s));
	CHECK_STR(c.initramfs_error, "root device PARTUUID=1234 not found after 30 s");
	CHECK(!c.probe_started && !c.got_result);
	console_free(&c);
}

static void test_long_lines_and_log_cap(void)
{
	struct console c;
	console_init(&c);
	size_t n = 3 * CONSOLE_MAX_LINE + 10;
	char *big = malloc(n);
	memset(big, 'x', n);
	console_feed(&c, big, n);
	console_feed(&c, "\n", 1);
	CHECK(c.tail_n == 4); /* split into capped lines */
	for (int i = 0; i < 3000; i++)
		console_feed(&c, big, CONSOLE_MAX_LINE - 1), console_feed(&c, "\n", 1);
	CHECK(c.log.len <= CONSOLE_MAX_LOG && c.log_truncated);
	CHECK(c.tail_n == CONSOLE_TAIL_LINES);
	char *tail = console_tail_text(&c);
	CHECK(strlen(tail) == CONSOLE_TAIL_LINES * CONSOLE_MAX_LINE);
	free(tail);
	free(big);
	console_free(&c);
}

static void test_controls_dropped(void)
{
	struct console c;
	console_init(&c);
	const char s[] = "a\0b\x01\x7f\tc\033[1;31mred\033[0m\n";
	console_feed(&c, s, sizeof s - 1);
	CHECK_STR(c.log.buf, "ab\tcred\n");
	console_free(&c);
}

int main(void)
{
	RUN(test_sample_any_split);
	RUN(test_panic_and_initramfs_error);
	RUN(test_long_lines_and_log_cap);
	RUN(test_controls_dropped);
	TEST_MAIN_END();
}
