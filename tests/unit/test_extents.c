/* tests/unit/test_extents.c: zero detection and ordering in extents_stream, with a
 * recording format; the raw writer reproduces the layout byte for byte. */
#include "formats/extents.h"
#include "formats/writer.h"
#include "tests/unit/test.h"
#include "util/io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct rec {
	uint64_t data_bytes, zero_bytes, last_end;
	int ordered, calls;
};

static int rec_open(struct image_writer *w) { w->priv = calloc(1, sizeof(struct rec)); ((struct rec *)w->priv)->ordered = 1; return 0; }
static int rec_data(struct image_writer *w, uint64_t off, const void *buf, size_t len)
{
	struct rec *r = w->priv;
	r->ordered &= off >= r->last_end;
	r->last_end = off + len;
	r->data_bytes += len;
	r->calls++;
	CHECK(!buffer_is_zero(buf, len > 4096 ? 4096 : len) || len < 4096);
	return 0;
}
static int rec_zero(struct image_writer *w, uint64_t off, uint64_t len)
{
	struct rec *r = w->priv;
	r->ordered &= off >= r->last_end;
	r->last_end = off + len;
	r->zero_bytes += len;
	return 0;
}
static struct rec last;
static int rec_finish(struct image_writer *w) { last = *(struct rec *)w->priv; return 0; }
static void rec_abort(struct image_writer *w) { free(w->priv); w->priv = NULL; }
static const struct image_format rec_format = {"rec", "rec", rec_open, rec_data, rec_zero, rec_finish, rec_abort};

static void test_zero_detection(void)
{
	char path[] = "/tmp/apkg-ext-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	/* 8 MiB file: a hole, 12 KiB of data at 1 MiB, 64 KiB of written zeros at 2 MiB, data at the very end. */
	CHECK(ftruncate(fd, 8 << 20) == 0);
	char buf[65536];
	memset(buf, 0xab, sizeof buf);
	CHECK(pwrite_all(fd, buf, 12288, 1 << 20) == 0);
	memset(buf, 0, sizeof buf);
	CHECK(pwrite_all(fd, buf, 65536, 2 << 20) == 0);
	memset(buf, 1, 100);
	CHECK(pwrite_all(fd, buf, 100, (8 << 20) - 100) == 0);
	static const char gpt[1024] = {1};
	struct disk_layout l;
	disk_layout_init(&l, (16 << 20));
	disk_layout_add_file(&l, 1 << 20, fd, 0, 8 << 20);
	disk_layout_add_mem(&l, 0, gpt, sizeof gpt);
	struct image_options o = {.virtual_size = 16 << 20};
	struct image_writer *w = image_writer_open(&rec_format, "/dev/null", &o);
	CHECK(extents_stream(&l, w, NULL, NULL) == 0);
	CHECK(image_writer_finish(w) == 0);
	CHECK(last.ordered);
	/* data: the GPT's first 4 KiB block (1024 bytes), 12 KiB, and the last 4 KiB block of the file */
	CHECK(last.data_bytes == 1024 + 12288 + 4096);
	CHECK(last.data_bytes + last.zero_bytes == 16 << 20);

	/* The raw writer reproduces the layout exactly. */
	char out[] = "/tmp/apkg-ext-raw-XXXXXX";
	int ofd = mkstemp(out);
	close(ofd);
	w = image_writer_open(image_format_find("raw"), out, &o);
	CHECK(w && extents_stream(&l, w, NULL, NULL) == 0 && image_writer_finish(w) == 0);
	int rfd = open(out, O_RDONLY);
	char a[4096], b[4096];
	CHECK(pread_exact(rfd, a, 100, (9 << 20) - 100) == 0);
	CHECK(a[0] == 1 && a[99] == 1);
	CHECK(pread_exact(rfd, a, 4096, 1 << 20) == 0 && pread_exact(fd, b, 4096, 0) == 0);
	CHECK(!memcmp(a, b, 4096));
	CHECK(lseek(rfd, 0, SEEK_END) == 16 << 20);
	close(rfd);
	unlink(out);
	disk_layout_release(&l);
	close(fd);
	unlink(path);
}

static void test_overlap_and_order_refused(void)
{
	static const char m[4096];
	struct disk_layout l;
	disk_layout_init(&l, 8192);
	disk_layout_add_mem(&l, 0, m, 4096);
	disk_layout_add_mem(&l, 2048, m, 4096);
	struct image_options o = {.virtual_size = 8192};
	struct image_writer *w = image_writer_open(&rec_format, "/dev/null", &o);
	CHECK(extents_stream(&l, w, NULL, NULL) < 0); /* refused before anything is written */
	CHECK(image_writer_data(w, 100, m, 10) == 0);
	CHECK(image_writer_data(w, 0, m, 10) < 0); /* before the end of the previous extent */
	CHECK(image_writer_data(w, 8190, m, 10) < 0); /* past the virtual size */
	image_writer_abort(w);
	disk_layout_release(&l);
}

/* A writer that truncates the input under apkg, then reads what it was given. */
static int shrink_fd = -1;
static int shrink_data(struct image_writer *w, uint64_t off, const void *buf, size_t len)
{
	(void)w;
	(void)off;
	if (ftruncate(shrink_fd, 0) < 0)
		return -1;
	return buffer_is_zero(buf, len) ? 0 : 1; /* faults: the mapped pages are gone */
}
static int shrink_zero(struct image_writer *w, uint64_t off, uint64_t len) { return 0; }
static int shrink_finish(struct image_writer *w) { return 0; }
static void shrink_abort(struct image_writer *w) {}
static int shrink_open(struct image_writer *w) { return 0; }
static const struct image_format shrink_format = {"shrink", "shrink", shrink_open, shrink_data, shrink_zero,
						   shrink_finish, shrink_abort};

/* Mapped input truncated by someone else: an error exit (1) that removes the
 * registered temporary output, not a crash. */
static void test_input_truncated_while_mapped(void)
{
	char in[] = "/tmp/apkg-ext-shrink-XXXXXX", tmp[] = "/tmp/apkg-ext-out-XXXXXX";
	int fd = mkstemp(in), tfd = mkstemp(tmp);
	CHECK(fd >= 0 && tfd >= 0);
	close(tfd);
	static char data[1 << 20];
	memset(data, 0x5a, sizeof data);
	CHECK(pwrite_all(fd, data, sizeof data, 0) == 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDERR_FILENO);
		cleanup_install_signal_handlers();
		cleanup_register(tmp);
		shrink_fd = fd;
		struct disk_layout l;
		disk_layout_init(&l, sizeof data);
		disk_layout_add_file(&l, 0, fd, 0, sizeof data);
		struct image_options o = {.virtual_size = sizeof data};
		struct image_writer *w = image_writer_open(&shrink_format, "/dev/null", &o);
		extents_stream(&l, w, NULL, NULL);
		_exit(42); /* not reached: the writer faults */
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	struct stat st;
	CHECK(stat(tmp, &st) < 0); /* the temporary output was removed */
	close(fd);
	unlink(in);
	unlink(tmp);
}

int main(void)
{
	RUN(test_zero_detection);
	RUN(test_overlap_and_order_refused);
	RUN(test_input_truncated_while_mapped);
	TEST_MAIN_END();
}
