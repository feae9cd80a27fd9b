/* cli/cmd_publish.c: `apkg publish OUTDIR --mirror DEST`: put a boot-validated
 * appliance version on a download mirror (a local directory or an rsync
 * destination), atomically, optionally signed, with its index pages. The
 * protocol and its guarantees are in publish/publish.h.
 * Exit codes: 0 published (or already there with the same content), 1 refused
 * or failed, 2 bad usage, 3 rsync or gpg missing.
 */
#include "cli/cli.h"

#include "publish/publish.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: apkg publish OUTDIR --mirror DEST [options]\n"
		   "\n"
		   "Publishes the appliance built in OUTDIR (by 'apkg build', validated by 'apkg test')\n"
		   "to DEST/<name>/<version>/ and updates DEST/index.json, DEST/index.html,\n"
		   "DEST/<name>/LATEST and DEST/<name>/latest. DEST is a local directory, or an rsync\n"
		   "destination: host:path (over ssh; RSYNC_RSH is honoured) or rsync://host/module/path.\n"
		   "\n"
		   "options:\n"
		   "  -m, --mirror DEST         where to publish (required)\n"
		   "      --sign KEYID          sign SHA256SUMS with this gpg key (SHA256SUMS.asc)\n"
		   "      --keep N              keep only the N newest versions of this appliance\n"
		   "      --allow-unvalidated   publish artifacts without a passing boot validation\n"
		   "                            (the index marks them as not validated)\n"
		   "      --rsync-opt OPT       pass OPT to every rsync run (repeatable), e.g. --bwlimit=10M\n"
		   "      --lock-wait SECONDS   how long to wait for another publisher (default 3600)\n"
		   "      --json                print a JSON summary on stdout\n"
		   "  -h, --help                this text\n");
}

enum { OPT_SIGN = 256, OPT_KEEP, OPT_ALLOW, OPT_RSYNC_OPT, OPT_LOCK_WAIT, OPT_JSON };

static int parse_count(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end || s[0] == '-' || v < 1 || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct publish_opts *o, const char ***rsync_opts)
{
	static const struct option opts[] = {
		{"mirror", required_argument, NULL, 'm'},    {"sign", required_argument, NULL, OPT_SIGN},
		{"keep", required_argument, NULL, OPT_KEEP}, {"allow-unvalidated", no_argument, NULL, OPT_ALLOW},
		{"rsync-opt", required_argument, NULL, OPT_RSYNC_OPT},
		{"lock-wait", required_argument, NULL, OPT_LOCK_WAIT},
		{"json", no_argument, NULL, OPT_JSON},       {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->dest = optarg; break;
		case OPT_SIGN: o->sign_key = optarg; break;
		case OPT_KEEP:
			if (parse_count(optarg, 100000, &o->keep) < 0)
				return error("--keep: '%s' is not a number of versions (1 or more)", optarg);
			break;
		case OPT_ALLOW: o->allow_unvalidated = 1; break;
		case OPT_RSYNC_OPT:
			*rsync_opts = xrealloc(*rsync_opts, (o->mirror.n_rsync_opts + 1) * sizeof **rsync_opts);
			(*rsync_opts)[o->mirror.n_rsync_opts++] = optarg;
			break;
		case OPT_LOCK_WAIT:
			if (parse_count(optarg, 7 * 86400, &o->mirror.lock_wait_s) < 0)
				return error("--lock-wait: '%s' is not a number of seconds", optarg);
			break;
		case OPT_JSON: o->json = 1; break;
		case 'h': usage(stdout); exit(0);
		default: return error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return error("expected one OUTDIR (see 'apkg publish --help')");
	if (!o->dest)
		return error("--mirror DEST is required (see 'apkg publish --help')");
	o->outdir = argv[optind];
	return 0;
}

int cmd_publish(int argc, char **argv)
{
	struct publish_opts o = {0};
	const char **rsync_opts = NULL;
	if (parse_args(argc, argv, &o, &rsync_opts) < 0) {
		free(rsync_opts);
		return EXIT_USAGE;
	}
	o.mirror.rsync_opts = rsync_opts;
	if (o.json)
		diag_set_quiet(1);
	int code = publish_release(&o);
	free(rsync_opts);
	return code;
}
