/* tests/tools/initramfs_tool.c: drives kernel/ and initramfs/ from the integration tests.
 *
 * Not part of apkg's CLI: it lets tests/integration/initramfs_boot.sh fetch a kernel, build an
 * initramfs and ask driver questions through the same library calls `apkg build` makes.
 *   initramfs_tool fetch PACKAGE CACHE_DIR            prints release=, vmlinuz=, modules_dir=
 *                                                     (CACHE_DIR "": the default cache)
 *   initramfs_tool build ROOT RELEASE INIT OUT EPOCH [MODULE...]   prints one "module NAME" per line
 *   initramfs_tool driver ROOT RELEASE NAME           prints missing, builtin or module
 */
#include "initramfs/initramfs.h"
#include "kernel/kernel.h"
#include "util/diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: initramfs_tool fetch PACKAGE CACHE_DIR\n"
			"       initramfs_tool build ROOT RELEASE INIT OUT EPOCH [MODULE...]\n"
			"       initramfs_tool driver ROOT RELEASE NAME\n");
	return EXIT_USAGE;
}

static int cmd_fetch(char **argv)
{
	struct kernel k;
	if (kernel_fetch(argv[0], argv[1][0] ? argv[1] : NULL, &k) < 0)
		return EXIT_FAILED;
	printf("release=%s\nvmlinuz=%s\nmodules_dir=%s\nconfig=%s\n", k.release, k.vmlinuz, k.modules_dir,
	       k.config ? k.config : "");
	kernel_release(&k);
	return EXIT_OK;
}

static int cmd_build(int argc, char **argv)
{
	struct kernel k;
	if (kernel_describe(argv[0], argv[1], &k) < 0)
		return EXIT_FAILED;
	struct initramfs_opts o = {
		.kernel = &k,
		.extra_modules = (const char *const *)argv + 5,
		.n_extra = (size_t)argc - 5,
		.init_binary = argv[2],
		.epoch = strtoull(argv[4], NULL, 10),
	};
	char **names;
	size_t n;
	int r = initramfs_build(&o, argv[3]) < 0 || initramfs_module_names(&o, &names, &n) < 0 ? EXIT_FAILED : EXIT_OK;
	if (r == EXIT_OK) {
		for (size_t i = 0; i < n; i++)
			printf("module %s\n", names[i]);
		kernel_free_list(names, n);
	}
	kernel_release(&k);
	return r;
}

static int cmd_driver(char **argv)
{
	struct kernel k;
	if (kernel_describe(argv[0], argv[1], &k) < 0)
		return EXIT_FAILED;
	static const char *const states[] = { "missing", "builtin", "module" };
	printf("%s\n", states[kernel_driver_state(&k, argv[2])]);
	kernel_release(&k);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	diag_set_program("initramfs_tool");
	if (argc == 4 && !strcmp(argv[1], "fetch"))
		return cmd_fetch(argv + 2);
	if (argc >= 7 && !strcmp(argv[1], "build"))
		return cmd_build(argc - 2, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "driver"))
		return cmd_driver(argv + 2);
	return usage();
}
