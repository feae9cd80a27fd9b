/* tests/fuzz/fuzz_hygiene.c: the hygiene rules against hostile image files.
 *
 * The input is a list of records, each one byte choosing an image path (the
 * files the rules parse: shadow, passwd, machine-id, dpkg .list files, host
 * keys, a PEM file, merged-/usr links...), one byte of mode bits and the
 * rest up to the next 0xff 0x00 separator as the file's content (or a
 * link's target). The same bytes are then read as a tar stream. Nothing may
 * crash or read out of bounds, and findings must stay within the cap.
 */
#include "builder/hygiene.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const paths[] = {
	"/etc/shadow", "/etc/passwd", "/etc/machine-id", "/var/lib/dbus/machine-id",
	"/var/lib/dpkg/info/login.list", "/var/lib/dpkg/info/x.list", "/etc/ssh/ssh_host_rsa_key",
	"/etc/app/key.pem", "/bin", "/usr/bin/su", "/usr/local/bin/tool", "/var/log/x.log",
	"/root/.ash_history", "/var/lib/apt/lists/p", "/tmp/x", "/srv/drop",
};

static mode_t mode_of(unsigned char m)
{
	static const mode_t types[] = {S_IFREG, S_IFDIR, S_IFLNK, S_IFREG};
	return types[m & 3] | ((mode_t)(m >> 2) << 6 & 07777) | (m & 0x80 ? S_ISUID : 0) | (m & 0x40 ? 0666 : 0);
}

static void scan_records(const uint8_t *data, size_t size)
{
	const char *allowed[] = {"/etc/app/key.pem"};
	struct hygiene_waiver w = {.rule = "world-writable", .reason = "fuzz"};
	struct hygiene_policy p = {.waivers = &w, .n_waivers = 1, .allowed_keys = allowed, .n_allowed_keys = size & 1};
	struct hygiene_scan *s = hygiene_scan_new(&p);
	for (size_t i = 0; i + 2 <= size;) {
		const char *path = paths[data[i] % (sizeof paths / sizeof paths[0])];
		mode_t mode = mode_of(data[i + 1]);
		size_t start = i + 2, end = start;
		while (end + 1 < size && !(data[end] == 0xff && data[end + 1] == 0))
			end++;
		if (end + 1 >= size)
			end = size;
		size_t len = end - start;
		char *copy = malloc(len + 1); /* exact size, so ASan sees any overread */
		memcpy(copy, data + start, len);
		copy[len] = 0;
		size_t want = hygiene_scan_wants(s, path, len);
		struct hygiene_entry e = {.path = path, .mode = mode, .size = len,
					  .link_target = S_ISLNK(mode) ? copy : NULL,
					  .data = (const unsigned char *)copy, .data_len = S_ISREG(mode) ? (want < len ? want : len) : 0};
		hygiene_scan_entry(s, &e);
		free(copy);
		i = end + 2;
	}
	struct hygiene_report rep;
	hygiene_scan_finish(s, &rep);
	if (rep.n > HYGIENE_MAX_FINDINGS_PER_RULE * 10)
		abort();
	hygiene_report_release(&rep);
	hygiene_scan_free(s);
}

static void scan_tar(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-tar", 0);
	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) {
		struct hygiene_scan *s = hygiene_scan_new(NULL);
		hygiene_scan_tar_fd(s, fd);
		struct hygiene_report rep;
		hygiene_scan_finish(s, &rep);
		hygiene_report_release(&rep);
		hygiene_scan_free(s);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scan_records(data, size);
	scan_tar(data, size);
	return 0;
}
