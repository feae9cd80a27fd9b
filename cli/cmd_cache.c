/* cli/cmd_cache.c: `apkg cache ls|gc|clear [--cache DIR]`: the build cache.
 *
 * The cache holds the stage cache (DIR/ostree, see builder/stage_cache.h)
 * and the downloaded and unpacked kernels (DIR/debs, DIR/kernels). `clear`
 * removes exactly those, never DIR itself or anything else in it.
 */
#include "cli/cli.h"

#include "builder/stage_cache.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_S (24 * 3600)

static const char usage_text[] =
	"usage: apkg cache ls [--json] [--cache DIR]\n"
	"       apkg cache gc [--max-age DAYS] [--cache DIR]\n"
	"       apkg cache clear [--cache DIR]\n"
	"\n"
	"The stage cache keeps the root trees of the base and customisation stages, keyed by\n"
	"a hash of every input of the stage, in an OSTree repository (DIR/ostree).\n"
	"\n"
	"  ls            list the entries (stage, key, when made and last used, what) and the size\n"
	"  gc            drop the entries not used for DAYS days (default 14; 0 drops all) and\n"
	"                delete the objects no entry needs any more\n"
	"  clear         remove the stage cache and the downloaded kernels\n"
	"  --cache DIR   the cache directory (default ~/.cache/apkg, as 'apkg build --cache')\n"
	"  --json        ls: one JSON document on stdout\n";

static void format_time(uint64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

static void format_bytes(uint64_t n, char *buf, size_t size)
{
	if (n >= (1ull << 30))
		snprintf(buf, size, "%.1f GiB", (double)n / (1ull << 30));
	else
		snprintf(buf, size, "%.1f MiB", (double)n / (1ull << 20));
}

/* NULL (and a line on stdout) when there is no cache yet; NULL with
 * *failed set (and an error) when there is one that cannot be opened. */
static struct stage_cache *open_existing(const char *dir_opt, int quiet, int *failed)
{
	*failed = 0;
	char *dir = stage_cache_dir(dir_opt), *repo = path_join(dir, "ostree"), *why = NULL;
	struct stage_cache *sc = NULL;
	if (!path_exists(repo)) {
		if (!quiet)
			printf("no stage cache in %s\n", dir);
	} else if (!(sc = stage_cache_open(dir, &why))) {
		error("cannot open the stage cache in %s: %s", dir, why);
		*failed = 1;
	}
	free(why);
	free(repo);
	free(dir);
	return sc;
}

static void print_json(struct stage_cache *sc, const char *dir_opt, const struct stage_entry *v, size_t n)
{
	struct strbuf j = STRBUF_INIT;
	char *dir = stage_cache_dir(dir_opt);
	strbuf_adds(&j, "{\"dir\": ");
	strbuf_add_json_str(&j, dir);
	strbuf_addf(&j, ", \"bytes\": %llu, \"entries\": [", (unsigned long long)(sc ? stage_cache_size(sc) : 0));
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(&j, "%s{\"stage\": ", i ? ", " : "");
		strbuf_add_json_str(&j, v[i].stage);
		strbuf_adds(&j, ", \"key\": ");
		strbuf_add_json_str(&j, v[i].key);
		strbuf_adds(&j, ", \"commit\": ");
		strbuf_add_json_str(&j, v[i].commit);
		strbuf_adds(&j, ", \"subject\": ");
		strbuf_add_json_str(&j, v[i].subject);
		strbuf_adds(&j, ", \"apkg\": ");
		strbuf_add_json_str(&j, v[i].apkg ? v[i].apkg : "");
		strbuf_addf(&j, ", \"created\": %llu, \"last_used\": %llu}", (unsigned long long)v[i].created,
			    (unsigned long long)v[i].last_used);
	}
	strbuf_adds(&j, "]}\n");
	fputs(j.buf, stdout);
	strbuf_release(&j);
	free(dir);
}

static int cache_ls(const char *dir, int json)
{
	int failed;
	struct stage_cache *sc = open_existing(dir, json, &failed);
	struct stage_entry *v = NULL;
	size_t n = 0;
	if (failed)
		return EXIT_FAILED;
	if (sc && stage_cache_list(sc, &v, &n) < 0) {
		stage_cache_close(sc);
		return EXIT_FAILED;
	}
	if (json) {
		print_json(sc, dir, v, n);
	} else if (sc) {
		printf("%-10s %-12s  %-16s  %-16s  %s\n", "STAGE", "KEY", "LAST USED", "CREATED", "WHAT");
		for (size_t i = 0; i < n; i++) {
			char used[32], made[32];
			format_time(v[i].last_used, used, sizeof used);
			format_time(v[i].created, made, sizeof made);
			printf("%-10s %.12s  %-16s  %-16s  %s\n", v[i].stage, v[i].key, used, made, v[i].subject);
		}
		char size[32];
		format_bytes(stage_cache_size(sc), size, sizeof size);
		printf("%zu entr%s, %s\n", n, n == 1 ? "y" : "ies", size);
	}
	stage_entries_free(v, n);
	stage_cache_close(sc);
	return EXIT_OK;
}

static int cache_gc(const char *dir, long max_age_days)
{
	int failed;
	struct stage_cache *sc = open_existing(dir, 0, &failed);
	if (!sc)
		return failed ? EXIT_FAILED : EXIT_OK;
	struct stage_entry *v = NULL;
	size_t n = 0, dropped = 0;
	uint64_t objects = 0, bytes = 0, now = (uint64_t)time(NULL);
	int rc = stage_cache_list(sc, &v, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (v[i].last_used + (uint64_t)max_age_days * DAY_S > now && max_age_days > 0)
			continue;
		rc = stage_cache_drop(sc, &v[i]);
		dropped++;
	}
	if (rc == 0)
		rc = stage_cache_prune(sc, &objects, &bytes);
	if (rc == 0) {
		char size[32];
		format_bytes(bytes, size, sizeof size);
		printf("dropped %zu of %zu entries; deleted %llu objects (%s)\n", dropped, n, (unsigned long long)objects,
		       size);
	}
	stage_entries_free(v, n);
	stage_cache_close(sc);
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}

static int cache_clear(const char *dir_opt)
{
	static const char *const parts[] = {"ostree", "stage-used", "debs", "kernels"};
	char *dir = stage_cache_dir(dir_opt);
	int rc = 0;
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
		char *p = path_join(dir, parts[i]);
		rc |= rm_rf(p);
		free(p);
	}
	if (rc == 0)
		printf("cleared the cache in %s\n", dir);
	free(dir);
	return rc ? EXIT_FAILED : EXIT_OK;
}

int cmd_cache(int argc, char **argv)
{
	static const struct option opts[] = {
		{"cache", required_argument, NULL, 'C'}, {"max-age", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'J'},        {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	long max_age = 14;
	int json = 0, c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'a':
			max_age = strtol(optarg, &end, 10);
			if (*end || max_age < 0 || end == optarg) {
				error("--max-age: '%s' is not a number of days", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'J': json = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	const char *sub = optind == argc - 1 ? argv[optind] : "";
	if (!strcmp(sub, "ls"))
		return cache_ls(dir, json);
	if (!strcmp(sub, "gc"))
		return cache_gc(dir, max_age);
	if (!strcmp(sub, "clear"))
		return cache_clear(dir);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}
