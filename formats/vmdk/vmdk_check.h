/* formats/vmdk/vmdk_check.h: validating a streamOptimized VMDK as it streams by.
 *
 * `apkg lint` reads an OVA once, front to back, out of a tar: the disk is
 * never on a seekable file. This checker therefore takes the VMDK in
 * chunks of any size and validates it in one pass, with memory bounded
 * by one compressed grain and one grain table window: the header and
 * descriptor (createType, capacity, version 3, flags, compression), every
 * grain marker (LBA in range and grain-aligned, the zlib stream inflating
 * to a whole grain), every grain table against the grains before it, the
 * grain directory against the tables, the footer against the header, and
 * the end-of-stream marker as the very last sector (ESXi's OVF deploy
 * fails without it: qemu issue #1357).
 *
 * The input is hostile: every length is bounded before it is trusted.
 * Problems are reported through a callback with a rule name (see
 * formats/ova/lint.c for what each rule means to which product).
 */
#ifndef APKG_FORMATS_VMDK_CHECK_H
#define APKG_FORMATS_VMDK_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Rules reported here. */
#define VMDK_RULE_HEADER "vmdk-header"         /* not a sparse VMDK, or header fields unusable */
#define VMDK_RULE_VERSION "vmdk-version"       /* streamOptimized that is not version 3 */
#define VMDK_RULE_DESCRIPTOR "vmdk-descriptor" /* createType, extent line, CID */
#define VMDK_RULE_GRAIN "vmdk-grain"           /* a grain marker or its compressed data */
#define VMDK_RULE_TABLES "vmdk-tables"         /* grain tables, directory, footer */
#define VMDK_RULE_EOS "vmdk-eos"               /* end-of-stream marker missing or not last */
#define VMDK_RULE_TRAILING "vmdk-trailing"     /* zero sectors after the end-of-stream marker (a note) */

typedef void (*vmdk_check_report_fn)(void *arg, const char *rule, const char *message);

struct vmdk_check;

struct vmdk_check *vmdk_check_new(vmdk_check_report_fn report, void *arg);
/* Feeds the next len bytes of the file. Returns 0, or -1 once a problem
 * makes the rest of the stream unreadable (further feeding is ignored). */
int vmdk_check_feed(struct vmdk_check *c, const void *data, size_t len);
/* The file ended: reports what is missing at the end. */
void vmdk_check_end(struct vmdk_check *c);
void vmdk_check_free(struct vmdk_check *c);

/* What the header said (valid once the first sector was fed). */
int vmdk_check_have_header(const struct vmdk_check *c);
uint64_t vmdk_check_capacity_bytes(const struct vmdk_check *c);
/* Number of problems reported so far. */
unsigned vmdk_check_problems(const struct vmdk_check *c);

#endif
