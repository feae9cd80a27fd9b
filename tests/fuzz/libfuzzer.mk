# tests/fuzz/libfuzzer.mk: clang libFuzzer builds of the harnesses (for `make fuzz`).
#
# Read after the main Makefile (make -f Makefile -f tests/fuzz/libfuzzer.mk),
# so the source list and flags are the main build's: the project's library is
# rebuilt with clang into build/fuzz/ (instrumented for coverage, ASan, UBSan)
# and each tests/fuzz/fuzz_X.c becomes build/fuzz/fuzz_X.
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS  := $(LIB_SRCS:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(DEFS) -MMD -MP -c $< -o $@

build/fuzz/libapkg.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libapkg.a
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $(DEFS) -o $@ $< build/fuzz/libapkg.a $(PKG_LIBS)

# The VMM's harnesses (fuzz_virtqueue, fuzz_virtio_blk) link only the VMM
# and what it uses, so that `make check` can build and run them in a bounded
# time (tests/integration/fuzz_vmm.sh) without rebuilding all of apkg with clang.
FUZZ_VMM_SRCS := $(filter vmm/% util/%,$(LIB_SRCS)) formats/reader.c $(wildcard formats/qcow2/qcow2_reader.c formats/qcow2/qcow2_codec.c)
FUZZ_VMM_OBJS := $(FUZZ_VMM_SRCS:%.c=build/fuzz/obj/%.o)
FUZZ_VMM_HARNESSES := build/fuzz/fuzz_virtqueue build/fuzz/fuzz_virtio_blk

build/fuzz/libvmm.a: $(FUZZ_VMM_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_VMM_HARNESSES): build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libvmm.a
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $(DEFS) -o $@ $< build/fuzz/libvmm.a -lzstd -ldeflate -lz -pthread
