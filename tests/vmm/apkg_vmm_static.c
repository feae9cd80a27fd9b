/* tests/vmm/apkg_vmm_static.c: `apkg boot` alone, as one static binary, for machines
 * without apkg's build dependencies (the lent device machine of tests/vmm/device_check.sh).
 *
 * It is exactly cli/cmd_boot.c (the same options and exit status) linked
 * statically with the VMM, the image readers and the compression libraries
 * the qcow2 reader uses: `apkg-vmm --vmm IMAGE` == `apkg boot --vmm IMAGE`.
 */
#include "cli/cli.h"
#include "util/diag.h"
#include "util/io.h"

int main(int argc, char **argv)
{
	diag_set_program("apkg-vmm");
	cleanup_install_signal_handlers();
	return cmd_boot(argc, argv);
}
