/* cli/main.c: `apkg <command> [options]`: dispatch, global help and version. */
#include "cli/cli.h"

#include "util/diag.h"
#include "util/io.h"

#include <stdio.h>
#include <string.h>

#ifndef APKG_VERSION
#define APKG_VERSION "0.0.0"
#endif

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* Commands that a later issue implements stay answerable: their real
 * definition in cli/cmd_<name>.c replaces these weak ones. */
#define LATER(name)                                                             \
	__attribute__((weak)) int cmd_##name(int argc, char **argv)            \
	{                                                                      \
		(void)argc;                                                    \
		(void)argv;                                                    \
		return cli_not_implemented(#name);                             \
	}
LATER(build)
LATER(test)
LATER(boot)
LATER(convert)
LATER(inspect)
LATER(publish)
LATER(recipe)
LATER(cache)

int cli_not_implemented(const char *command)
{
	error("'apkg %s' is not implemented yet", command);
	return EXIT_USAGE;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("apkg %s\n", APKG_VERSION);
	return 0;
}

static const struct command commands[] = {
	{"build", cmd_build, "build an appliance from a recipe (and boot-test it)"},
	{"test", cmd_test, "boot-validate built artifacts on their targets"},
	{"boot", cmd_boot, "boot an image with an interactive serial console"},
	{"convert", cmd_convert, "convert a disk image between formats"},
	{"lint", cmd_lint, "check an OVA the way ESXi, Workstation and VirtualBox import it"},
	{"inspect", cmd_inspect, "show what is inside an image"},
	{"publish", cmd_publish, "publish built appliances to a download mirror"},
	{"verify", cmd_verify, "check a published appliance's signature and checksums"},
	{"recipe", cmd_recipe, "recipe tools: 'apkg recipe check RECIPE [--json]'"},
	{"cache", cmd_cache, "manage the build cache: ls | gc | clear"},
	{"version", cmd_version, "print the version"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: apkg <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'apkg <command> --help' describes a command.\n"
		   "exit codes: 0 success, 1 build or validation failed, 2 usage or recipe error,\n"
		   "            3 a required host tool or device is missing\n");
}

int main(int argc, char **argv)
{
	diag_set_program("apkg");
	cleanup_install_signal_handlers();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	error("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
