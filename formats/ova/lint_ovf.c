/* formats/ova/lint_ovf.c: the linter's descriptor pass.
 *
 * Parses the .ovf with libxml2 (no DTD, no entity substitution, no
 * network, size bounded by lint.c) and checks what the importers check:
 * the OVF 1.0 envelope and its required sections (VirtualBox's
 * ovfreader.cpp and VMware's schema validation), references between
 * File, Disk, Item and Network, ovf:size against the tar and capacity
 * against the VMDK header, the hardware family, and the ResourceType /
 * ResourceSubType pairs each product knows. Names are compared by
 * namespace URI and local name, never by prefix.
 */
#include "formats/ova/lint_internal.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_OVF1 "http://schemas.dmtf.org/ovf/envelope/1"
#define NS_OVF2 "http://schemas.dmtf.org/ovf/envelope/2"
#define NS_RASD "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
#define NS_VSSD "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
#define NS_VMW "http://www.vmware.com/schema/ovf"
#define MAX_LIST 1024

struct ref {
	char *id, *href;
	long long size; /* -1: absent, -2: not a number */
	int line;
};

struct disk {
	char *id, *file_ref, *format;
	long long capacity; /* bytes; -1: absent or invalid */
	int line, attached;
};

struct item {
	const char *element; /* "Item", "StorageItem", "EthernetPortItem" */
	int line, required;
	long type;           /* -1: absent */
	char *instance_id, *subtype, *parent, *host_resource, *connection, *units, *quantity;
};

struct ovf {
	struct lint_ctx *c;
	struct lint_report *r;
	xmlDoc *doc;
	struct ref refs[MAX_LIST];
	size_t n_refs;
	struct disk disks[MAX_LIST];
	size_t n_disks;
	char *networks[MAX_LIST];
	size_t n_networks;
	struct item items[MAX_LIST];
	size_t n_items;
};

/* ---- tree helpers ---- */

static int in_ns(const xmlNode *n, const char *ns) { return n->ns && n->ns->href && !strcmp((const char *)n->ns->href, ns); }

static int is_el(const xmlNode *n, const char *name, const char *ns)
{
	return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name) && (!ns || in_ns(n, ns));
}

static xmlNode *child(const xmlNode *n, const char *name, const char *ns)
{
	for (xmlNode *k = n ? n->children : NULL; k; k = k->next)
		if (is_el(k, name, ns))
			return k;
	return NULL;
}

static int line_of(const xmlNode *n) { return n ? (int)xmlGetLineNo(n) : 0; }

/* An OVF attribute: ovf:name, or unqualified as some writers have it. Caller frees. */
static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNsProp(n, (const xmlChar *)name, (const xmlChar *)NS_OVF1);
	if (!v)
		v = xmlGetNoNsProp(n, (const xmlChar *)name);
	if (!v)
		return NULL;
	char *s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

/* Text of an element, trimmed. Caller frees; NULL if n is NULL. */
static char *text(const xmlNode *n)
{
	if (!n)
		return NULL;
	xmlChar *v = xmlNodeGetContent(n);
	const char *s = v ? (const char *)v : "";
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	char *out = strndup(s, len);
	xmlFree(v);
	return out;
}

/* Parses a non-negative decimal; -1 if it is not one. */
static long long number(const char *s)
{
	if (!s || !*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno || v > (1ull << 62))
		return -1;
	return (long long)v;
}

/* ---- References, DiskSection, NetworkSection ---- */

static void read_references(struct ovf *o, const xmlNode *env)
{
	const xmlNode *refs = child(env, "References", NS_OVF1);
	if (!refs) {
		lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_ALL, "no References section");
		return;
	}
	for (xmlNode *f = refs->children; f && o->n_refs < MAX_LIST; f = f->next) {
		if (!is_el(f, "File", NS_OVF1))
			continue;
		struct ref *x = &o->refs[o->n_refs++];
		x->id = attr(f, "id");
		x->href = attr(f, "href");
		x->line = line_of(f);
		char *size = attr(f, "size");
		x->size = size ? (number(size) >= 0 ? number(size) : -2) : -1;
		free(size);
		if (!x->id || !x->href)
			lint_add(o->r, LINT_ERROR, "references", PRODUCT_ALL, "line %d: File without ovf:id or ovf:href", x->line);
	}
	o->c->ref_hrefs = xcalloc(o->n_refs ? o->n_refs : 1, sizeof *o->c->ref_hrefs);
	for (size_t i = 0; i < o->n_refs; i++)
		if (o->refs[i].href)
			o->c->ref_hrefs[o->c->n_refs++] = xstrdup(o->refs[i].href);
}

static const struct ref *find_ref(const struct ovf *o, const char *id)
{
	for (size_t i = 0; id && i < o->n_refs; i++)
		if (o->refs[i].id && !strcmp(o->refs[i].id, id))
			return &o->refs[i];
	return NULL;
}

/* "byte", "byte * 2^20", ... to a multiplier; 0 if not understood. */
static unsigned long long byte_units(const char *u)
{
	if (!u || !strcmp(u, "byte"))
		return 1;
	unsigned e;
	char tail;
	if (sscanf(u, "byte * 2^%u%c", &e, &tail) == 1 && e < 50)
		return 1ull << e;
	return 0;
}

static void read_disks(struct ovf *o, const xmlNode *env)
{
	const xmlNode *sec = child(env, "DiskSection", NS_OVF1);
	if (!sec)
		return;
	if (!child(sec, "Info", NS_OVF1))
		lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_VMWARE | PRODUCT_OVF, "line %d: DiskSection without Info",
			 line_of(sec));
	for (xmlNode *d = sec->children; d && o->n_disks < MAX_LIST; d = d->next) {
		if (!is_el(d, "Disk", NS_OVF1))
			continue;
		struct disk *x = &o->disks[o->n_disks++];
		x->line = line_of(d);
		x->id = attr(d, "diskId");
		x->file_ref = attr(d, "fileRef");
		x->format = attr(d, "format");
		char *cap = attr(d, "capacity"), *units = attr(d, "capacityAllocationUnits");
		long long v = number(cap);
		unsigned long long mult = byte_units(units);
		x->capacity = v >= 0 && mult && (unsigned long long)v <= (1ull << 62) / mult ? v * (long long)mult : -1;
		if (!x->id || !x->format || !cap)
			lint_add(o->r, LINT_ERROR, "disk-section", PRODUCT_ALL,
				 "line %d: Disk needs ovf:diskId, ovf:format and ovf:capacity (VirtualBox: \"missing or invalid "
				 "attribute\")", x->line);
		else if (x->capacity < 0)
			lint_add(o->r, LINT_ERROR, "disk-section", PRODUCT_ALL, "line %d: capacity \"%s\" in units \"%s\" is not a size",
				 x->line, cap, units ? units : "byte");
		free(cap);
		free(units);
		if (x->file_ref && !find_ref(o, x->file_ref))
			lint_add(o->r, LINT_ERROR, "references", PRODUCT_ALL,
				 "line %d: Disk fileRef \"%s\" names no References/File", x->line, x->file_ref);
		if (x->format && !strstr(x->format, "vmdk.html#streamOptimized"))
			lint_add(o->r, LINT_ERROR, "disk-format", PRODUCT_VMWARE,
				 "line %d: disk format \"%s\": VMware imports streamOptimized VMDKs only", x->line, x->format);
	}
}

static void read_networks(struct ovf *o, const xmlNode *env)
{
	const xmlNode *sec = child(env, "NetworkSection", NS_OVF1);
	for (xmlNode *n = sec ? sec->children : NULL; n && o->n_networks < MAX_LIST; n = n->next)
		if (is_el(n, "Network", NS_OVF1)) {
			char *name = attr(n, "name");
			if (name)
				o->networks[o->n_networks++] = name;
		}
}

/* ---- files against the tar ---- */

static void check_files(struct ovf *o)
{
	for (size_t i = 0; i < o->n_refs; i++) {
		const struct ref *x = &o->refs[i];
		if (!x->href)
			continue;
		const struct lint_member *m = lint_find_member(o->c, x->href);
		if (!m) {
			lint_add(o->r, LINT_ERROR, "references", PRODUCT_ALL, "line %d: File \"%s\" is not in the OVA", x->line, x->href);
			continue;
		}
		if (x->size == -1)
			lint_add(o->r, LINT_NOTE, "file-size", PRODUCT_VMWARE,
				 "line %d: File \"%s\" has no ovf:size (VMware uses it to check the download)", x->line, x->href);
		else if (x->size < 0 || (uint64_t)x->size != m->size)
			lint_add(o->r, LINT_ERROR, "file-size", PRODUCT_VMWARE,
				 "line %d: ovf:size of \"%s\" is %lld but the file has %llu bytes (coreos/fedora-coreos-tracker#391)",
				 x->line, x->href, x->size, (unsigned long long)m->size);
	}
	for (size_t i = 0; i < o->n_disks; i++) {
		const struct disk *d = &o->disks[i];
		const struct ref *f = find_ref(o, d->file_ref);
		const struct lint_member *m = f && f->href ? lint_find_member(o->c, f->href) : NULL;
		if (m && m->is_vmdk && d->capacity >= 0 && (uint64_t)d->capacity != m->vmdk_capacity)
			lint_add(o->r, LINT_ERROR, "disk-capacity", PRODUCT_ALL,
				 "line %d: Disk \"%s\" has capacity %lld bytes but its VMDK holds %llu", d->line, d->id ? d->id : "",
				 d->capacity, (unsigned long long)m->vmdk_capacity);
	}
}

void lint_check_reference_order(struct lint_ctx *c)
{
	/* Files that the descriptor references must appear in References order. */
	size_t next = 0;
	for (size_t i = 0; i < c->n_members; i++) {
		const struct lint_member *m = &c->members[i];
		if (m->kind != MEMBER_FILE)
			continue;
		size_t k = 0;
		while (k < c->n_refs && strcmp(c->ref_hrefs[k], m->name))
			k++;
		if (k == c->n_refs)
			continue; /* not referenced: reported by the manifest or left alone */
		if (k < next)
			lint_add(c->report, LINT_ERROR, "member-order", PRODUCT_OVF | PRODUCT_ESXI | PRODUCT_VCENTER,
				 "\"%s\" comes after a file that References lists later (DSP0243: files in References order)",
				 m->name);
		else
			next = k;
	}
}

/* ---- VirtualSystem ---- */

static void read_item(struct ovf *o, xmlNode *n, const char *element)
{
	struct item *it = &o->items[o->n_items++];
	it->element = element;
	it->line = line_of(n);
	it->type = -1;
	char *req = attr(n, "required");
	it->required = !(req && !strcmp(req, "false"));
	free(req);
	const char *prev = "";
	int unordered = 0;
	for (xmlNode *k = n->children; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE || in_ns(k, NS_VMW))
			continue;
		const char *name = (const char *)k->name;
		if (strcmp(prev, name) > 0)
			unordered = 1;
		prev = name;
		char **slot = !strcmp(name, "InstanceID") || !strcmp(name, "InstanceId") ? &it->instance_id
			      : !strcmp(name, "ResourceSubType")			  ? &it->subtype
			      : !strcmp(name, "Parent")					  ? &it->parent
			      : !strcmp(name, "HostResource")				  ? &it->host_resource
			      : !strcmp(name, "Connection")				  ? &it->connection
			      : !strcmp(name, "AllocationUnits")			  ? &it->units
			      : !strcmp(name, "VirtualQuantity")			  ? &it->quantity
											  : NULL;
		if (slot && !*slot)
			*slot = text(k);
		if (!strcmp(name, "ResourceType")) {
			char *t = text(k);
			long long v = number(t);
			it->type = v >= 0 && v <= 0xffff ? (long)v : -2;
			free(t);
		}
	}
	if (unordered)
		lint_add(o->r, LINT_WARNING, "rasd-order", PRODUCT_VMWARE,
			 "line %d: the item's elements are not in the CIM schema's (alphabetical) order, which ovftool validates",
			 it->line);
}

static const struct item *find_item(const struct ovf *o, const char *instance_id)
{
	for (size_t i = 0; instance_id && i < o->n_items; i++)
		if (o->items[i].instance_id && !strcmp(o->items[i].instance_id, instance_id))
			return &o->items[i];
	return NULL;
}

static int one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (s && !strcasecmp(s, *list))
			return 1;
	return 0;
}

static void check_controller(struct ovf *o, const struct item *it)
{
	static const char *const vmw_scsi[] = {"lsilogic", "buslogic", "lsilogicsas", "VirtualSCSI", NULL};
	static const char *const vbox_scsi[] = {"lsilogic", "buslogic", "lsilogicsas", NULL};
	static const char *const vmw_other[] = {"vmware.sata.ahci", "vmware.nvme.controller", NULL};
	static const char *const vbox_other[] = {"AHCI", "vmware.sata.ahci", "VirtioSCSI", "virtio-scsi", "NVMe",
						 "vmware.nvme.controller", NULL};
	static const char *const vbox_ide[] = {"PIIX3", "PIIX4", "ICH6", NULL};
	const char *st = it->subtype ? it->subtype : "";
	if (it->type == 6) {
		if (!one_of(st, vmw_scsi))
			lint_add(o->r, LINT_ERROR, "resource-subtype", PRODUCT_VMWARE,
				 "line %d: SCSI controller subtype \"%s\" is not one VMware knows (lsilogic, buslogic, "
				 "lsilogicsas, VirtualSCSI)", it->line, st);
		if (!one_of(st, vbox_scsi))
			lint_add(o->r, LINT_WARNING, "resource-subtype", PRODUCT_VIRTUALBOX,
				 "line %d: SCSI controller subtype \"%s\": VirtualBox substitutes an LsiLogic controller", it->line, st);
	} else if (it->type == 20) {
		if (!one_of(st, vmw_other))
			lint_add(o->r, LINT_ERROR, "resource-subtype", PRODUCT_VMWARE,
				 "line %d: storage controller subtype \"%s\": VMware knows vmware.sata.ahci and "
				 "vmware.nvme.controller (\"No support for the virtual hardware device type '20'\")", it->line, st);
		if (!one_of(st, vbox_other))
			lint_add(o->r, LINT_ERROR, "resource-subtype", PRODUCT_VIRTUALBOX,
				 "line %d: storage controller subtype \"%s\": VirtualBox takes AHCI, VirtioSCSI or NVMe only",
				 it->line, st);
	} else if (it->type == 5 && *st && !one_of(st, vbox_ide)) {
		lint_add(o->r, LINT_NOTE, "resource-subtype", PRODUCT_VIRTUALBOX,
			 "line %d: IDE controller subtype \"%s\": VirtualBox uses PIIX4", it->line, st);
	}
	if (!it->instance_id)
		lint_add(o->r, LINT_ERROR, "references", PRODUCT_VIRTUALBOX | PRODUCT_OVF,
			 "line %d: a controller without InstanceID (VirtualBox: \"Element InstanceID is absent\")", it->line);
}

static int network_known(const struct ovf *o, const char *name)
{
	for (size_t i = 0; name && i < o->n_networks; i++)
		if (!strcmp(o->networks[i], name))
			return 1;
	return 0;
}

static void check_nic(struct ovf *o, const struct item *it)
{
	static const char *const vmw[] = {"E1000", "E1000e", "VmxNet3", "VmxNet2", "PCNet32", "Vlance", NULL};
	static const char *const vbox[] = {"PCNet32", "E1000", "E10000", "VirtioNet", "virtio-net", "3", NULL};
	const char *st = it->subtype ? it->subtype : "";
	if (!one_of(st, vmw))
		lint_add(o->r, LINT_ERROR, "resource-subtype", PRODUCT_VMWARE,
			 "line %d: network adapter \"%s\" is not one VMware knows (E1000, E1000e, VmxNet3, ...)", it->line, st);
	if (!one_of(st, vbox))
		lint_add(o->r, LINT_NOTE, "resource-subtype", PRODUCT_VIRTUALBOX,
			 "line %d: network adapter \"%s\": VirtualBox substitutes its default adapter", it->line, st);
	if (!it->connection)
		lint_add(o->r, LINT_WARNING, "references", PRODUCT_OVF | PRODUCT_VMWARE,
			 "line %d: network adapter without Connection", it->line);
	else if (!network_known(o, it->connection))
		lint_add(o->r, LINT_ERROR, "references", PRODUCT_OVF | PRODUCT_VMWARE,
			 "line %d: Connection \"%s\" is not a Network of the NetworkSection", it->line, it->connection);
}

static struct disk *find_disk(struct ovf *o, const char *id)
{
	for (size_t i = 0; id && i < o->n_disks; i++)
		if (o->disks[i].id && !strcmp(o->disks[i].id, id))
			return &o->disks[i];
	return NULL;
}

static void check_disk_item(struct ovf *o, const struct item *it)
{
	const struct item *p = find_item(o, it->parent);
	if (!p || (p->type != 5 && p->type != 6 && p->type != 20))
		lint_add(o->r, LINT_ERROR, "references", PRODUCT_ALL,
			 "line %d: disk Parent \"%s\" is not a disk controller's InstanceID (vCenter: \"does not refer to a "
			 "ref of type DiskControllerReference\")", it->line, it->parent ? it->parent : "");
	const char *hr = it->host_resource ? it->host_resource : "";
	const char *id = !strncmp(hr, "ovf:/disk/", 10) ? hr + 10 : !strncmp(hr, "ovf://disk/", 11) ? hr + 11
			 : !strncmp(hr, "/disk/", 6)				 ? hr + 6
										 : NULL;
	struct disk *d = id ? find_disk(o, id) : NULL;
	if (!d)
		lint_add(o->r, LINT_ERROR, "references", PRODUCT_ALL,
			 "line %d: HostResource \"%s\" names no Disk of the DiskSection", it->line, hr);
	else
		d->attached = 1;
	if (d && strncmp(hr, "ovf:/disk/", 10))
		lint_add(o->r, LINT_NOTE, "references", PRODUCT_VMWARE,
			 "line %d: HostResource \"%s\": VMware writes ovf:/disk/<id>", it->line, hr);
}

static void check_memory(struct ovf *o, const struct item *it)
{
	static const char *const vbox_units[] = {"MegaBytes", "MB", "byte * 2^20", "GigaBytes", "GB", "byte * 2^30", NULL};
	const char *u = it->units ? it->units : "";
	int known = 0;
	for (const char *const *k = vbox_units; *k; k++)
		known |= !strcmp(u, *k);
	if (!known)
		lint_add(o->r, LINT_ERROR, "memory-units", PRODUCT_VIRTUALBOX,
			 "line %d: memory AllocationUnits \"%s\": VirtualBox reads MegaBytes, MB, byte * 2^20, GigaBytes, GB "
			 "or byte * 2^30 only", it->line, u);
	if (number(it->quantity) <= 0)
		lint_add(o->r, LINT_ERROR, "resource-type", PRODUCT_ALL, "line %d: memory without a VirtualQuantity", it->line);
}

static void check_item(struct ovf *o, const struct item *it)
{
	/* What each product can create; VirtualBox skips an unknown type only
	 * when the item says ovf:required="false". */
	static const long vbox_types[] = {3, 4, 5, 6, 10, 14, 15, 17, 20, 23, 35, -1};
	static const long vmw_types[] = {1, 3, 4, 5, 6, 10, 14, 15, 16, 17, 20, 21, 22, 23, 24, -1};
	if (strcmp(it->element, "Item"))
		lint_add(o->r, LINT_ERROR, "ovf2-items", PRODUCT_WORKSTATION,
			 "line %d: %s is an OVF 2.0 element; Workstation rejects it (BlackArch/blackarch#1937)", it->line,
			 it->element);
	if (it->type < 0) {
		lint_add(o->r, LINT_ERROR, "resource-type", PRODUCT_ALL, "line %d: an item without a numeric ResourceType", it->line);
		return;
	}
	int vbox = 0, vmw = 0;
	for (const long *t = vbox_types; *t >= 0; t++)
		vbox |= *t == it->type;
	for (const long *t = vmw_types; *t >= 0; t++)
		vmw |= *t == it->type;
	if (!vbox && it->required)
		lint_add(o->r, LINT_ERROR, "resource-type", PRODUCT_VIRTUALBOX,
			 "line %d: required item of ResourceType %ld (VirtualBox: \"Unknown resource type\")", it->line, it->type);
	if (!vmw && it->required)
		lint_add(o->r, LINT_ERROR, "resource-type", PRODUCT_VMWARE,
			 "line %d: required item of ResourceType %ld, which VMware cannot create", it->line, it->type);
	if (it->type == 3 && (number(it->quantity) <= 0 || number(it->quantity) >= 0xffff))
		lint_add(o->r, LINT_ERROR, "resource-type", PRODUCT_ALL, "line %d: CPU count \"%s\" is not 1 to 65534", it->line,
			 it->quantity ? it->quantity : "");
	else if (it->type == 4)
		check_memory(o, it);
	else if (it->type == 5 || it->type == 6 || it->type == 20)
		check_controller(o, it);
	else if (it->type == 10)
		check_nic(o, it);
	else if (it->type == 17)
		check_disk_item(o, it);
}

/* The highest vmx-NN in the type list, 0 if none. */
static int max_vmx(const char *types)
{
	int best = 0;
	for (const char *p = types; p && (p = strstr(p, "vmx-")); p += 4) {
		int v = atoi(p + 4);
		if (v > best)
			best = v;
	}
	return best;
}

static const char *esxi_for_vmx(int v)
{
	static const struct {
		int vmx;
		const char *esxi;
	} t[] = {{13, "6.5"}, {14, "6.7"}, {15, "6.7 U2"}, {17, "7.0"}, {18, "7.0 U1"}, {19, "7.0 U2"}, {20, "8.0"}, {21, "8.0 U2"}};
	const char *r = "9";
	for (size_t i = sizeof t / sizeof t[0]; i-- > 0;)
		if (v <= t[i].vmx)
			r = t[i].esxi;
	return r;
}

static void check_hardware(struct ovf *o, const xmlNode *vhs)
{
	if (!child(vhs, "Info", NS_OVF1))
		lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_VMWARE | PRODUCT_OVF,
			 "line %d: VirtualHardwareSection without Info", line_of(vhs));
	const xmlNode *sys = child(vhs, "System", NS_OVF1);
	char *types = text(child(sys, "VirtualSystemType", NS_VSSD));
	if (!types || !*types) {
		lint_add(o->r, LINT_ERROR, "hardware-family", PRODUCT_VMWARE,
			 "no System/VirtualSystemType: VMware cannot tell the hardware family");
	} else {
		int vmx = max_vmx(types);
		if (!vmx)
			lint_add(o->r, LINT_ERROR, "hardware-family", PRODUCT_VMWARE,
				 "hardware family \"%s\" has no vmx-NN: \"Unsupported hardware family\" (owncloud-archive/vm#53)",
				 types);
		else if (vmx > 11)
			lint_add(o->r, LINT_WARNING, "hardware-family", PRODUCT_ESXI | PRODUCT_VCENTER,
				 "hardware family vmx-%d needs ESXi %s or later; vmx-11 is the widest-accepted floor "
				 "(home-assistant/operating-system#3163)", vmx, esxi_for_vmx(vmx));
	}
	free(types);
	for (xmlNode *k = vhs->children; k && o->n_items < MAX_LIST; k = k->next) {
		if (is_el(k, "Item", NS_OVF1))
			read_item(o, k, "Item");
		else if (is_el(k, "StorageItem", NULL))
			read_item(o, k, "StorageItem");
		else if (is_el(k, "EthernetPortItem", NULL))
			read_item(o, k, "EthernetPortItem");
		else if (is_el(k, "Config", NS_VMW)) {
			xmlChar *key = xmlGetNsProp(k, (const xmlChar *)"key", (const xmlChar *)NS_VMW);
			xmlChar *val = xmlGetNsProp(k, (const xmlChar *)"value", (const xmlChar *)NS_VMW);
			if (key && !strcmp((const char *)key, "firmware") &&
			    !(val && (!strcmp((const char *)val, "bios") || !strcmp((const char *)val, "efi"))))
				lint_add(o->r, LINT_ERROR, "firmware", PRODUCT_VMWARE, "line %d: vmw firmware \"%s\" is not bios or efi",
					 line_of(k), val ? (const char *)val : "");
			xmlFree(key);
			xmlFree(val);
		}
	}
	for (size_t i = 0; i < o->n_items; i++) {
		for (size_t j = 0; j < i; j++)
			if (o->items[i].instance_id && o->items[j].instance_id &&
			    !strcmp(o->items[i].instance_id, o->items[j].instance_id)) {
				lint_add(o->r, LINT_WARNING, "references", PRODUCT_ALL, "line %d: InstanceID \"%s\" is used twice",
					 o->items[i].line, o->items[i].instance_id);
				break;
			}
		check_item(o, &o->items[i]);
	}
}

static void check_virtual_system(struct ovf *o, const xmlNode *vs)
{
	if (!child(vs, "Info", NS_OVF1))
		lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_VMWARE | PRODUCT_OVF, "line %d: VirtualSystem without Info",
			 line_of(vs));
	char *id = attr(vs, "id");
	if (!id)
		lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_OVF | PRODUCT_VMWARE, "line %d: VirtualSystem without ovf:id",
			 line_of(vs));
	free(id);
	const xmlNode *os = child(vs, "OperatingSystemSection", NS_OVF1);
	if (!os) {
		lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_OVF | PRODUCT_VMWARE, "no OperatingSystemSection");
	} else {
		char *osid = attr(os, "id");
		if (number(osid) < 0)
			lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_ALL,
				 "line %d: OperatingSystemSection without a numeric ovf:id (VirtualBox refuses it)", line_of(os));
		free(osid);
	}
	const xmlNode *vhs = child(vs, "VirtualHardwareSection", NS_OVF1);
	if (!vhs)
		lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_ALL, "no VirtualHardwareSection");
	else
		check_hardware(o, vhs);
	for (size_t i = 0; i < o->n_disks; i++)
		if (!o->disks[i].attached && o->disks[i].id)
			lint_add(o->r, LINT_WARNING, "references", PRODUCT_ALL, "line %d: Disk \"%s\" is attached to no item",
				 o->disks[i].line, o->disks[i].id);
}

/* ---- entry ---- */

static xmlDoc *parse(struct ovf *o)
{
	xmlParserCtxt *ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return NULL;
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
	xmlDoc *doc = xmlCtxtReadMemory(ctxt, o->c->ovf_text.buf, (int)o->c->ovf_text.len, "descriptor.ovf", NULL, opts);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[200] = "unreadable";
		if (e && e->message) {
			snprintf(msg, sizeof msg, "%s", e->message);
			msg[strcspn(msg, "\n")] = 0;
		}
		lint_add(o->r, LINT_ERROR, "ovf-xml", PRODUCT_ALL, "the descriptor is not well-formed XML: line %d: %s",
			 e ? e->line : 0, msg);
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

static void release(struct ovf *o)
{
	for (size_t i = 0; i < o->n_refs; i++)
		free(o->refs[i].id), free(o->refs[i].href);
	for (size_t i = 0; i < o->n_disks; i++)
		free(o->disks[i].id), free(o->disks[i].file_ref), free(o->disks[i].format);
	for (size_t i = 0; i < o->n_networks; i++)
		free(o->networks[i]);
	for (size_t i = 0; i < o->n_items; i++) {
		struct item *it = &o->items[i];
		free(it->instance_id), free(it->subtype), free(it->parent), free(it->host_resource);
		free(it->connection), free(it->units), free(it->quantity);
	}
	if (o->doc)
		xmlFreeDoc(o->doc);
}

void lint_check_ovf(struct lint_ctx *c)
{
	struct ovf *o = xcalloc(1, sizeof *o);
	o->c = c;
	o->r = c->report;
	o->doc = parse(o);
	const xmlNode *env = o->doc ? xmlDocGetRootElement(o->doc) : NULL;
	if (o->doc && o->doc->intSubset) {
		/* No OVF has one; its entities are not expanded, and the tree is not walked. */
		lint_add(o->r, LINT_ERROR, "ovf-xml", PRODUCT_ALL, "the descriptor declares a DTD, which importers do not expect");
		env = NULL;
	}
	if (env && !is_el(env, "Envelope", NULL))
		lint_add(o->r, LINT_ERROR, "ovf-xml", PRODUCT_ALL, "the root element is <%s>, not <Envelope>", env->name);
	else if (env && in_ns(env, NS_OVF2))
		lint_add(o->r, LINT_WARNING, "ovf-version", PRODUCT_WORKSTATION | PRODUCT_ESXI,
			 "an OVF 2.0 envelope: older VMware products read OVF 1.0 only");
	else if (env && !in_ns(env, NS_OVF1))
		lint_add(o->r, LINT_ERROR, "ovf-version", PRODUCT_ALL, "the envelope is not in the OVF 1.0 namespace (" NS_OVF1 ")");
	if (env && is_el(env, "Envelope", NS_OVF1)) {
		read_references(o, env);
		read_disks(o, env);
		read_networks(o, env);
		check_files(o);
		const xmlNode *vs = child(env, "VirtualSystem", NS_OVF1);
		if (vs)
			check_virtual_system(o, vs);
		else if (child(env, "VirtualSystemCollection", NS_OVF1))
			lint_add(o->r, LINT_NOTE, "required-sections", PRODUCT_ALL,
				 "a VirtualSystemCollection: its systems are not checked");
		else
			lint_add(o->r, LINT_ERROR, "required-sections", PRODUCT_ALL, "no VirtualSystem");
	}
	release(o);
	free(o);
}

void lint_ovf_release(struct lint_ctx *c)
{
	for (size_t i = 0; i < c->n_refs; i++)
		free(c->ref_hrefs[i]);
	free(c->ref_hrefs);
	c->ref_hrefs = NULL;
	c->n_refs = 0;
}
