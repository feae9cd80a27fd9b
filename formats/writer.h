/* formats/writer.h: the one interface every image format implements.
 *
 * Modelled on libarchive's format table: a format fills a small vtable and
 * registers itself in formats/registry.c. The caller opens a writer with the
 * virtual size and options, feeds it extents in strictly increasing offset
 * order (data, or ranges known to read as zero), and finishes it. Offsets
 * not covered by any extent read as zero. A writer never knows what a
 * recipe is.
 *
 * The writer writes to a temporary file beside `path` and renames it into
 * place in finish(); abort() (or a failed finish) leaves nothing at `path`.
 */
#ifndef APKG_FORMATS_WRITER_H
#define APKG_FORMATS_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct appliance_meta;

enum image_compress { COMPRESS_NONE, COMPRESS_ZLIB, COMPRESS_ZSTD };

struct image_options {
	uint64_t virtual_size;      /* bytes; need not be a multiple of anything */
	enum image_compress compress;
	unsigned cluster_size;      /* qcow2: 0 = default (64 KiB) */
	int version;                /* qcow2: 0 = default (3) */
	int threads;                /* compression workers; 0 = number of cores */
	uint64_t epoch;             /* timestamps inside the format */
	const char *seed;           /* derives any id the format stores (UUIDs, CIDs) */
	const char *subformat;      /* format-specific variant (vmdk: streamOptimized|monolithicSparse) */
	const char *adapter_type;   /* vmdk: ddb.adapterType ide|buslogic|lsilogic|legacyESX; NULL = lsilogic */
	const struct appliance_meta *meta; /* formats/meta.h: the machine an OVA describes; NULL = defaults.
					      Read until finish(): it must outlive the writer */
	int no_sync;                /* 1: skip the fsync before the final rename (as qemu-img convert and
				       cp do); the default (0) makes the image durable before it appears */
};

struct image_writer;

struct image_format {
	const char *name;       /* "qcow2" */
	const char *extension;  /* "qcow2" */
	/* Allocates w->priv; the output file is created by the format (temp beside path). */
	int (*open)(struct image_writer *w);
	/* len > 0; offset >= end of previous extent; offset + len <= virtual_size. */
	int (*write_data)(struct image_writer *w, uint64_t offset, const void *buf, size_t len);
	/* A range known to read as zero. Formats normally just skip it. */
	int (*write_zero)(struct image_writer *w, uint64_t offset, uint64_t len);
	/* Writes tables, commits the temp file to path. */
	int (*finish)(struct image_writer *w);
	/* Frees priv; if not finished, removes the temp file. */
	void (*abort)(struct image_writer *w);
};

struct image_writer {
	const struct image_format *fmt;
	struct image_options opt;
	char *path;
	void *priv;
	uint64_t next_offset;   /* enforced by the generic layer */
	int finished;
};

/* The file a format writes: a temporary file beside w->path (mode 0644,
 * removed on SIGINT/SIGTERM), renamed onto the path only when complete.
 * For formats to use in open/finish/abort. */
struct image_output {
	int fd;     /* -1 when closed */
	char *tmp;  /* NULL once committed or discarded */
	uint64_t reserved; /* bytes allocated ahead by image_output_reserve() */
};

/* Creates the temporary file. Returns 0 or -1 (printed). */
int image_output_open(const struct image_writer *w, struct image_output *o);
/* Truncates it to size bytes, then renames it onto w->path (after an
 * fsync unless opt.no_sync). On failure nothing is left at either name. */
int image_output_commit(const struct image_writer *w, struct image_output *o, uint64_t size);
/* For formats that fill their file densely from front to back (qcow2):
 * makes sure the blocks up to end are allocated, in steps of 64 MiB, before
 * they are written. Writes into allocated blocks skip the file system's
 * per-block reservation (10-15% of a plain conversion's write time on
 * ext4); the commit's truncate gives back what was allocated beyond the
 * final size. Best effort: a file system that cannot preallocate is simply
 * written. */
void image_output_reserve(struct image_output *o, uint64_t end);
/* Closes and removes the temporary file if it is still there. Idempotent. */
void image_output_discard(struct image_output *o);

/* Looks a format up by name ("raw", "qcow2", ...). NULL if unknown. */
const struct image_format *image_format_find(const char *name);
/* Comma-separated list of the registered formats, for help and errors. */
const char *image_format_names(void);

struct image_writer *image_writer_open(const struct image_format *fmt, const char *path,
				       const struct image_options *opt);
int image_writer_data(struct image_writer *w, uint64_t offset, const void *buf, size_t len);
int image_writer_zero(struct image_writer *w, uint64_t offset, uint64_t len);
/* Finishes and frees. Returns 0 on success; on failure nothing is left at path. */
int image_writer_finish(struct image_writer *w);
/* Abandons and frees; nothing is left at path. */
void image_writer_abort(struct image_writer *w);

#endif
