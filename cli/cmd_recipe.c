/* cli/cmd_recipe.c: `apkg recipe check RECIPE [--json]`.
 *
 * Validates a recipe (extends applied, defaults filled) and prints a short
 * summary, or with --json the fully resolved recipe as canonical JSON.
 * Exit 0 when valid; 2 with every problem as file:line:col otherwise.
 */
#include "cli/cli.h"

#include "builder/recipe.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: apkg recipe check RECIPE [--json]\n\n"
		   "Validates RECIPE (with its `extends` chain) and reports every problem as\n"
		   "file:line:col. On success prints a summary, or with --json the resolved\n"
		   "recipe (defaults filled in) as canonical JSON.\n"
		   "exit codes: 0 valid, 2 invalid recipe or bad usage\n");
}

static void print_list(const char *title, const struct string_list *l)
{
	printf("  %-9s", title);
	for (size_t i = 0; i < l->n; i++)
		printf("%s%s", i ? ", " : "", l->items[i]);
	printf("%s\n", l->n ? "" : "(none)");
}

static void print_summary(const struct recipe *r)
{
	printf("%s: valid recipe for %s %s\n", r->path, r->name, r->version);
	if (r->base.kind == BASE_DEBIAN)
		printf("  %-9sdebian %s (%s)\n", "base", r->base.suite, r->base.variant);
	else if (r->base.kind == BASE_BUSYBOX)
		printf("  %-9sbusybox\n", "base");
	else if (r->base.kind == BASE_OSTREE)
		printf("  %-9sostree %s %s (commit %.12s)\n", "base", r->base.ostree_repo, r->base.ostree_ref,
		       r->base.ostree_commit);
	else
		printf("  %-9starball %s\n", "base", r->base.tarball);
	printf("  %-9s%s\n", "kernel", r->kernel.package);
	print_list("packages", &r->packages);
	printf("  %-9s%zu file%s, %zu user%s\n", "content", r->n_files, r->n_files == 1 ? "" : "s", r->n_users,
	       r->n_users == 1 ? "" : "s");
	print_list("services", &r->services_enable);
	printf("  %-9s", "checks");
	for (size_t i = 0; i < r->n_checks; i++)
		printf("%s%s", i ? ", " : "", check_kind_name(r->checks[i].kind));
	printf("%s\n", r->n_checks ? "" : "(none)");
	print_list("outputs", &r->outputs);
	print_list("targets", &r->targets);
	printf("  %-9s", "waived");
	for (size_t i = 0; i < r->hygiene.n_waivers; i++)
		printf("%s%s", i ? ", " : "", r->hygiene.waivers[i].rule);
	printf("%s\n", r->hygiene.n_waivers ? "" : "(none)");
	printf("  %-9s%s\n", "hash", r->hash);
}

static int recipe_check(int argc, char **argv)
{
	const char *path = NULL;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			error("recipe check: unknown option '%s'", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		} else if (path) {
			error("recipe check: one recipe at a time ('%s' and '%s')", path, argv[i]);
			return EXIT_USAGE;
		} else {
			path = argv[i];
		}
	}
	if (!path) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct recipe *r = recipe_load(path);
	if (!r)
		return EXIT_USAGE;
	if (json) {
		struct strbuf sb = STRBUF_INIT;
		recipe_to_json(r, &sb);
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	} else {
		print_summary(r);
	}
	recipe_free(r);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
}

int cmd_recipe(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "check"))
		return recipe_check(argc - 1, argv + 1);
	error("recipe: unknown subcommand '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
