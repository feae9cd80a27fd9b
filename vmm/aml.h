/* vmm/aml.h: a small AML emitter for the DSDT (ACPI 6.5, chapter 20).
 *
 * Enough of the language to describe fixed devices: Scope, Device, Name
 * with integers, strings, EISA IDs, packages of integers and resource
 * templates (IO, IRQNoFlags, Memory32Fixed, extended Interrupt). Objects
 * are appended to strbufs; a container (Scope, Device) wraps a finished
 * body, so package lengths are always exact. Names are 1 to 4 characters
 * (padded with '_'), optionally preceded by '\' for the root.
 */
#ifndef APKG_VMM_AML_H
#define APKG_VMM_AML_H

#include "util/strbuf.h"

#include <stddef.h>
#include <stdint.h>

void aml_integer(struct strbuf *sb, uint64_t v);
void aml_string(struct strbuf *sb, const char *s);
/* "PNP0501" -> its compressed 32-bit EISA ID, as an integer. */
void aml_eisaid(struct strbuf *sb, const char *id);

void aml_name_integer(struct strbuf *sb, const char *name, uint64_t v);
void aml_name_string(struct strbuf *sb, const char *name, const char *s);
void aml_name_eisaid(struct strbuf *sb, const char *name, const char *id);
void aml_name_package(struct strbuf *sb, const char *name, const uint64_t *v, unsigned n);
/* Name(name, ResourceTemplate() { resources }); resources built with aml_res_*, without the end tag. */
void aml_name_resources(struct strbuf *sb, const char *name, const struct strbuf *resources);

void aml_scope(struct strbuf *sb, const char *name, const struct strbuf *body);
void aml_device(struct strbuf *sb, const char *name, const struct strbuf *body);

/* Resource descriptors (ACPI 6.5, 6.4). */
void aml_res_io(struct strbuf *rt, uint16_t base, uint8_t len);
void aml_res_irq_noflags(struct strbuf *rt, unsigned irq);
void aml_res_memory32_fixed(struct strbuf *rt, uint32_t base, uint32_t len);
void aml_res_interrupt(struct strbuf *rt, uint32_t gsi, int edge, int active_low);

/* Exposed for the tests: ACPI 6.5, 20.2.4 PkgLength of a body of len bytes. */
size_t aml_pkglength(uint8_t out[4], size_t body_len);

#endif
