/* builder/probe_install.h: puts apkg's boot-check probe into an image root.
 *
 * `apkg build` calls probe_install() once the root filesystem is assembled.
 * It installs the static /usr/lib/apkg/apkg-probe, the recipe's checks as
 * /usr/lib/apkg/checks (format: validate/probe/checkfile.h), the resolved
 * recipe and its hash as /usr/lib/apkg/recipe.json (mode 0600: it may hold
 * password hashes; `apkg inspect` reports it), and on systemd
 * bases the apkg-probe.service unit, enabled for multi-user.target. The unit
 * runs only when the boot asked for checks (/run/apkg/check, or apkg.check=1
 * on the kernel command line), so a normal boot never runs the probe; busybox
 * bases run it from rcS under the same condition. Nothing is written through
 * a symbolic link: a root whose usr/ or etc/ path is a link is refused, so a
 * hostile base cannot make apkg write outside the image.
 */
#ifndef APKG_BUILDER_PROBE_INSTALL_H
#define APKG_BUILDER_PROBE_INSTALL_H

#include <stdint.h>

struct recipe;
struct strbuf;

#define PROBE_INSTALL_PATH "/usr/lib/apkg/apkg-probe"
#define PROBE_UNIT_NAME "apkg-probe.service"
#define PROBE_CHECKS_PATH "/usr/lib/apkg/checks"
#define RECIPE_RECORD_PATH "/usr/lib/apkg/recipe.json"

/* Returns 0, or -1 after printing why. */
int probe_install(const struct recipe *r, const char *rootdir, int systemd);
/* The checks file text for r (malloc'd), or NULL after printing why. */
char *probe_checks_text(const struct recipe *r);
/* Appends a JSON array of the names the checks are reported under
 * ("tcp 80", ...), for manifest.json's "checks". */
void probe_check_names_json(const struct recipe *r, struct strbuf *out);

#endif
