# apkg: one build. See README.md for the two commands a newcomer runs.
#
#   make            bin/apkg, bin/apkg-init (static, for the initramfs), bin/apkg-probe (static, in-guest checks)
#   make check      unit tests (plain and ASan+UBSan), fuzz-corpus replays (ASan+UBSan), integration tests
#   make fuzz       libFuzzer runs of every harness (FUZZ_SECONDS each)
#   make bench      side-by-side measurements against peers (bench/RESULTS.md)
#   make run        deps, build, build recipes/hello.yaml and boot-check it
#   make deps       install every Debian package apkg needs (the one place that knows the list)
#   make install    PREFIX=/usr/local

PREFIX    ?= /usr/local
CC        ?= gcc
# Linked: cheap to load. libostree (with GLib) and libguestfs cost ~10 ms each at
# process start, so no binary links them: their headers check apkg's calls, and
# builder/ostree_dl.c and inspect/guestfs_dl.c load them on first use (util/dlopen.h;
# dlopen is in libc from glibc 2.34). Tests link the same way, so they run that code.
PKGS      := yaml-0.1 libarchive zlib libzstd libdeflate ext2fs com_err libxml-2.0
DLOPEN_PKGS := ostree-1 libguestfs
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(DLOPEN_PKGS) 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN      := -Wall -Wextra -Werror -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) -I. $(PKG_CFLAGS) -pthread
CFLAGS    ?= -O2 -g
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
DEFS      := -DAPKG_VERSION='"$(VERSION)"'

# Host-side library code: everything but the guest-side programs. The probe's
# checks-file format is shared: the builder writes what the probe reads.
LIB_SRCS  := $(filter-out initramfs/init.c, $(wildcard util/*.c builder/*.c formats/*.c formats/*/*.c repro/*.c \
		kernel/*.c initramfs/*.c validate/*.c validate/probe/checkfile.c publish/*.c vmm/*.c inspect/*.c))
CLI_SRCS  := $(wildcard cli/*.c)
INIT_SRCS := $(wildcard initramfs/init.c)
PROBE_SRCS := $(wildcard validate/probe/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)

OBJ       := build/obj
ASAN      := build/asan
LIB_OBJS  := $(LIB_SRCS:%.c=$(OBJ)/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(OBJ)/%.o)
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=$(ASAN)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/tests/%)
ASAN_UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(ASAN)/tests/%)
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(ASAN)/fuzz/replay_%)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=build/tools/%)

BINS := bin/apkg $(if $(INIT_SRCS),bin/apkg-init) $(if $(PROBE_SRCS),bin/apkg-probe)

.PHONY: all check unit guests vmm-check-bundle integration fuzz fuzz-replay bench run deps install clean
all: $(BINS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEFS) -MMD -MP -c $< -o $@

$(ASAN)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(DEFS) -MMD -MP -c $< -o $@

build/libapkg.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(ASAN)/libapkg.a: $(ASAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

bin/apkg: $(CLI_OBJS) build/libapkg.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -pthread -o $@ $(CLI_OBJS) build/libapkg.a $(PKG_LIBS)

# Guest-side programs are static: they run inside the initramfs and the appliance.
bin/apkg-init: $(INIT_SRCS) $(wildcard initramfs/init_*.h)
	@mkdir -p bin
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -Os -static -o $@ $(INIT_SRCS)

bin/apkg-probe: $(PROBE_SRCS)
	@mkdir -p bin
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -I. -Os -static -o $@ $^

build/tests/%: tests/unit/%.c build/libapkg.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEFS) -o $@ $< build/libapkg.a $(PKG_LIBS)

$(ASAN)/tests/%: tests/unit/%.c $(ASAN)/libapkg.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(DEFS) -o $@ $< $(ASAN)/libapkg.a $(PKG_LIBS)

# Small drivers that integration tests call to exercise one stage (they link the library, not the CLI).
build/tools/%: tests/tools/%.c build/libapkg.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEFS) -o $@ $< build/libapkg.a $(PKG_LIBS)

# Fuzz harnesses replayed over their corpus with gcc's ASan+UBSan (no clang needed in CI).
$(ASAN)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(ASAN)/libapkg.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(DEFS) -o $@ $< tests/fuzz/replay_main.c $(ASAN)/libapkg.a $(PKG_LIBS)

# VMM test guests (tests/vmm/guests/): freestanding C and assembly, linked at 1 MiB and
# wrapped into a real bzImage by a small host tool, so the VMM boots them like Linux.
GUEST_DIR  := tests/vmm/guests
GUEST_SRCS := $(filter-out $(GUEST_DIR)/mkbzimage.c,$(wildcard $(GUEST_DIR)/*.c $(GUEST_DIR)/*.S))
GUEST_CFLAGS := -std=gnu11 -O2 -m64 -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns \
	-fno-pic -fno-pie -fno-stack-protector -mno-red-zone -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fcf-protection=none $(WARN)
VMM_GUESTS := $(if $(GUEST_SRCS),build/vmm-guests/testguest.bzImage)

build/vmm-guests/testguest.elf: $(GUEST_SRCS) $(GUEST_DIR)/guest.h $(GUEST_DIR)/guest.ld
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -nostdlib -static -no-pie -Wl,-T,$(GUEST_DIR)/guest.ld -Wl,--build-id=none \
		-o $@ $(GUEST_SRCS)

build/vmm-guests/%.bin: build/vmm-guests/%.elf
	objcopy -O binary $< $@

build/vmm-guests/mkbzimage: $(GUEST_DIR)/mkbzimage.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) -O2 -o $@ $<

build/vmm-guests/%.bzImage: build/vmm-guests/%.bin build/vmm-guests/mkbzimage
	build/vmm-guests/mkbzimage $< $@

guests: $(VMM_GUESTS)

# `apkg boot` as one static binary, for tests/vmm/device_check.sh on machines without
# apkg's library dependencies (`make vmm-check-bundle` also builds the test appliance).
build/vmm-check/apkg-vmm: tests/vmm/apkg_vmm_static.c cli/cmd_boot.c build/libapkg.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEFS) -static -o $@ tests/vmm/apkg_vmm_static.c cli/cmd_boot.c \
		build/libapkg.a -lzstd -ldeflate -lz -pthread

vmm-check-bundle: all build/vmm-check/apkg-vmm $(VMM_GUESTS)
	@tests/vmm/make_check_bundle.sh

unit: $(UNIT_BINS) $(ASAN_UNIT_BINS) $(REPLAY_BINS) $(VMM_GUESTS)

check: all unit $(TOOL_BINS)
	@tests/run_all.sh

integration: all $(TOOL_BINS)
	@tests/run_all.sh --integration-only

FUZZ_SECONDS ?= 60
fuzz:
	@tests/fuzz/run_libfuzzer.sh $(FUZZ_SECONDS)

bench: all
	@bench/run.sh

deps:
	@tools/deps.sh

run: deps all
	@tools/run-example.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/apkg
	install -m 755 bin/apkg $(DESTDIR)$(PREFIX)/bin/apkg
	for b in $(filter-out bin/apkg,$(BINS)); do install -m 755 $$b $(DESTDIR)$(PREFIX)/lib/apkg/; done

clean:
	rm -rf build bin

-include $(shell find build -path build/bench -prune -o -name '*.d' -type f -print 2>/dev/null)
