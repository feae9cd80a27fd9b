/* tests/tools/hygiene_tool.c: runs the hygiene rules on a directory or a tar archive, for shell tests.
 *
 *   hygiene_tool tree ROOTDIR [RECIPE]   scan a root directory (under RECIPE's waivers)
 *   hygiene_tool tar FILE|- [RECIPE]     scan a tar archive (or stdin)
 * Prints the JSON report on stdout and the messages on stderr. Exit 0 when
 * no unwaived error remains, 1 when one does, 2 on bad usage or input.
 */
#include "builder/hygiene.h"
#include "builder/recipe.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	diag_set_program("hygiene_tool");
	if (argc < 3 || argc > 4 || (strcmp(argv[1], "tree") && strcmp(argv[1], "tar"))) {
		fprintf(stderr, "usage: hygiene_tool tree ROOTDIR [RECIPE] | tar FILE|- [RECIPE]\n");
		return 2;
	}
	struct recipe *r = argc == 4 ? recipe_load(argv[3]) : NULL;
	if (argc == 4 && !r)
		return 2;
	struct hygiene_policy p = {0};
	if (r)
		hygiene_policy_from_recipe(r, &p);
	struct hygiene_scan *s = hygiene_scan_new(&p);
	int rc;
	if (!strcmp(argv[1], "tree")) {
		rc = hygiene_scan_tree(s, argv[2]);
	} else {
		int fd = strcmp(argv[2], "-") ? open(argv[2], O_RDONLY | O_CLOEXEC) : 0;
		rc = fd < 0 ? error_errno("cannot open %s", argv[2]) : hygiene_scan_tar_fd(s, fd);
		if (fd > 0)
			close(fd);
	}
	struct hygiene_report rep;
	hygiene_scan_finish(s, &rep);
	hygiene_scan_free(s);
	struct strbuf out = STRBUF_INIT;
	hygiene_report_print(&rep, r);
	hygiene_report_json(&rep, &p, &out, 0);
	puts(out.buf);
	int code = rc < 0 ? 2 : rep.errors ? 1 : 0;
	strbuf_release(&out);
	hygiene_report_release(&rep);
	hygiene_policy_release(&p);
	recipe_free(r);
	return code;
}
