/* formats/ova/ovf.c: the OVF 1.0 descriptor of an appliance, per target profile.
 *
 * Element for element, each profile follows its product's exporter where
 * importers look: VMware's (open-vmdk's ESX-exported templates) and
 * VirtualBox's (its OVF 1.0 "legacy" export). rasd and vssd children are
 * written in alphabetical order, the order of the CIM schemas that
 * ovftool validates against. Every text comes through xml_text(), so a
 * name or EULA can hold any character. Output is a pure function of the
 * inputs: no clock, no randomness.
 */
#include "formats/ova/ovf.h"

#include "formats/meta.h"
#include "util/ident.h"
#include "util/strbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_OVF "http://schemas.dmtf.org/ovf/envelope/1"
#define NS_RASD "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
#define NS_VSSD "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
#define NS_CIM "http://schemas.dmtf.org/wbem/wscim/1/common"
#define NS_VMW "http://www.vmware.com/schema/ovf"
#define NS_VBOX "http://www.virtualbox.org/ovf/machine"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define STREAM_OPTIMIZED "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"

static const struct ova_profile profiles[] = {
	{OVA_PROFILE_VMWARE, "vmware", "vmx-11", "lsilogic", "-disk1.vmdk"},
	{OVA_PROFILE_VIRTUALBOX, "virtualbox", "virtualbox-2.2", "ide", "-disk001.vmdk"},
	{OVA_PROFILE_GENERIC, "generic", "vmx-11", "lsilogic", "-disk1.vmdk"},
};

const struct ova_profile *ova_profile_find(const char *name)
{
	if (!name)
		name = "generic";
	for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
		if (!strcmp(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

const char *ova_profile_names(void) { return "vmware, virtualbox, generic"; }

const char *ovf_nic_subtype(const struct ova_profile *p, const char *requested, int *substituted)
{
	const char *r = requested ? requested : "e1000";
	*substituted = 0;
	if (!strcmp(r, "none"))
		return NULL;
	if (p->id == OVA_PROFILE_VMWARE && !strcmp(r, "vmxnet3"))
		return "VmxNet3";
	if (p->id == OVA_PROFILE_VIRTUALBOX && !strcmp(r, "virtio"))
		return "virtio-net";
	*substituted = strcmp(r, "e1000") != 0;
	return "E1000";
}

/* ---- text ---- */

static void xml_text(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			strbuf_adds(sb, "&amp;");
		else if (c == '<')
			strbuf_adds(sb, "&lt;");
		else if (c == '>')
			strbuf_adds(sb, "&gt;");
		else if (c == '"')
			strbuf_adds(sb, "&quot;");
		else if (c < 0x20 && c != '\n' && c != '\t')
			strbuf_addc(sb, ' '); /* not allowed in XML 1.0 */
		else
			strbuf_addc(sb, (char)c);
	}
}

static void element(struct strbuf *sb, int indent, const char *tag, const char *text)
{
	strbuf_addf(sb, "%*s<%s>", indent, "", tag);
	xml_text(sb, text);
	strbuf_addf(sb, "</%s>\n", tag);
}

static void element_u64(struct strbuf *sb, int indent, const char *tag, uint64_t v)
{
	strbuf_addf(sb, "%*s<%s>%" PRIu64 "</%s>\n", indent, "", tag, v, tag);
}

/* ---- what the appliance asks for ---- */

struct machine {
	const char *name;
	unsigned cpus;
	uint64_t memory_mib;
	const char *nic;     /* rasd:ResourceSubType, NULL: none */
	int debian;
	enum appliance_firmware firmware;
};

static struct machine machine_of(const struct ova_profile *p, const struct appliance_meta *m, const char *name)
{
	int substituted;
	struct machine x = {
		.name = name,
		.cpus = m->cpus ? m->cpus : 1,
		.memory_mib = m->memory ? (m->memory + (1u << 20) - 1) >> 20 : 512,
		.nic = ovf_nic_subtype(p, m->nic, &substituted),
		.debian = m->os && !strcmp(m->os, "debian"),
		.firmware = m->firmware,
	};
	return x;
}

/* ---- sections shared by every profile ---- */

static void references_and_disks(struct strbuf *sb, const struct ova_profile *p, const struct ovf_disk *d,
				 const char *disk_uuid)
{
	strbuf_adds(sb, "  <References>\n    <File ovf:href=\"");
	xml_text(sb, d->href);
	strbuf_addf(sb, "\" ovf:id=\"file1\" ovf:size=\"%" PRIu64 "\"/>\n  </References>\n", d->file_size);
	strbuf_addf(sb, "  <DiskSection>\n    <Info>%s</Info>\n",
		    p->id == OVA_PROFILE_VIRTUALBOX ? "List of the virtual disks used in the package" : "Virtual disk information");
	strbuf_addf(sb,
		    "    <Disk ovf:capacity=\"%" PRIu64 "\" ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"vmdisk1\" "
		    "ovf:fileRef=\"file1\" ovf:format=\"" STREAM_OPTIMIZED "\"",
		    d->capacity);
	if (p->id == OVA_PROFILE_VIRTUALBOX)
		strbuf_addf(sb, " vbox:uuid=\"%s\"", disk_uuid);
	strbuf_adds(sb, "/>\n  </DiskSection>\n");
}

static void network_section(struct strbuf *sb, const struct ova_profile *p, const struct machine *x)
{
	if (!x->nic)
		return;
	if (p->id == OVA_PROFILE_VIRTUALBOX)
		strbuf_adds(sb, "  <NetworkSection>\n    <Info>Logical networks used in the package</Info>\n"
				"    <Network ovf:name=\"NAT\">\n      <Description>Logical network used by this appliance.</Description>\n"
				"    </Network>\n  </NetworkSection>\n");
	else
		strbuf_adds(sb, "  <NetworkSection>\n    <Info>The list of logical networks</Info>\n"
				"    <Network ovf:name=\"VM Network\">\n      <Description>The VM Network network</Description>\n"
				"    </Network>\n  </NetworkSection>\n");
}

static void product_sections(struct strbuf *sb, const struct appliance_meta *m, const char *name)
{
	strbuf_adds(sb, "    <ProductSection>\n      <Info>Meta-information about the installed software</Info>\n");
	element(sb, 6, "Product", m->product ? m->product : name);
	if (m->vendor)
		element(sb, 6, "Vendor", m->vendor);
	if (m->version) {
		element(sb, 6, "Version", m->version);
		element(sb, 6, "FullVersion", m->version);
	}
	if (m->product_url)
		element(sb, 6, "ProductUrl", m->product_url);
	if (m->vendor_url)
		element(sb, 6, "VendorUrl", m->vendor_url);
	strbuf_adds(sb, "    </ProductSection>\n");
	if (m->description) {
		strbuf_adds(sb, "    <AnnotationSection>\n      <Info>A human-readable annotation</Info>\n");
		element(sb, 6, "Annotation", m->description);
		strbuf_adds(sb, "    </AnnotationSection>\n");
	}
	if (m->eula) {
		strbuf_adds(sb, "    <EulaSection>\n      <Info>License agreement for the virtual system</Info>\n");
		element(sb, 6, "License", m->eula);
		strbuf_adds(sb, "    </EulaSection>\n");
	}
}

static void system_element(struct strbuf *sb, const struct ova_profile *p, const char *name)
{
	strbuf_adds(sb, "      <System>\n        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n"
			"        <vssd:InstanceID>0</vssd:InstanceID>\n");
	element(sb, 8, "vssd:VirtualSystemIdentifier", name);
	element(sb, 8, "vssd:VirtualSystemType", p->system_type);
	strbuf_adds(sb, "      </System>\n");
}

/* ---- VMware-style hardware (vmware and generic profiles) ---- */

static void vmware_hardware(struct strbuf *sb, const struct ova_profile *p, const struct machine *x)
{
	strbuf_adds(sb, "    <VirtualHardwareSection>\n      <Info>Virtual hardware requirements</Info>\n");
	system_element(sb, p, x->name);
	strbuf_addf(sb,
		    "      <Item>\n        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n"
		    "        <rasd:Description>Number of Virtual CPUs</rasd:Description>\n"
		    "        <rasd:ElementName>%u virtual CPU(s)</rasd:ElementName>\n        <rasd:InstanceID>1</rasd:InstanceID>\n"
		    "        <rasd:ResourceType>3</rasd:ResourceType>\n        <rasd:VirtualQuantity>%u</rasd:VirtualQuantity>\n"
		    "      </Item>\n",
		    x->cpus, x->cpus);
	strbuf_addf(sb,
		    "      <Item>\n        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n"
		    "        <rasd:Description>Memory Size</rasd:Description>\n"
		    "        <rasd:ElementName>%" PRIu64 "MB of memory</rasd:ElementName>\n        <rasd:InstanceID>2</rasd:InstanceID>\n"
		    "        <rasd:ResourceType>4</rasd:ResourceType>\n",
		    x->memory_mib);
	element_u64(sb, 8, "rasd:VirtualQuantity", x->memory_mib);
	strbuf_adds(sb, "      </Item>\n");
	strbuf_adds(sb, "      <Item>\n        <rasd:Address>0</rasd:Address>\n        <rasd:Description>SCSI Controller</rasd:Description>\n"
			"        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>\n        <rasd:InstanceID>3</rasd:InstanceID>\n"
			"        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>\n        <rasd:ResourceType>6</rasd:ResourceType>\n"
			"      </Item>\n");
	strbuf_adds(sb, "      <Item>\n        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n"
			"        <rasd:ElementName>Hard Disk 1</rasd:ElementName>\n"
			"        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>\n        <rasd:InstanceID>4</rasd:InstanceID>\n"
			"        <rasd:Parent>3</rasd:Parent>\n        <rasd:ResourceType>17</rasd:ResourceType>\n      </Item>\n");
	if (x->nic)
		strbuf_addf(sb,
			    "      <Item>\n        <rasd:AddressOnParent>7</rasd:AddressOnParent>\n"
			    "        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n"
			    "        <rasd:Connection>VM Network</rasd:Connection>\n"
			    "        <rasd:Description>%s ethernet adapter on &quot;VM Network&quot;</rasd:Description>\n"
			    "        <rasd:ElementName>Ethernet 1</rasd:ElementName>\n        <rasd:InstanceID>5</rasd:InstanceID>\n"
			    "        <rasd:ResourceSubType>%s</rasd:ResourceSubType>\n        <rasd:ResourceType>10</rasd:ResourceType>\n"
			    "      </Item>\n",
			    x->nic, x->nic);
	if (x->firmware != FIRMWARE_ANY)
		strbuf_addf(sb, "      <vmw:Config ovf:required=\"false\" vmw:key=\"firmware\" vmw:value=\"%s\"/>\n",
			    x->firmware == FIRMWARE_EFI ? "efi" : "bios");
	strbuf_adds(sb, "    </VirtualHardwareSection>\n");
}

static void vmware_os(struct strbuf *sb, const struct machine *x)
{
	/* debian8_64Guest and other3xLinux64Guest are known from ESXi 6.0
	 * (vmx-11) on; newer ids would be "unsupported" there. */
	strbuf_addf(sb,
		    "    <OperatingSystemSection ovf:id=\"%d\" vmw:osType=\"%s\">\n"
		    "      <Info>The kind of installed guest operating system</Info>\n    </OperatingSystemSection>\n",
		    x->debian ? 96 : 101, x->debian ? "debian8_64Guest" : "other3xLinux64Guest");
}

static void vmware_envelope(struct strbuf *sb, const struct ova_profile *p, const struct appliance_meta *m,
			    const struct machine *x, const struct ovf_disk *d)
{
	strbuf_adds(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<Envelope xmlns=\"" NS_OVF "\" xmlns:cim=\"" NS_CIM "\" xmlns:ovf=\"" NS_OVF "\" xmlns:rasd=\"" NS_RASD
			"\" xmlns:vmw=\"" NS_VMW "\" xmlns:vssd=\"" NS_VSSD "\" xmlns:xsi=\"" NS_XSI "\">\n");
	references_and_disks(sb, p, d, NULL);
	network_section(sb, p, x);
	strbuf_adds(sb, "  <VirtualSystem ovf:id=\"");
	xml_text(sb, x->name);
	strbuf_adds(sb, "\">\n    <Info>A virtual machine</Info>\n");
	element(sb, 4, "Name", x->name);
	vmware_os(sb, x);
	vmware_hardware(sb, p, x);
	product_sections(sb, m, x->name);
	strbuf_adds(sb, "  </VirtualSystem>\n</Envelope>\n");
}

/* ---- VirtualBox ---- */

static void vbox_hardware(struct strbuf *sb, const struct ova_profile *p, const struct machine *x)
{
	strbuf_adds(sb, "    <VirtualHardwareSection>\n      <Info>Virtual hardware requirements for a virtual machine</Info>\n");
	system_element(sb, p, x->name);
	strbuf_addf(sb,
		    "      <Item>\n        <rasd:Caption>%u virtual CPU</rasd:Caption>\n"
		    "        <rasd:Description>Number of virtual CPUs</rasd:Description>\n"
		    "        <rasd:ElementName>%u virtual CPU</rasd:ElementName>\n        <rasd:InstanceID>1</rasd:InstanceID>\n"
		    "        <rasd:ResourceType>3</rasd:ResourceType>\n        <rasd:VirtualQuantity>%u</rasd:VirtualQuantity>\n"
		    "      </Item>\n",
		    x->cpus, x->cpus, x->cpus);
	strbuf_addf(sb,
		    "      <Item>\n        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>\n"
		    "        <rasd:Caption>%" PRIu64 " MB of memory</rasd:Caption>\n        <rasd:Description>Memory Size</rasd:Description>\n"
		    "        <rasd:ElementName>%" PRIu64 " MB of memory</rasd:ElementName>\n        <rasd:InstanceID>2</rasd:InstanceID>\n"
		    "        <rasd:ResourceType>4</rasd:ResourceType>\n",
		    x->memory_mib, x->memory_mib);
	element_u64(sb, 8, "rasd:VirtualQuantity", x->memory_mib);
	strbuf_adds(sb, "      </Item>\n");
	strbuf_adds(sb, "      <Item>\n        <rasd:Address>0</rasd:Address>\n        <rasd:Caption>sataController0</rasd:Caption>\n"
			"        <rasd:Description>SATA Controller</rasd:Description>\n"
			"        <rasd:ElementName>sataController0</rasd:ElementName>\n        <rasd:InstanceID>3</rasd:InstanceID>\n"
			"        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>\n        <rasd:ResourceType>20</rasd:ResourceType>\n"
			"      </Item>\n");
	if (x->nic)
		strbuf_addf(sb,
			    "      <Item>\n        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n"
			    "        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>\n        <rasd:Connection>NAT</rasd:Connection>\n"
			    "        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>\n"
			    "        <rasd:InstanceID>4</rasd:InstanceID>\n        <rasd:ResourceSubType>%s</rasd:ResourceSubType>\n"
			    "        <rasd:ResourceType>10</rasd:ResourceType>\n      </Item>\n",
			    x->nic);
	strbuf_addf(sb,
		    "      <Item>\n        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n        <rasd:Caption>disk1</rasd:Caption>\n"
		    "        <rasd:Description>Disk Image</rasd:Description>\n        <rasd:ElementName>disk1</rasd:ElementName>\n"
		    "        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>\n        <rasd:InstanceID>%d</rasd:InstanceID>\n"
		    "        <rasd:Parent>3</rasd:Parent>\n        <rasd:ResourceType>17</rasd:ResourceType>\n      </Item>\n",
		    x->nic ? 5 : 4);
	strbuf_adds(sb, "    </VirtualHardwareSection>\n");
}

static void utc_time(uint64_t epoch, char out[32])
{
	time_t t = (time_t)epoch;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* VirtualBox takes the firmware only from its own machine settings, so an
 * EFI appliance carries a vbox:Machine (settings 1.16, VirtualBox 6.0 on). */
static void vbox_machine(struct strbuf *sb, const struct machine *x, const char *seed, const char *disk_uuid,
			 uint64_t epoch)
{
	uint8_t u[16];
	char machine_uuid[37], when[32];
	ident_uuid(seed, "ova-virtualbox-machine", u);
	ident_uuid_str(u, machine_uuid);
	utc_time(epoch, when);
	strbuf_adds(sb, "    <vbox:Machine ovf:required=\"false\" version=\"1.16-linux\" uuid=\"{");
	strbuf_addf(sb, "%s}\" name=\"", machine_uuid);
	xml_text(sb, x->name);
	strbuf_addf(sb, "\" OSType=\"%s\" snapshotFolder=\"Snapshots\" lastStateChange=\"%s\">\n",
		    x->debian ? "Debian_64" : "Linux_64", when);
	strbuf_adds(sb, "      <ovf:Info>Complete VirtualBox machine configuration in VirtualBox format</ovf:Info>\n"
			"      <Hardware>\n");
	strbuf_addf(sb, "        <CPU count=\"%u\">\n          <PAE enabled=\"true\"/>\n          <LongMode enabled=\"true\"/>\n"
			"        </CPU>\n        <Memory RAMSize=\"%" PRIu64 "\"/>\n        <Firmware type=\"EFI\"/>\n",
		    x->cpus, x->memory_mib);
	strbuf_adds(sb, "        <Boot>\n          <Order position=\"1\" device=\"HardDisk\"/>\n"
			"          <Order position=\"2\" device=\"None\"/>\n          <Order position=\"3\" device=\"None\"/>\n"
			"          <Order position=\"4\" device=\"None\"/>\n        </Boot>\n"
			"        <Display controller=\"VMSVGA\" VRAMSize=\"16\"/>\n        <BIOS>\n          <IOAPIC enabled=\"true\"/>\n"
			"        </BIOS>\n");
	if (x->nic) {
		ident_uuid(seed, "ova-virtualbox-mac", u);
		strbuf_addf(sb, "        <Network>\n          <Adapter slot=\"0\" enabled=\"true\" MACAddress=\"080027%02X%02X%02X\" "
				"type=\"%s\">\n            <NAT/>\n          </Adapter>\n        </Network>\n",
			    u[0], u[1], u[2], !strcmp(x->nic, "virtio-net") ? "virtio" : "82540EM");
	}
	strbuf_adds(sb, "        <AudioAdapter enabled=\"false\"/>\n        <RTC localOrUTC=\"UTC\"/>\n      </Hardware>\n");
	strbuf_addf(sb, "      <StorageControllers>\n        <StorageController name=\"SATA\" type=\"AHCI\" PortCount=\"1\" "
			"useHostIOCache=\"false\" Bootable=\"true\">\n          <AttachedDevice type=\"HardDisk\" "
			"hotpluggable=\"false\" port=\"0\" device=\"0\">\n            <Image uuid=\"{%s}\"/>\n"
			"          </AttachedDevice>\n        </StorageController>\n      </StorageControllers>\n"
			"    </vbox:Machine>\n",
		    disk_uuid);
}

static void vbox_envelope(struct strbuf *sb, const struct ova_profile *p, const struct appliance_meta *m,
			  const struct machine *x, const struct ovf_disk *d, const char *seed, uint64_t epoch)
{
	uint8_t u[16];
	char disk_uuid[37];
	ident_uuid(seed, "ova-virtualbox-disk", u);
	ident_uuid_str(u, disk_uuid);
	strbuf_adds(sb, "<?xml version=\"1.0\"?>\n"
			"<Envelope ovf:version=\"1.0\" xml:lang=\"en-US\" xmlns=\"" NS_OVF "\" xmlns:ovf=\"" NS_OVF
			"\" xmlns:rasd=\"" NS_RASD "\" xmlns:vssd=\"" NS_VSSD "\" xmlns:xsi=\"" NS_XSI "\" xmlns:vbox=\"" NS_VBOX
			"\">\n");
	references_and_disks(sb, p, d, disk_uuid);
	network_section(sb, p, x);
	strbuf_adds(sb, "  <VirtualSystem ovf:id=\"");
	xml_text(sb, x->name);
	strbuf_adds(sb, "\">\n    <Info>A virtual machine</Info>\n");
	product_sections(sb, m, x->name);
	strbuf_addf(sb,
		    "    <OperatingSystemSection ovf:id=\"%d\">\n      <Info>The kind of installed guest operating system</Info>\n"
		    "      <Description>%s</Description>\n      <vbox:OSType ovf:required=\"false\">%s</vbox:OSType>\n"
		    "    </OperatingSystemSection>\n",
		    x->debian ? 96 : 101, x->debian ? "Debian_64" : "Linux_64", x->debian ? "Debian_64" : "Linux_64");
	vbox_hardware(sb, p, x);
	if (x->firmware == FIRMWARE_EFI)
		vbox_machine(sb, x, seed, disk_uuid, epoch);
	strbuf_adds(sb, "  </VirtualSystem>\n</Envelope>\n");
}

void ovf_build(const struct ova_profile *p, const struct appliance_meta *m, const char *name, const struct ovf_disk *d,
	       const char *seed, uint64_t epoch, struct strbuf *out)
{
	struct machine x = machine_of(p, m, name);
	if (p->id == OVA_PROFILE_VIRTUALBOX)
		vbox_envelope(out, p, m, &x, d, seed ? seed : "", epoch);
	else
		vmware_envelope(out, p, m, &x, d);
}
