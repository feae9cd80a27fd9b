/* util/hwvirt.h: does this host have hardware virtualization that a stock kernel can use?
 *
 * On hosts whose /dev/kvm is kvm-pvm (software nested virtualization, no
 * VMX/SVM), a guest that runs a stock Linux kernel under KVM hangs or crawls
 * (shared/reference/boot.md): such guests must run under TCG instead. The
 * answer is yes when /sys/module/kvm_pvm is absent, /proc/cpuinfo has VMX or
 * SVM, the matching kvm_intel or kvm_amd module is loaded and /dev/kvm opens
 * read-write. Used by `apkg inspect` (libguestfs) and meant for the VMM too.
 */
#ifndef APKG_UTIL_HWVIRT_H
#define APKG_UTIL_HWVIRT_H

#include <stddef.h>

/* 1 if hardware virtualization is usable, else 0 with the reason in why. */
int hw_virt_available(char *why, size_t n);

#endif
