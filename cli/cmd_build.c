/* cli/cmd_build.c: `apkg build RECIPE [-o OUTDIR] [--format LIST] [--no-test] [--json] [-j N]`. */
#include "cli/cli.h"

#include "builder/build.h"
#include "builder/recipe.h"
#include "repro/repro.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/progress.h"
#include "util/strbuf.h"
#include "validate/validate.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: apkg build RECIPE [-o OUTDIR] [--format LIST] [--no-test] [--json] [-j N] [--cache DIR] [--no-cache]\n"
	"                  [--verify-repro]\n"
	"\n"
	"Builds the appliance RECIPE describes into OUTDIR (default out/<name>-<version>/):\n"
	"<name>-<version>.<fmt> per format, vmlinuz, initrd.img, manifest.json, SHA256SUMS.\n"
	"The directory appears complete or not at all. Then boot-tests it on the recipe's\n"
	"targets (see 'apkg test --help') unless --no-test.\n"
	"\n"
	"  -o, --output DIR    output directory\n"
	"  -f, --format LIST   comma-separated formats, overriding the recipe's outputs\n"
	"      --no-test       skip the boot validation\n"
	"      --json          print the result as JSON on stdout (no progress bars)\n"
	"  -j, --jobs N        parallel workers for compression and boot tests (default: cores)\n"
	"      --cache DIR     cache directory (default ~/.cache/apkg): downloaded kernels and the\n"
	"                      stage cache (DIR/ostree), which skips the base and customisation\n"
	"                      stages when none of their inputs changed (see 'apkg cache')\n"
	"      --no-cache      build every stage; neither read nor write the stage cache\n"
	"      --verify-repro  build a second time (stage cache off, another number of compression\n"
	"                      threads) and compare every artifact and the root trees; on a\n"
	"                      difference, name the first differing structure and exit 1\n";

static void split_list(const char *s, char ***items, size_t *n)
{
	char *copy = xstrdup(s), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		*items = xrealloc(*items, (*n + 1) * sizeof **items);
		(*items)[(*n)++] = xstrdup(t);
	}
	free(copy);
}

/* With --json, stdout carries one JSON document only, so the per-target
 * lines of the boot tests go to stderr for the duration. */
static int run_validation(const char *outdir, const struct validate_opts *vo, int json)
{
	int saved = -1;
	if (json) {
		fflush(stdout);
		saved = dup(STDOUT_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
	}
	int rc = validate_outdir(outdir, vo);
	if (saved >= 0) {
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	return rc;
}

/* {"outdir", "seconds", "stages", "exit", "manifest": <manifest.json>} */
static void print_json_result(const struct build_result *res, int exit_code)
{
	struct strbuf out = STRBUF_INIT, manifest = STRBUF_INIT;
	char *mpath = path_join(res->outdir, "manifest.json");
	if (read_file(mpath, &manifest, 64 << 20) < 0)
		strbuf_adds(&manifest, "null");
	strbuf_adds(&out, "{\"outdir\": ");
	strbuf_add_json_str(&out, res->outdir);
	strbuf_addf(&out, ", \"seconds\": %.2f, \"stages\": {%s}, \"cache\": {%s}, \"exit\": %d, \"manifest\": %s}\n",
		    res->seconds, res->stage_times->buf, res->cache ? res->cache : "", exit_code, manifest.buf);
	fputs(out.buf, stdout);
	free(mpath);
	strbuf_release(&out);
	strbuf_release(&manifest);
}

int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
		{"no-test", no_argument, NULL, 'T'},      {"json", no_argument, NULL, 'J'},
		{"jobs", required_argument, NULL, 'j'},   {"cache", required_argument, NULL, 'C'},
		{"no-cache", no_argument, NULL, 'N'},     {"verify-repro", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct build_opts bo = {0};
	int no_test = 0, verify = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:f:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': bo.outdir = optarg; break;
		case 'f': split_list(optarg, &bo.formats, &bo.n_formats); break;
		case 'T': no_test = 1; break;
		case 'J': bo.json = 1; break;
		case 'j': bo.threads = atoi(optarg); break;
		case 'C': bo.cache_dir = optarg; break;
		case 'N': bo.no_cache = 1; break;
		case 'R': verify = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (bo.json) {
		progress_set_enabled(0);
		diag_set_quiet(1);
	}
	struct recipe *r = recipe_load(argv[optind]);
	if (!r)
		return EXIT_USAGE;
	struct build_result res;
	struct strbuf report = STRBUF_INIT;
	int rc = verify ? repro_verify_build(r, &bo, &res, &report) : appliance_build(r, &bo, &res);
	int exit_code = EXIT_OK;
	if (report.len)
		fputs(report.buf, bo.json ? stderr : stdout);
	strbuf_release(&report);
	if (rc < 0 && verify && res.outdir)
		build_result_release(&res);
	if (rc < 0) {
		exit_code = EXIT_FAILED;
	} else {
		info("built %s in %.1f s", res.outdir, res.seconds);
		if (rc == 1)
			exit_code = EXIT_FAILED;
		if (!no_test && exit_code == EXIT_OK) {
			struct validate_opts vo = {.jobs = bo.threads};
			exit_code = run_validation(res.outdir, &vo, bo.json);
		}
		if (bo.json)
			print_json_result(&res, exit_code);
		build_result_release(&res);
	}
	for (size_t i = 0; i < bo.n_formats; i++)
		free(bo.formats[i]);
	free(bo.formats);
	recipe_free(r);
	return exit_code;
}
