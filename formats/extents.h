/* formats/extents.h: a virtual disk described as pieces, streamed into writers.
 *
 * A disk layout is a list of pieces at virtual offsets: a byte range of a
 * host file (e.g. the ext4 image), a buffer in memory (e.g. the GPT), or a
 * range of another image opened with formats/reader.h (e.g. a qcow2 input
 * of `apkg convert`, whose unallocated clusters are skipped unread).
 * extents_stream() walks them in offset order and feeds any image_writer,
 * doing zero detection exactly once: holes come from SEEK_DATA/SEEK_HOLE,
 * and data blocks that are entirely zero are found with a fast scan and sent
 * as zero extents. No full-size intermediate image is ever needed.
 */
#ifndef APKG_FORMATS_EXTENTS_H
#define APKG_FORMATS_EXTENTS_H

#include <stddef.h>
#include <stdint.h>

struct image_writer;
struct image_reader;

struct disk_piece {
	uint64_t offset;      /* virtual offset in the disk */
	uint64_t length;
	int fd;               /* file piece: fd >= 0 */
	uint64_t file_offset;
	const void *mem;      /* memory piece: fd < 0 and reader NULL */
	struct image_reader *reader; /* image piece: file_offset is the offset in its virtual disk */
};

struct disk_layout {
	uint64_t size;
	struct disk_piece *pieces;
	size_t n, alloc;
};

void disk_layout_init(struct disk_layout *l, uint64_t size);
void disk_layout_release(struct disk_layout *l);
/* Pieces may be added in any order but must not overlap (checked in stream). */
void disk_layout_add_file(struct disk_layout *l, uint64_t offset, int fd, uint64_t file_offset, uint64_t length);
void disk_layout_add_mem(struct disk_layout *l, uint64_t offset, const void *mem, uint64_t length);
/* A range of an image read through formats/reader.h (not closed by the layout). */
void disk_layout_add_reader(struct disk_layout *l, uint64_t offset, struct image_reader *r, uint64_t image_offset,
			    uint64_t length);
/* A whole host file (raw image) as the layout. Returns -1 on error; fd kept open in *fd_out. */
int disk_layout_from_file(struct disk_layout *l, const char *path, int *fd_out);

/* Progress callback: bytes of virtual disk done so far. */
typedef void (*extents_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Streams the layout into w (data and zero extents, increasing offsets).
 * The block size for zero detection is 4 KiB. Does not finish w. */
int extents_stream(const struct disk_layout *l, struct image_writer *w, extents_progress_fn progress, void *ctx);

/* True if the buffer is all zero (fast word-at-a-time scan). */
int buffer_is_zero(const void *buf, size_t len);

#endif
