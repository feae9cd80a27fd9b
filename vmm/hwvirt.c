/* vmm/hwvirt.c: is /dev/kvm backed by hardware virtualization? (see shared/reference/boot.md)
 *
 * kvm-pvm, the software KVM of our CI machines, runs tiny guests but not a
 * stock kernel in useful time; /sys/module/kvm_pvm is its reliable sign
 * (it exposes no CPUID leaf of its own). Hardware means VMX or SVM in
 * /proc/cpuinfo and the matching kvm_intel or kvm_amd module loaded.
 */
#include "vmm/vmm.h"

#include "util/io.h"
#include "util/strbuf.h"
#include "vmm/kvm.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* True if the first "flags" line of /proc/cpuinfo has the word. */
static int cpu_has_flag(const char *word)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 0;
	char line[8192];
	int found = 0;
	size_t wl = strlen(word);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (char *p = strstr(line, word); p; p = strstr(p + 1, word))
			if (p[-1] == ' ' && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
				found = 1;
		break;
	}
	fclose(f);
	return found;
}

int vmm_kvm_available(char *why, size_t n)
{
	struct kvm_vm vm;
	if (kvm_open(&vm, why, n) < 0)
		return 0;
	kvm_close(&vm);
	snprintf(why, n, "/dev/kvm is usable");
	return 1;
}

int vmm_hw_virt_available(char *why, size_t n)
{
	if (path_exists("/sys/module/kvm_pvm")) {
		snprintf(why, n, "/dev/kvm is kvm-pvm (software virtualization, no VMX/SVM): "
				 "a stock kernel does not boot in useful time");
		return 0;
	}
	int vmx = cpu_has_flag("vmx"), svm = cpu_has_flag("svm");
	if (!vmx && !svm) {
		snprintf(why, n, "no VMX or SVM in /proc/cpuinfo");
		return 0;
	}
	const char *module = vmx ? "kvm_intel" : "kvm_amd";
	char path[64];
	snprintf(path, sizeof path, "/sys/module/%s", module);
	if (!path_exists(path)) {
		snprintf(why, n, "%s is not loaded (modprobe %s)", module, module);
		return 0;
	}
	if (!vmm_kvm_available(why, n))
		return 0;
	snprintf(why, n, "%s with %s", vmx ? "VMX" : "SVM", module);
	return 1;
}
