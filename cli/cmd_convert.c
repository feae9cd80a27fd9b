/* cli/cmd_convert.c: `apkg convert IN OUT`: copy a disk image into another format.
 *
 * The input is raw or qcow2, told apart by its content; the output format
 * comes from --format or OUT's extension. Ranges that read as zero are
 * never read (holes, unallocated clusters) and never written. OUT appears
 * complete or not at all (temp file beside it, renamed at the end); like
 * qemu-img convert it is not fsynced unless --sync asks.
 * Exit codes: 0 done, 1 the conversion failed, 2 bad usage.
 */
#include "cli/cli.h"

#include "formats/extents.h"
#include "formats/meta.h"
#include "formats/reader.h"
#include "formats/writer.h"
#include "util/diag.h"
#include "util/progress.h"
#include "util/strbuf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct convert_args {
	const char *in, *out;
	const char *format;
	const char *compress;
	unsigned cluster_size;
	int version;
	int threads;
	int sync;
	const char *vmdk_subformat, *vmdk_adapter;
	struct appliance_meta meta;  /* ova: what the OVF describes */
	int meta_set;                /* an ova-only option was given */
	const char *firmware;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: apkg convert IN OUT [options]\n"
		"\n"
		"Converts a disk image. IN is raw or qcow2 (detected from its content);\n"
		"OUT's format comes from --format or its extension (.qcow2, .raw, .img,\n"
		".vmdk, .vhdx, .vdi, .ova).\n"
		"Zero ranges are skipped; OUT appears only once it is complete.\n"
		"\n"
		"options:\n"
		"  -f, --format F          output format: %s\n"
		"      --compress C        qcow2 compression: none (default), zlib, zstd\n"
		"      --cluster-size N    qcow2 cluster size, 4K..2M, a power of two (default 64K)\n"
		"      --qcow2-version V   2 (compat 0.10) or 3 (compat 1.1, default)\n"
		"      --vmdk-subformat S  streamOptimized (default; ESXi, OVAs) or monolithicSparse\n"
		"                          (VMware Workstation)\n"
		"      --vmdk-adapter A    ddb.adapterType: lsilogic (default), ide, buslogic, legacyESX\n"
		"      --ova-profile P     vmware, virtualbox or generic (default): the OVF each\n"
		"                          product's own exporter writes\n"
		"      --ova-manifest A    sha256 (default), sha1 (ESXi 6.0 and older), sha512\n"
		"      --name N            ova: the appliance name (default: OUT's base name)\n"
		"      --cpus N            ova: virtual CPUs (default 1)\n"
		"      --memory SIZE       ova: memory, e.g. 512M, 2G (default 512M)\n"
		"      --nic M             ova: e1000 (default), vmxnet3, virtio or none\n"
		"      --firmware F        ova: any (default: the disk boots both ways), bios or efi\n"
		"  -j, --threads N         compression threads (default: number of CPUs)\n"
		"      --sync              flush OUT to disk before it appears (slower; like\n"
		"                          qemu-img and cp, the default leaves that to the kernel)\n"
		"  -h, --help              this text\n"
		"SOURCE_DATE_EPOCH sets the timestamps an OVA stores (default 0).\n",
		image_format_names());
}

/* "65536", "64K", "64k", "2M", "2MiB" -> bytes; 0 if malformed. */
static unsigned parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s)
		return 0;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B' || *end == 'b')
		end++;
	return *end || v > (1u << 31) ? 0 : (unsigned)v;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

enum {
	OPT_COMPRESS = 256, OPT_CLUSTER_SIZE, OPT_QCOW2_VERSION, OPT_SYNC, OPT_VMDK_SUBFORMAT, OPT_VMDK_ADAPTER,
	OPT_OVA_PROFILE, OPT_OVA_MANIFEST, OPT_NAME, OPT_CPUS, OPT_MEMORY, OPT_NIC, OPT_FIRMWARE,
};

/* "512M", "2G", "1048576" -> bytes (binary units); 0 if malformed. */
static uint64_t parse_memory(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s)
		return 0;
	int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : *end == 'G' || *end == 'g' ? 30 : 0;
	if (shift)
		end++;
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	if (*end || v > (1ull << 40) >> shift)
		return 0;
	return (uint64_t)v << shift;
}

/* Options that only the ova format reads. */
static int parse_ova_option(int c, const char *arg, struct convert_args *a)
{
	a->meta_set = 1;
	switch (c) {
	case OPT_OVA_PROFILE:
		a->meta.ova_profile = arg;
		break;
	case OPT_OVA_MANIFEST:
		a->meta.manifest = arg;
		break;
	case OPT_NAME:
		a->meta.name = arg;
		break;
	case OPT_CPUS: {
		int n;
		if (parse_int(arg, 1, 768, &n) < 0)
			return error("--cpus: '%s' is not a count from 1 to 768", arg);
		a->meta.cpus = (unsigned)n;
		break;
	}
	case OPT_MEMORY:
		if (!(a->meta.memory = parse_memory(arg)))
			return error("--memory: '%s' is not a size (e.g. 512M, 2G)", arg);
		break;
	case OPT_NIC:
		a->meta.nic = arg;
		break;
	case OPT_FIRMWARE:
		if (!strcmp(arg, "bios"))
			a->meta.firmware = FIRMWARE_BIOS;
		else if (!strcmp(arg, "efi") || !strcmp(arg, "uefi"))
			a->meta.firmware = FIRMWARE_EFI;
		else if (strcmp(arg, "any"))
			return error("--firmware: '%s' is not any, bios or efi", arg);
		break;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct convert_args *a)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"compress", required_argument, NULL, OPT_COMPRESS},
		{"cluster-size", required_argument, NULL, OPT_CLUSTER_SIZE},
		{"qcow2-version", required_argument, NULL, OPT_QCOW2_VERSION},
		{"threads", required_argument, NULL, 'j'},
		{"sync", no_argument, NULL, OPT_SYNC},
		{"vmdk-subformat", required_argument, NULL, OPT_VMDK_SUBFORMAT},
		{"vmdk-adapter", required_argument, NULL, OPT_VMDK_ADAPTER},
		{"ova-profile", required_argument, NULL, OPT_OVA_PROFILE},
		{"ova-manifest", required_argument, NULL, OPT_OVA_MANIFEST},
		{"name", required_argument, NULL, OPT_NAME},
		{"cpus", required_argument, NULL, OPT_CPUS},
		{"memory", required_argument, NULL, OPT_MEMORY},
		{"nic", required_argument, NULL, OPT_NIC},
		{"firmware", required_argument, NULL, OPT_FIRMWARE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a->format = optarg;
			break;
		case OPT_COMPRESS:
			a->compress = optarg;
			break;
		case OPT_CLUSTER_SIZE:
			a->cluster_size = parse_size(optarg);
			if (!a->cluster_size)
				return error("--cluster-size: '%s' is not a size (e.g. 64K, 2M)", optarg);
			break;
		case OPT_QCOW2_VERSION:
			if (parse_int(optarg, 2, 3, &a->version) < 0)
				return error("--qcow2-version: '%s' is not 2 or 3", optarg);
			break;
		case 'j':
			if (parse_int(optarg, 1, 256, &a->threads) < 0)
				return error("-j: '%s' is not a thread count from 1 to 256", optarg);
			break;
		case OPT_SYNC:
			a->sync = 1;
			break;
		case OPT_VMDK_SUBFORMAT:
			a->vmdk_subformat = optarg;
			break;
		case OPT_VMDK_ADAPTER:
			a->vmdk_adapter = optarg;
			break;
		case OPT_OVA_PROFILE:
		case OPT_OVA_MANIFEST:
		case OPT_NAME:
		case OPT_CPUS:
		case OPT_MEMORY:
		case OPT_NIC:
		case OPT_FIRMWARE:
			if (parse_ova_option(c, optarg, a) < 0)
				return -1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return error("expected IN and OUT (see 'apkg convert --help')");
	a->in = argv[optind];
	a->out = argv[optind + 1];
	return 0;
}

/* --format, else the extension of OUT. */
static const struct image_format *output_format(const struct convert_args *a)
{
	if (a->format) {
		const struct image_format *f = image_format_find(a->format);
		if (!f)
			error("unknown output format '%s' (known: %s)", a->format, image_format_names());
		return f;
	}
	const char *base = strrchr(a->out, '/');
	const char *dot = strrchr(base ? base : a->out, '.');
	const struct image_format *f = NULL;
	if (dot && !strcasecmp(dot + 1, "img"))
		f = image_format_find("raw");
	else if (dot)
		f = image_format_find(dot + 1);
	if (!f)
		error("cannot tell the output format from '%s'; use --format (%s)", a->out, image_format_names());
	return f;
}

static int check_options(const struct convert_args *a, const struct image_format *f, struct image_options *o)
{
	int qcow2 = !strcmp(f->name, "qcow2");
	if (a->compress) {
		if (!strcmp(a->compress, "zlib") || !strcmp(a->compress, "deflate"))
			o->compress = COMPRESS_ZLIB;
		else if (!strcmp(a->compress, "zstd"))
			o->compress = COMPRESS_ZSTD;
		else if (strcmp(a->compress, "none"))
			return error("--compress: '%s' is not none, zlib or zstd", a->compress);
		if (o->compress != COMPRESS_NONE && !qcow2)
			return error("--compress needs a qcow2 output (this is %s)", f->name);
	}
	if ((a->cluster_size || a->version) && !qcow2)
		return error("--cluster-size and --qcow2-version apply to qcow2 output only (this is %s)", f->name);
	unsigned cs = a->cluster_size;
	if (cs && (cs < 4096 || cs > (2u << 20) || (cs & (cs - 1))))
		return error("--cluster-size: %u is not a power of two from 4K to 2M", cs);
	if (a->version == 2 && o->compress == COMPRESS_ZSTD)
		return error("--compress zstd needs --qcow2-version 3");
	int vmdk = !strcmp(f->name, "vmdk"), ova = !strcmp(f->name, "ova");
	if ((a->vmdk_subformat || a->vmdk_adapter) && !vmdk)
		return error("--vmdk-subformat and --vmdk-adapter apply to vmdk output only (this is %s)", f->name);
	if (a->meta_set && !ova)
		return error("--ova-profile, --ova-manifest, --name, --cpus, --memory, --nic and --firmware apply to "
			     "ova output only (this is %s)", f->name);
	if (a->vmdk_subformat && strcmp(a->vmdk_subformat, "streamOptimized") && strcmp(a->vmdk_subformat, "monolithicSparse"))
		return error("--vmdk-subformat: '%s' is not streamOptimized or monolithicSparse", a->vmdk_subformat);
	if (a->vmdk_adapter && strcmp(a->vmdk_adapter, "lsilogic") && strcmp(a->vmdk_adapter, "ide") &&
	    strcmp(a->vmdk_adapter, "buslogic") && strcmp(a->vmdk_adapter, "legacyESX"))
		return error("--vmdk-adapter: '%s' is not lsilogic, ide, buslogic or legacyESX", a->vmdk_adapter);
	o->subformat = a->vmdk_subformat;
	o->adapter_type = a->vmdk_adapter;
	o->meta = ova ? &a->meta : NULL;
	const char *sde = getenv("SOURCE_DATE_EPOCH"); /* timestamps inside formats that keep them (ova) */
	if (sde && *sde) {
		char *end;
		unsigned long long e = strtoull(sde, &end, 10);
		if (*end)
			return error("SOURCE_DATE_EPOCH: '%s' is not a number of seconds", sde);
		o->epoch = e;
	}
	o->cluster_size = cs;
	o->version = a->version;
	o->threads = a->threads;
	o->no_sync = !a->sync;
	return 0;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	progress_update("converting", done, total);
}

static int convert(struct image_reader *r, const struct image_format *f, const char *out, struct image_options *o)
{
	o->virtual_size = image_reader_size(r);
	struct image_writer *w = image_writer_open(f, out, o);
	if (!w)
		return -1;
	struct disk_layout l;
	disk_layout_init(&l, o->virtual_size);
	if (o->virtual_size)
		disk_layout_add_reader(&l, 0, r, 0, o->virtual_size);
	int rc = extents_stream(&l, w, show_progress, NULL);
	progress_done();
	disk_layout_release(&l);
	if (rc < 0) {
		image_writer_abort(w);
		return -1;
	}
	return image_writer_finish(w);
}

int cmd_convert(int argc, char **argv)
{
	struct convert_args a = {0};
	struct image_options o = {0};
	if (parse_args(argc, argv, &a) < 0)
		return EXIT_USAGE;
	const struct image_format *f = output_format(&a);
	if (!f || check_options(&a, f, &o) < 0)
		return EXIT_USAGE;
	if (same_file(a.in, a.out)) {
		error("IN and OUT are the same file (%s)", a.out);
		return EXIT_USAGE;
	}
	struct image_reader *r = image_reader_open(a.in);
	if (!r)
		return EXIT_FAILED;
	double t0 = now_seconds();
	int rc = convert(r, f, a.out, &o);
	if (rc == 0) {
		struct stat st;
		double mib = stat(a.out, &st) == 0 ? (double)st.st_size / 1048576.0 : 0;
		info("%s (%s) -> %s (%s, %.1f MiB) in %.2f s", a.in, image_reader_format(r), a.out, f->name, mib,
		     now_seconds() - t0);
	} else {
		error("conversion failed; %s was not written", a.out);
	}
	image_reader_close(r);
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}
