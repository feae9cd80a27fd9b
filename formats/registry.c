/* formats/registry.c: the table of image formats. Adding a format is one line here. */
#include "formats/writer.h"

#include <string.h>

extern const struct image_format image_format_raw;
extern const struct image_format image_format_qcow2;
extern const struct image_format image_format_vmdk;
extern const struct image_format image_format_vhdx;
extern const struct image_format image_format_vdi;
extern const struct image_format image_format_ova;

static const struct image_format *const all_formats[] = {
	&image_format_raw,
	&image_format_qcow2,
	&image_format_vmdk,
	&image_format_vhdx,
	&image_format_vdi,
	&image_format_ova,
};

#define N_FORMATS (sizeof all_formats / sizeof all_formats[0])

const struct image_format *image_format_find(const char *name)
{
	for (size_t i = 0; i < N_FORMATS; i++)
		if (!strcmp(all_formats[i]->name, name))
			return all_formats[i];
	return NULL;
}

const char *image_format_names(void)
{
	static char names[256];
	if (!names[0])
		for (size_t i = 0; i < N_FORMATS; i++) {
			if (i)
				strcat(names, ", ");
			strcat(names, all_formats[i]->name);
		}
	return names;
}
