/* cli/cmd_inspect.c: `apkg inspect IMAGE [--json] [--hygiene]`: what is inside a disk image.
 *
 * IMAGE is any disk image QEMU reads (raw, qcow2, VMDK, VHDX, VHD, VDI) or an
 * OVA, apkg's or anyone's. One libguestfs launch gathers everything (see
 * inspect/inspect.h). The summary goes to stdout; --json prints the
 * documented JSON document instead. --hygiene also applies the build's
 * hygiene rules (builder/hygiene.h) to the image, with no waivers.
 * Exit codes: 0 inspected (and with --hygiene: no error-level finding),
 * 1 a hygiene error was found, 2 bad usage or an unreadable image,
 * 3 libguestfs could not start.
 */
#include "cli/cli.h"

#include "inspect/inspect.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: apkg inspect IMAGE [--json] [--hygiene]\n"
		   "\n"
		   "Shows what is inside a disk image: partitions, filesystems (label, UUID, size,\n"
		   "used), the operating system and its packages with versions, kernels and\n"
		   "initrds, the boot setup (BIOS, UEFI or both; loaders and kernel command lines),\n"
		   "and for apkg appliances the recipe hash and boot checks. IMAGE may be raw,\n"
		   "qcow2, VMDK, VHDX, VHD, VDI or an OVA (its disks are read inside the tar).\n"
		   "Uses libguestfs (one launch; forced onto TCG without hardware virtualization).\n"
		   "\n"
		   "  --json       print the JSON document described in the README\n"
		   "  --hygiene    also check the image against the hygiene rules of `apkg build`\n"
		   "               (exit 1 when an error-level rule fires)\n"
		   "  -h, --help   this text\n");
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'J'},
					     {"hygiene", no_argument, NULL, 'H'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct inspect_opts o = {0};
	int json = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = 1;
			break;
		case 'H':
			o.hygiene = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (json)
		diag_set_quiet(1);
	cleanup_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN); /* the hygiene stream is a pipe; errors are reported, not fatal */
	struct inspect_result r;
	int rc = inspect_image(argv[optind], &o, &r);
	if (rc < 0) {
		int code = rc == INSPECT_NO_GUESTFS ? EXIT_MISSING_TOOL : EXIT_USAGE;
		inspect_result_release(&r);
		return code;
	}
	struct strbuf out = STRBUF_INIT;
	if (json)
		inspect_json(&r, &out);
	else
		inspect_print(&r, &out);
	fwrite(out.buf, 1, out.len, stdout);
	int code = o.hygiene && r.hygiene.errors ? EXIT_FAILED : EXIT_OK;
	strbuf_release(&out);
	inspect_result_release(&r);
	return code;
}
