/* tests/fuzz/fuzz_dpkg_status.c: libFuzzer harness for what the SBOM reads
 * from an image root (publish/dpkg_status.c): dpkg's status file and the
 * version string inside a busybox binary; both may come from a user's
 * tarball.
 *
 * Any input must parse without reading out of bounds; every package kept
 * has a name, version and architecture in Debian's character sets, sorted
 * and unique.
 */
#include "publish/dpkg_status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpkg_packages p;
	dpkg_status_parse((const char *)data, size, &p);
	for (size_t i = 0; i < p.n; i++) {
		if (!p.v[i].name[0] || !p.v[i].version[0] || !p.v[i].arch[0] || strchr(p.v[i].version, ' '))
			abort();
		if (i && strcmp(p.v[i - 1].name, p.v[i].name) > 0)
			abort();
	}
	dpkg_packages_free(&p);
	char *up, *deb;
	if (busybox_version((const char *)data, size, &up, &deb) == 0) {
		if (!up || up[0] < '0' || up[0] > '9')
			abort();
		free(up);
		free(deb);
	}
	return 0;
}
