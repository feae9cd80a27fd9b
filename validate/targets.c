/* validate/targets.c: the target table and the QEMU command line for each.
 *
 * Every machine is `-accel tcg` (KVM here is software-emulated and hangs a
 * stock kernel: shared/reference/boot.md), `-nodefaults` (only the devices
 * listed), the console on the serial port read through stdout, `-no-reboot`
 * (a reboot ends the run), the disk with snapshot=on (the artifact is never
 * written) and user-mode networking restricted to the guest. The check flag
 * goes in as the fw_cfg file opt/org.apkg/cmdline: firmware-provided data
 * that apkg's initramfs reads, so the image's boot entries stay untouched.
 */
#include "validate/targets.h"

#include "util/strbuf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VIRTUAL_APPLIANCE {"ova", "vmdk", "raw", "qcow2"}
#define AHCI_DRIVERS {"ahci", "sd_mod"}
#define PVSCSI_DRIVERS {"vmw_pvscsi", "sd_mod"}

static const struct target targets[] = {
	{"qemu-bios", "QEMU/KVM with SeaBIOS, virtio disk", 0, "pc", DISK_VIRTIO, NULL, NULL, {"qcow2", "raw"},
	 {"virtio_blk", "virtio_pci"}, NULL, NULL},
	{"qemu-uefi", "QEMU/KVM with OVMF (UEFI), virtio disk", 1, "q35", DISK_VIRTIO, NULL, NULL, {"qcow2", "raw"},
	 {"virtio_blk", "virtio_pci"}, NULL, NULL},
	{"virtualbox", "VirtualBox: BIOS, AHCI SATA disk, e1000 NIC", 0, "pc", DISK_AHCI, "e1000",
	 "type=1,manufacturer=innotek GmbH,product=VirtualBox", VIRTUAL_APPLIANCE, AHCI_DRIVERS, NULL, NULL},
	{"virtualbox-efi", "VirtualBox with EFI: AHCI SATA disk, e1000 NIC", 1, "pc", DISK_AHCI, "e1000",
	 "type=1,manufacturer=innotek GmbH,product=VirtualBox", VIRTUAL_APPLIANCE, AHCI_DRIVERS, NULL, NULL},
	{"vmware", "VMware: BIOS, PVSCSI disk, vmxnet3 NIC", 0, "pc", DISK_PVSCSI, "vmxnet3",
	 "type=1,manufacturer=VMware,, Inc.,product=VMware Virtual Platform", VIRTUAL_APPLIANCE, PVSCSI_DRIVERS, NULL,
	 NULL},
	/* OVMF has no PVSCSI or LSI driver, so the EFI machine uses the NVMe
	 * controller VMware offers EFI guests. */
	{"vmware-efi", "VMware with EFI: NVMe disk, vmxnet3 NIC", 1, "pc", DISK_NVME, "vmxnet3",
	 "type=1,manufacturer=VMware,, Inc.,product=VMware7,,1", VIRTUAL_APPLIANCE, {"nvme"}, NULL, NULL},
	{"hyperv", "Hyper-V Generation 2, approximated", 1, "q35", DISK_AHCI_Q35, "e1000",
	 "type=1,manufacturer=Microsoft Corporation,product=Virtual Machine", {"vhdx", "raw", "qcow2"}, AHCI_DRIVERS,
	 NULL,
	 "OVMF with an AHCI disk and an e1000 NIC stands in for Hyper-V's synthetic SCSI disk and network, which QEMU "
	 "cannot emulate; it checks UEFI boot and the image, not the hv_storvsc/hv_netvsc drivers"},
	{"vmm", "apkg's bundled KVM micro-VMM: the image's own kernel, virtio-mmio disk", 0, NULL,
	 DISK_VMM_VIRTIO_MMIO, NULL, NULL, {"raw", "qcow2"}, {"virtio_blk", "virtio_mmio"}, NULL, NULL},
};

#define N_TARGETS (sizeof targets / sizeof targets[0])

const struct target *target_find(const char *name)
{
	for (size_t i = 0; i < N_TARGETS; i++)
		if (!strcmp(targets[i].name, name))
			return &targets[i];
	return NULL;
}

size_t target_count(void) { return N_TARGETS; }

const struct target *target_at(size_t i) { return i < N_TARGETS ? &targets[i] : NULL; }

const char *target_names(void)
{
	static char names[256];
	if (!names[0])
		for (size_t i = 0; i < N_TARGETS; i++) {
			strcat(names, i ? ", " : "");
			strcat(names, targets[i].name);
		}
	return names;
}

const char *qemu_nic_model(const char *recipe_nic)
{
	if (!recipe_nic || !strcmp(recipe_nic, "e1000"))
		return "e1000";
	if (!strcmp(recipe_nic, "virtio"))
		return "virtio-net-pci";
	if (!strcmp(recipe_nic, "vmxnet3"))
		return "vmxnet3";
	return NULL;
}

int ovmf_find(const char **code, const char **vars)
{
	static const char *const pairs[][2] = {
		{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
		{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if (access(pairs[i][0], R_OK) == 0 && access(pairs[i][1], R_OK) == 0) {
			*code = pairs[i][0];
			*vars = pairs[i][1];
			return 0;
		}
	return -1;
}

struct argv_builder {
	char **v;
	size_t n;
};

__attribute__((format(printf, 2, 3))) static void add(struct argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	struct strbuf sb = STRBUF_INIT;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	b->v = xrealloc(b->v, (b->n + 2) * sizeof *b->v);
	b->v[b->n++] = strbuf_detach(&sb);
	b->v[b->n] = NULL;
}

/* QEMU option values use ',' as a separator: a literal comma is doubled. */
static char *qemu_escape(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (; *s; s++) {
		strbuf_addc(&sb, *s);
		if (*s == ',')
			strbuf_addc(&sb, ',');
	}
	return strbuf_detach(&sb);
}

static void add_disk(struct argv_builder *b, const struct qemu_setup *s)
{
	char *path = qemu_escape(s->disk_path);
	add(b, "-drive");
	add(b, "file=%s,format=%s,if=none,id=disk0,snapshot=on", path, s->disk_format);
	free(path);
	switch (s->target->disk) {
	case DISK_VIRTIO:
		add(b, "-device");
		add(b, "virtio-blk-pci,drive=disk0,bootindex=1");
		break;
	case DISK_AHCI:
		add(b, "-device");
		add(b, "ahci,id=sata0");
		add(b, "-device");
		add(b, "ide-hd,drive=disk0,bus=sata0.0,bootindex=1");
		break;
	case DISK_AHCI_Q35: /* the chipset's own ICH9 AHCI controller */
		add(b, "-device");
		add(b, "ide-hd,drive=disk0,bus=ide.0,bootindex=1");
		break;
	case DISK_PVSCSI:
		add(b, "-device");
		add(b, "pvscsi,id=scsi0");
		add(b, "-device");
		add(b, "scsi-hd,drive=disk0,bus=scsi0.0,bootindex=1");
		break;
	case DISK_NVME:
		add(b, "-device");
		add(b, "nvme,drive=disk0,serial=apkg0,bootindex=1");
		break;
	case DISK_NONE:
	case DISK_VMM_VIRTIO_MMIO:
		break;
	}
}

static void add_firmware(struct argv_builder *b, const struct qemu_setup *s)
{
	if (!s->target->uefi)
		return;
	char *code = qemu_escape(s->ovmf_code), *vars = qemu_escape(s->ovmf_vars);
	add(b, "-drive");
	add(b, "if=pflash,format=raw,unit=0,readonly=on,file=%s", code);
	add(b, "-drive");
	add(b, "if=pflash,format=raw,unit=1,file=%s", vars);
	free(code);
	free(vars);
}

char **qemu_argv(const char *qemu, const struct qemu_setup *s)
{
	struct argv_builder b = {0};
	const char *nic = s->target->nic ? s->target->nic : qemu_nic_model(s->recipe_nic);
	char *fwcfg = qemu_escape(s->fw_cfg_cmdline);
	add(&b, "%s", qemu);
	add(&b, "-accel");
	add(&b, "tcg");
	add(&b, "-machine");
	add(&b, "%s", s->target->machine);
	add(&b, "-m");
	add(&b, "%llu", (unsigned long long)s->memory_mib);
	add(&b, "-smp");
	add(&b, "%d", s->cpus);
	add(&b, "-nodefaults");
	add(&b, "-nographic");
	add(&b, "-no-reboot");
	add(&b, "-serial");
	add(&b, "stdio");
	add_firmware(&b, s);
	add_disk(&b, s);
	add(&b, "-netdev");
	add(&b, "user,id=net0,restrict=on");
	add(&b, "-device");
	add(&b, "%s,netdev=net0,romfile=", nic ? nic : "e1000");
	if (s->target->smbios) {
		add(&b, "-smbios");
		add(&b, "%s", s->target->smbios);
	}
	add(&b, "-fw_cfg");
	add(&b, "name=opt/org.apkg/cmdline,string=%s", fwcfg);
	free(fwcfg);
	return b.v;
}

void argv_free(char **argv)
{
	for (char **a = argv; a && *a; a++)
		free(*a);
	free(argv);
}
