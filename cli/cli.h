/* cli/cli.h: the subcommands of `apkg`, one file each under cli/.
 *
 * Each returns the process exit code (see util/diag.h: 0 ok, 1 failed,
 * 2 usage/recipe error, 3 missing tool). Each accepts --help.
 */
#ifndef APKG_CLI_H
#define APKG_CLI_H

int cmd_build(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_boot(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_recipe(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_lint(int argc, char **argv);

/* For commands that a later issue implements. */
int cli_not_implemented(const char *command);

#endif
