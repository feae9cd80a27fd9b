/* cli/cmd_verify.c: `apkg verify URL|PATH [--keyring FILE]`: check a published
 * appliance version (signature and every file's sha256) as a user downloads
 * it. See publish/verify.h.
 * Exit codes: 0 verified, 1 a file or the signature failed, 2 bad usage,
 * 3 curl or gpgv missing.
 */
#include "cli/cli.h"

#include "publish/verify.h"
#include "util/diag.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: apkg verify URL|PATH [--keyring FILE]\n"
		   "\n"
		   "Verifies a published appliance version: URL or PATH is a version directory\n"
		   "(https://mirror/NAME/VERSION) or NAME/latest (resolved through NAME/LATEST).\n"
		   "Downloads SHA256SUMS, checks its signature SHA256SUMS.asc with --keyring, and\n"
		   "checks the sha256 of every file it lists (files are hashed as they download,\n"
		   "not stored). Exits 1 naming every file that does not match.\n"
		   "\n"
		   "options:\n"
		   "  -k, --keyring FILE   OpenPGP public key(s) the signature must come from\n"
		   "                       (binary, keybox or ASCII-armoured); required to check it\n"
		   "  -h, --help           this text\n");
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"keyring", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct verify_opts o = {0};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o.keyring = optarg; break;
		case 'h': usage(stdout); return 0;
		default: error("unknown or incomplete option '%s'", argv[optind - 1]); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		error("expected one URL or PATH (see 'apkg verify --help')");
		return EXIT_USAGE;
	}
	o.where = argv[optind];
	return verify_release(&o);
}
