#!/bin/bash
# tests/integration/repro_maps.sh: the structure maps of --verify-repro against independent tools.
#
# FAT: mkfs.fat and mcopy make a volume, mshowfat says which clusters each
# file has; the map must name the same file for a byte of each cluster, the
# FAT entry of a cluster, the directory entry and the volume serial. ext4:
# mke2fs -d makes a file system, debugfs `blocks` and `imap` say where a
# file's data and inode are; the map must name the file, and the mtime field
# inside its inode. GPT: sfdisk writes a table; the map names its fields.
# Trees: a changed mode, content, xattr and a missing entry are each named,
# with the dpkg package that owns the path.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/apkg-it-maps.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
tool=build/tools/repro_tool
[ -x "$tool" ] || { echo "$tool is not built (make check builds it)"; exit 1; }
says() { # expected-substring command...
	local want=$1 got
	shift
	got=$("$@" || true)
	case "$got" in *"$want"*) ;; *) fail "$* said \"$got\", expected \"$want\"" ;; esac
}

# ---- FAT ----
mkfs.fat -C -F 16 -n ESP -i 1a2b3c4d "$T/esp.img" 20480 >/dev/null
mmd -i "$T/esp.img" ::/EFI ::/EFI/BOOT
head -c 300000 /dev/urandom > "$T/big"
printf 'title apkg\n' > "$T/entry"
mcopy -i "$T/esp.img" "$T/big" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$T/esp.img" "$T/entry" "::/A long file name.conf"
read -r bps spc reserved nfats root_entries fat_sectors < <(python3 - "$T/esp.img" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read(512)
print(struct.unpack_from("<H", b, 11)[0], b[13], struct.unpack_from("<H", b, 14)[0], b[16],
      struct.unpack_from("<H", b, 17)[0], struct.unpack_from("<H", b, 22)[0])
PY
)
data=$(( (reserved + nfats * fat_sectors) * bps + root_entries * 32 ))
cluster_bytes=$((bps * spc))
# mshowfat: "::/EFI/BOOT/BOOTX64.EFI <3-76>" (cluster ranges)
first=$(mshowfat -i "$T/esp.img" ::/EFI/BOOT/BOOTX64.EFI | sed -n 's/.*<\([0-9]*\).*/\1/p')
[ -n "$first" ] || fail "mshowfat gave no cluster"
third=$((first + 2))
says "data cluster $third of /EFI/BOOT/BOOTX64.EFI (byte $((2 * cluster_bytes + 5)) of the file)" \
	"$tool" fat "$T/esp.img" $((data + (third - 2) * cluster_bytes + 5))
says "FAT #2: the entry of cluster $first (cluster #0 of /EFI/BOOT/BOOTX64.EFI)" \
	"$tool" fat "$T/esp.img" $(((reserved + fat_sectors) * bps + first * 2))
says "volume serial number" "$tool" fat "$T/esp.img" 39
says "boot sector: OEM name" "$tool" fat "$T/esp.img" 4
root=$(((reserved + nfats * fat_sectors) * bps))
lfn=$(python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); r=int(sys.argv[2])
print(next(r + i for i in range(0, 512 * 32, 32) if b[r + i + 11] == 0x0f))' "$T/esp.img" "$root")
says "directory /: the entry of /A long file name.conf (long name)" "$tool" fat "$T/esp.img" $((lfn + 2))
says "directory /: the entry of /A long file name.conf (size)" "$tool" fat "$T/esp.img" $((lfn + 2 * 32 + 29))
says "directory /: the volume label entry" "$tool" fat "$T/esp.img" $((root + 3))
says "free space" "$tool" fat "$T/esp.img" $((data + 9000 * cluster_bytes))
echo "FAT map agrees with mshowfat"

# ---- ext4 ----
mkdir -p "$T/tree/etc/deep"
printf 'configuration\n' > "$T/tree/etc/deep/app.conf"
head -c 200000 /dev/urandom > "$T/tree/etc/blob"
mke2fs -q -F -t ext4 -d "$T/tree" "$T/fs.ext4" 16M
bs=$(dumpe2fs -h "$T/fs.ext4" 2>/dev/null | sed -n 's/^Block size: *//p')
block=$(debugfs -R "blocks /etc/blob" "$T/fs.ext4" 2>/dev/null | awk '{print $3}')
says "data of /etc/blob" "$tool" ext4 "$T/fs.ext4" $((block * bs + 17))
# imap: "Inode 14 is part of block group 0\n\tlocated at block 1234, offset 0x0500"
read -r iblock ioff < <(debugfs -R "imap /etc/deep/app.conf" "$T/fs.ext4" 2>/dev/null |
	sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p')
says "the inode table of group 0: the mtime of /etc/deep/app.conf" "$tool" ext4 "$T/fs.ext4" $((iblock * bs + ioff + 16))
says "superblock of group 0: file system UUID" "$tool" ext4 "$T/fs.ext4" $((1024 + 104))
echo "ext4 map agrees with debugfs"

# ---- GPT ----
truncate -s 64M "$T/disk.raw"
printf 'label: gpt\nstart=2048, size=20480, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=22528, size=32768, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n' |
	sfdisk -q "$T/disk.raw"
dd if="$T/esp.img" of="$T/disk.raw" bs=512 seek=2048 conv=notrunc status=none
says "the primary GPT header: disk GUID" "$tool" disk "$T/disk.raw" $((512 + 60))
says "the primary GPT partition entry 2: unique partition GUID" "$tool" disk "$T/disk.raw" $((1024 + 128 + 20))
says "the backup GPT header: partition entries CRC32" "$tool" disk "$T/disk.raw" $((64 * 1048576 - 512 + 88))
says "the protective MBR: boot signature" "$tool" disk "$T/disk.raw" 511
says "partition 1, byte 39: FAT file system (ESP): boot sector: volume serial number" "$tool" disk "$T/disk.raw" $((2048 * 512 + 39))
echo "GPT map agrees with sfdisk"

# ---- root trees ----
mkdir -p "$T/a/var/lib/dpkg/info" "$T/a/usr/bin" "$T/a/etc"
printf '/.\n/usr\n/usr/bin\n/usr/bin/tool\n' > "$T/a/var/lib/dpkg/info/tool.list"
printf 'v1\n' > "$T/a/usr/bin/tool"
printf 'x\n' > "$T/a/etc/conf"
printf 'gone\n' > "$T/a/etc/extra"
cp -a "$T/a" "$T/b"
printf 'v2\n' > "$T/b/usr/bin/tool"
touch -r "$T/a/usr/bin/tool" "$T/b/usr/bin/tool"
chmod 600 "$T/b/etc/conf"
rm "$T/b/etc/extra"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.x", b"1")' "$T/b/etc/conf"
out=$("$tool" trees "$T/a" "$T/b" || true)
for want in "/usr/bin/tool: content (from package tool: it does not build reproducibly)" \
	"/etc/conf: mode, extended attributes (no package owns it" "/etc/extra: only in the first build"; do
	case "$out" in *"$want"*) ;; *) echo "$out"; fail "tree report lacks: $want" ;; esac
done
"$tool" trees "$T/a" "$T/a" >/dev/null || fail "a tree differs from itself"
echo "ok"
