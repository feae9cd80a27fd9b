/* util/hwvirt.c: hardware virtualization detection (see hwvirt.h and shared/reference/boot.md). */
#include "util/hwvirt.h"

#include "util/io.h"

#include <fcntl.h>
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
			if (p > line && p[-1] == ' ' && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
				found = 1;
		break;
	}
	fclose(f);
	return found;
}

int hw_virt_available(char *why, size_t n)
{
	if (path_exists("/sys/module/kvm_pvm")) {
		snprintf(why, n, "/dev/kvm is kvm-pvm (software virtualization, no VMX/SVM)");
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
		snprintf(why, n, "%s is not loaded", module);
		return 0;
	}
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, n, "/dev/kvm cannot be opened read-write");
		return 0;
	}
	close(fd);
	snprintf(why, n, "%s with %s", vmx ? "VMX" : "SVM", module);
	return 1;
}
