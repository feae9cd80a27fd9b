/* tests/tools/repro_tool.c: drives the --verify-repro comparisons from shell tests.
 *
 *   repro_tool outputs DIR_A DIR_B     the report repro_compare_outputs() gives
 *   repro_tool trees ROOT_A ROOT_B     the report repro_compare_trees() gives
 *   repro_tool disk RAW OFFSET         what disk_describe() says of one byte
 *   repro_tool fat IMAGE OFFSET        what fat_describe() says of one byte
 *   repro_tool ext4 IMAGE OFFSET       what ext4_describe() says of one byte
 *   repro_tool container FORMAT FILE OFFSET
 * Prints the text on stdout; exits 0 when equal (outputs, trees) or described,
 * 1 when different, 2 on usage errors.
 */
#include "repro/compare.h"
#include "repro/container_map.h"
#include "repro/disk_map.h"
#include "repro/ext4_map.h"
#include "repro/fat_map.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct strbuf out = STRBUF_INIT;
	int rc = 2;
	if (argc == 4 && !strcmp(argv[1], "outputs")) {
		char tmp[] = "/tmp/repro-tool.XXXXXX";
		size_t n = 0;
		if (!mkdtemp(tmp))
			return 2;
		int d = repro_compare_outputs(argv[2], argv[3], tmp, &out, &n);
		rm_rf(tmp);
		rc = d < 0 ? 2 : d > 0;
	} else if (argc == 4 && !strcmp(argv[1], "trees")) {
		int d = repro_compare_trees(argv[2], argv[3], 50, &out);
		rc = d < 0 ? 2 : d > 0;
	} else if (argc == 4 && !strcmp(argv[1], "disk")) {
		char tmp[] = "/tmp/repro-tool.XXXXXX";
		if (!mkdtemp(tmp))
			return 2;
		rc = disk_describe(argv[2], strtoull(argv[3], NULL, 0), tmp, &out) < 0;
		rm_rf(tmp);
	} else if (argc == 4 && !strcmp(argv[1], "fat")) {
		struct strbuf img = STRBUF_INIT;
		if (read_file(argv[2], &img, 1u << 30) < 0)
			return 2;
		rc = fat_describe((const uint8_t *)img.buf, img.len, strtoull(argv[3], NULL, 0), &out) < 0;
		strbuf_release(&img);
	} else if (argc == 4 && !strcmp(argv[1], "ext4")) {
		rc = ext4_describe(argv[2], strtoull(argv[3], NULL, 0), &out) < 0;
	} else if (argc == 5 && !strcmp(argv[1], "container")) {
		rc = image_container_describe(argv[2], argv[3], strtoull(argv[4], NULL, 0), &out) < 0;
	} else {
		fprintf(stderr, "usage: repro_tool outputs|trees A B | disk|fat|ext4 FILE OFFSET | container FORMAT FILE OFFSET\n");
		return 2;
	}
	fputs(out.buf, stdout);
	if (out.len && out.buf[out.len - 1] != '\n')
		putchar('\n');
	strbuf_release(&out);
	return rc;
}
