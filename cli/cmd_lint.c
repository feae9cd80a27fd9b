/* cli/cmd_lint.c: `apkg lint IMAGE.ova [--profile P]`: check an OVA offline.
 *
 * Runs formats/ova/lint.h over the file for the products of one profile
 * (vmware, virtualbox, generic; by default every product) and prints each
 * finding with its rule and the products it comes from.
 * Exit codes: 0 no errors (warnings and notes allowed), 1 errors found or
 * the file unreadable, 2 bad usage.
 */
#include "cli/cli.h"

#include "formats/ova/lint.h"
#include "util/diag.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: apkg lint IMAGE.ova [--profile vmware|virtualbox|generic] [--no-notes]\n"
		   "\n"
		   "Checks an OVA the way ESXi, vCenter, Workstation and VirtualBox check it on\n"
		   "import: member order, manifest syntax and digests, sizes, references, the\n"
		   "hardware family and device subtypes, required sections, and each disk's\n"
		   "streamOptimized VMDK (version 3, complete, with its end-of-stream marker).\n"
		   "Each finding names its rule and the products it comes from. A bare\n"
		   "streamOptimized .vmdk gets the disk checks alone.\n"
		   "\n"
		   "options:\n"
		   "  -p, --profile P   only what matters to P's products (vmware: ESXi, vCenter,\n"
		   "                    Workstation; virtualbox: VirtualBox; generic: all, the default)\n"
		   "      --no-notes    print errors and warnings only\n"
		   "  -h, --help        this text\n"
		   "exit codes: 0 no errors, 1 errors (or unreadable), 2 usage\n");
}

int cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"profile", required_argument, NULL, 'p'},
		{"no-notes", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *profile = NULL;
	int notes = 1, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			profile = optarg;
			break;
		case 'n':
			notes = 0;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			error("unknown or incomplete option '%s' (see 'apkg lint --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		error("expected one OVA file (see 'apkg lint --help')");
		return EXIT_USAGE;
	}
	unsigned products;
	if (lint_profile_products(profile, &products) < 0) {
		error("--profile: '%s' is not vmware, virtualbox or generic", profile);
		return EXIT_USAGE;
	}
	const char *path = argv[optind];
	struct lint_report r = {0};
	if (ova_lint_file(path, products, &r) < 0)
		return EXIT_FAILED;
	lint_report_print(&r, stdout, path, notes);
	printf("%s: %u error(s), %u warning(s), %u note(s)\n", path, r.errors, r.warnings, r.notes);
	int rc = r.errors ? EXIT_FAILED : EXIT_OK;
	lint_report_release(&r);
	return rc;
}
