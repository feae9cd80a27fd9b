/* tests/tools/sbom_tool.c: writes the SBOM of an image root, as `apkg build` does.
 *
 *   sbom_tool RECIPE ROOTDIR OUT [--kernel-package P] [--kernel-version V] [--kernel-release R]
 *
 * Lets the publish tests make output directories in the exact layout of a
 * build, and lets the SBOM be checked against real root filesystems.
 */
#include "builder/recipe.h"
#include "publish/sbom.h"
#include "util/diag.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	diag_set_program("sbom_tool");
	if (argc < 4) {
		fprintf(stderr, "usage: sbom_tool RECIPE ROOTDIR OUT [--kernel-package P] [--kernel-version V] "
				"[--kernel-release R]\n");
		return 2;
	}
	struct sbom_kernel k = {0};
	for (int i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--kernel-package"))
			k.package = argv[i + 1];
		else if (!strcmp(argv[i], "--kernel-version"))
			k.version = argv[i + 1];
		else if (!strcmp(argv[i], "--kernel-release"))
			k.release = argv[i + 1];
		else
			return error("unknown option %s", argv[i]) ? 2 : 2;
	}
	struct recipe *r = recipe_load(argv[1]);
	if (!r)
		return 2;
	int ret = sbom_write_spdx(argv[2], r, &k, argv[3]);
	recipe_free(r);
	return ret < 0 ? 1 : 0;
}
