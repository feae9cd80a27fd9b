/* cli/cmd_test.c: `apkg test RECIPE|OUTDIR`: boot-validate built artifacts
 * on their targets (validate/validate.h does the work). A recipe stands for
 * its default output directory, out/<name>-<version>. */
#include "cli/cli.h"

#include "builder/build.h"
#include "builder/recipe.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/progress.h"
#include "util/strbuf.h"
#include "validate/targets.h"
#include "validate/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: apkg test RECIPE|OUTDIR [--target LIST] [--junit FILE] [--json] [-j N] [--deadline S] [--strict]\n"
		"                              [--require-kvm]\n"
		"\n"
		"Boots each artifact in OUTDIR (what 'apkg build' wrote; for a RECIPE, its default\n"
		"output directory out/<name>-<version>) on each target under QEMU (the vmm target:\n"
		"apkg's own micro-VMM, where hardware virtualization exists), runs the recipe's\n"
		"checks inside the guest and reports pass, fail or skip.\n"
		"\n"
		"  --target LIST   comma-separated targets (default: the recipe's targets)\n"
		"  --junit FILE    write JUnit XML (one testcase per artifact x target x check)\n"
		"  --json          print the results as JSON on stdout\n"
		"  -j N            boots in parallel (default: the number of CPUs)\n"
		"  --deadline S    seconds each boot may take (default: the recipe's check_deadline)\n"
		"  --strict        a skipped target counts as a failure\n"
		"  --require-kvm   the vmm target fails (not skips) without hardware virtualization\n"
		"\n"
		"targets: %s\n"
		"exit codes: 0 all passed or skipped, 1 something failed, 2 usage error, 3 QEMU or OVMF missing\n",
		target_names());
}

static int positive(const char *opt, const char *val, int *out)
{
	char *end;
	long v = val ? strtol(val, &end, 10) : 0;
	if (!val || *end || v < 1 || v > 86400) {
		error("%s needs a positive number", opt);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct validate_opts *o, const char **where)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--target") && val)
			o->targets = argv[++i];
		else if (!strcmp(a, "--junit") && val)
			o->junit_path = argv[++i];
		else if (!strcmp(a, "--json"))
			o->json = 1;
		else if (!strcmp(a, "--strict"))
			o->strict = 1;
		else if (!strcmp(a, "--require-kvm"))
			o->require_kvm = 1;
		else if (!strcmp(a, "-j") || !strcmp(a, "--deadline")) {
			if (positive(a, val, a[1] == 'j' ? &o->jobs : &o->deadline_s) < 0)
				return -1;
			i++;
		} else if (!strncmp(a, "-j", 2) && a[2]) {
			if (positive("-j", a + 2, &o->jobs) < 0)
				return -1;
		} else if (a[0] == '-' || *where) {
			error("unexpected argument '%s'", a);
			return -1;
		} else {
			*where = a;
		}
	}
	if (!*where)
		return error("which appliance? (apkg test RECIPE|OUTDIR)");
	return 0;
}

/* OUTDIR as given, or a recipe's default output directory. */
static char *output_dir(const char *where)
{
	if (is_dir(where))
		return xstrdup(where);
	if (!path_exists(where)) {
		error("%s: no such recipe or output directory", where);
		return NULL;
	}
	struct recipe *r = recipe_load(where);
	if (!r)
		return NULL;
	char *dir = default_outdir(r);
	if (!is_dir(dir)) {
		error("%s has not been built: no %s (run 'apkg build %s', or give the output directory)", where, dir,
		      where);
		free(dir);
		dir = NULL;
	}
	recipe_free(r);
	return dir;
}

int cmd_test(int argc, char **argv)
{
	struct validate_opts o = {0};
	const char *where = NULL;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		}
	if (parse_args(argc, argv, &o, &where) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	char *outdir = output_dir(where);
	if (!outdir)
		return EXIT_USAGE;
	if (o.json) {
		progress_set_enabled(0);
		diag_set_quiet(1);
	}
	int rc = validate_outdir(outdir, &o);
	free(outdir);
	return rc;
}
