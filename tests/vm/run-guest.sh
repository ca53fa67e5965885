#!/bin/bash
# run-guest.sh boots a throwaway pure cgroup v2 Linux guest under QEMU (TCG, no KVM)
# and runs one test script in it. It exists because the development machines mount
# cgroups in hybrid mode, and tupper's v2 code must be tested on a real v2 kernel
# (see /work/shared/VM.md and tests/vm/README.md).
#
# usage: run-guest.sh [--timeout SECONDS] TESTSCRIPT [FILE[:GUESTPATH]...]
#
#   TESTSCRIPT  shell script run by /bin/sh (busybox) inside the guest; "-" reads stdin
#   FILE        copied into the guest at /usr/local/bin/<basename> (on PATH), or at
#               GUESTPATH when given; directories are copied recursively; dynamically
#               linked executables get their ldd libraries too
#
# The guest's console goes to stdout (CRs stripped); progress messages go to stderr.
# Exit status: the script's rc as reported by the guest, 124 when the timeout hit
# first, 1 when the guest stopped without a result line, 125 when the guest could not
# be built.
#
# Environment: TUPPER_VM_CACHE (default /var/cache/tupper-vm) holds the kernel and the
# busybox base archive; TUPPER_VM_KERNEL names a kernel to boot instead of Debian's
# (a bzImage, or a vmlinux with a PVH entry point).
set -euo pipefail
shopt -s inherit_errexit

readonly result_prefix='TUPPER-VM-RESULT rc='
readonly busybox=/bin/busybox

die() {
	echo "run-guest: $*" >&2
	exit 125
}

note() {
	echo "run-guest: $*" >&2
}

usage() {
	sed -n '7,17s/^# \{0,1\}//p' "$0"
}

# ensure_packages installs what the guest is built from. apt-get update runs only
# when the first install fails, so a machine with fresh lists needs no extra fetch.
ensure_packages() {
	local need=()
	command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	command -v cpio >/dev/null || need+=(cpio)
	# Debian compresses its kernel with xz; see unpack_vmlinux.
	command -v xz >/dev/null || need+=(xz-utils)
	# The dynamic "busybox" package also ships /bin/busybox, but the container
	# rootfs gets the same binary and holds no libraries, so only the static one works.
	[[ $(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null) == installed ]] ||
		need+=(busybox-static)
	((${#need[@]} == 0)) && return 0
	((EUID == 0)) || die "missing packages ${need[*]}; run as root or install them"
	note "installing ${need[*]}"
	local apt=(apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}")
	if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2; then
		apt-get update -o DPkg::Lock::Timeout=600 >&2 || die "apt-get update failed"
		DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2 || die "apt-get install ${need[*]} failed"
	fi
	local tool
	for tool in qemu-system-x86_64 cpio xz; do
		command -v "$tool" >/dev/null || die "$tool is still missing after apt-get install"
	done
}

# kernel_path prints the kernel to boot: the image package that linux-image-amd64
# depends on, fetched once and cached. The guest runs from an initramfs and loads no
# modules, so only the kernel image is kept.
kernel_path() {
	if [[ -n ${TUPPER_VM_KERNEL:-} ]]; then
		[[ -r $TUPPER_VM_KERNEL ]] || die "TUPPER_VM_KERNEL: cannot read $TUPPER_VM_KERNEL"
		echo "$TUPPER_VM_KERNEL"
		return
	fi
	local pkg
	pkg=$(kernel_package)
	if [[ -n $pkg && ! -f $cache/$pkg.vmlinuz ]] && ! fetch_kernel "$pkg"; then
		note "cannot download $pkg"
		pkg=
	fi
	if [[ -z $pkg ]]; then
		# Offline or stale lists: any kernel fetched before boots the same way.
		local f
		for f in "$cache"/linux-image-*.vmlinuz; do
			if [[ -f $f && (-z $pkg || $f -nt $cache/$pkg.vmlinuz) ]]; then
				pkg=$(basename "$f" .vmlinuz)
			fi
		done
		[[ -n $pkg ]] || die "no kernel: cannot download the package linux-image-amd64 depends on"
		note "using previously cached $pkg"
	fi
	if [[ -f $cache/$pkg.vmlinux ]]; then
		echo "$cache/$pkg.vmlinux"
	else
		echo "$cache/$pkg.vmlinuz"
	fi
}

# kernel_package prints the package name linux-image-amd64 depends on. apt-cache
# takes over a second here, so the answer is kept until the apt lists change.
kernel_package() {
	local stamp=$cache/kernel-package pkg
	if [[ -s $stamp && ! /var/lib/apt/lists -nt $stamp ]]; then
		cat "$stamp"
		return
	fi
	pkg=$(kernel_dependency)
	# A fresh machine (or container image) may have no package lists at all.
	if [[ -z $pkg ]] && ((EUID == 0)) && apt-get update -o DPkg::Lock::Timeout=600 >&2; then
		pkg=$(kernel_dependency)
	fi
	[[ -n $pkg ]] && echo "$pkg" >"$stamp"
	echo "$pkg"
}

kernel_dependency() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }' || true
}

# fetch_kernel downloads package $1 and caches its kernel as $1.vmlinuz, plus the
# uncompressed $1.vmlinux when that can be made.
fetch_kernel() {
	local pkg=$1 dl
	# The cache lock is held, so any download dir is left over from a killed run.
	rm -rf "$cache"/download.*
	dl=$(mktemp -d "$cache/download.XXXXXX")
	if ! download_kernel "$pkg" "$dl"; then
		rm -rf "$dl"
		return 1
	fi
	if unpack_vmlinux "$dl"/vmlinuz "$dl"/vmlinux; then
		mv "$dl"/vmlinux "$cache/$pkg.vmlinux"
	else
		note "cannot uncompress the kernel of $pkg; booting the compressed one (5 s slower)"
	fi
	mv "$dl"/vmlinuz "$cache/$pkg.vmlinuz"
	rm -rf "$dl"
}

# download_kernel leaves the kernel image of package $1 in $2/vmlinuz.
download_kernel() {
	local pkg=$1 dl=$2
	note "downloading $pkg"
	# Sandbox user root: _apt cannot write into a root-owned 0700 temp dir.
	local get=(apt-get download -o APT::Sandbox::User=root "$pkg")
	if ! (cd "$dl" && "${get[@]}" >&2); then
		((EUID == 0)) || return 1
		apt-get update -o DPkg::Lock::Timeout=600 >&2 || return 1
		(cd "$dl" && "${get[@]}" >&2) || return 1
	fi
	# Same as dpkg-deb -x, but unpacks only the kernel image, not 400 MB of modules.
	dpkg-deb --fsys-tarfile "$dl"/*.deb | tar -x -C "$dl" --wildcards './boot/vmlinuz-*' || return 1
	mv "$dl"/boot/vmlinuz-* "$dl"/vmlinuz
}

# unpack_vmlinux writes the ELF kernel inside bzImage $1 to $2. Under TCG the kernel
# takes about 5 s to decompress itself; QEMU boots the ELF directly through its PVH
# entry point (CONFIG_PVH, which Debian enables) and skips that.
unpack_vmlinux() {
	local bz=$1 out=$2 sects offset length decompress
	[[ $(od -An -c -j $((0x202)) -N4 "$bz" | tr -d ' ') == HdrS ]] || return 1
	# Boot protocol header fields: setup_sects, payload_offset, payload_length
	# (Documentation/arch/x86/boot.rst).
	sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz")
	offset=$(((sects + 1) * 512 + $(od -An -tu4 -j $((0x248)) -N4 "$bz")))
	length=$(od -An -tu4 -j $((0x24c)) -N4 "$bz")
	case $(od -An -tx1 -j "$offset" -N4 "$bz" | tr -d ' ') in
	fd377a58) decompress=xz ;;
	1f8b08*) decompress=gzip ;;
	28b52ffd) decompress=zstd ;;
	*) return 1 ;;
	esac
	command -v "$decompress" >/dev/null || return 1
	# The payload ends with the uncompressed size, which the decompressor reports
	# as trailing garbage; the result is checked instead of its exit status.
	tail -c +$((offset + 1)) "$bz" | head -c "$length" | "$decompress" -dc >"$out" 2>/dev/null || true
	[[ $(od -An -tx1 -N4 "$out" | tr -d ' ') == 7f454c46 ]] || return 1
	# The XEN_ELFNOTE_PHYS32_ENTRY note (type 18) that QEMU needs to boot an ELF.
	LC_ALL=C grep -qaP '\x04\x00\x00\x00\x08\x00\x00\x00\x12\x00\x00\x00Xen\x00' "$out"
}

# link_applets makes every busybox applet a symlink to /bin/busybox under root $1.
link_applets() {
	local root=$1 applet
	mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin
	cp "$busybox" "$root"/bin/busybox
	while read -r applet; do
		if [[ $applet == */* && ! -e $root/$applet ]]; then
			ln -s /bin/busybox "$root/$applet"
		fi
	done < <("$busybox" --list-full)
}

# write_etc gives root $1 the accounts a container test may name.
write_etc() {
	mkdir -p "$1"/etc
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$1"/etc/passwd
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$1"/etc/group
}

# base_archive prints a cached gzip'd cpio with everything that does not change
# between runs: busybox, /init and /rootfs-template. Its name carries a hash of this
# script and of busybox, so editing either rebuilds it.
base_archive() {
	local key archive root
	key=$(cat "$0" "$busybox" | sha256sum | cut -c1-16)
	archive=$cache/base-$key.cpio.gz
	if [[ ! -f $archive ]]; then
		root=$work/base
		mkdir -m 0755 "$root"
		link_applets "$root"
		write_etc "$root"
		mkdir -p "$root"/{dev,proc,sys,run,tmp,root,newroot,bundle,usr/local/bin}
		write_init >"$root"/init
		chmod 0755 "$root"/init
		link_applets "$root"/rootfs-template
		write_etc "$root"/rootfs-template
		mkdir -p "$root"/rootfs-template/{dev,proc,sys,run,tmp,root}
		chmod 1777 "$root"/tmp "$root"/rootfs-template/tmp
		(cd "$root" && find . | cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$archive.tmp"
		rm -f "$cache"/base-*.cpio.gz
		mv "$archive.tmp" "$archive"
		rm -rf "$root"
	fi
	echo "$archive"
}

# write_init prints the guest's PID 1. It runs twice: first from the initramfs, where
# it copies the initramfs into a tmpfs and switch_roots into it, because pivot_root(2)
# fails with EINVAL while / is the initramfs itself and containers need pivot_root;
# then as "/init stage2" from the tmpfs, where it sets up the v2 host and runs the test.
write_init() {
	cat <<'EOF'
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
if [ "$1" != stage2 ]; then
	# The initramfs has no /dev/console node (the archive is built without mknod).
	mount -t devtmpfs devtmpfs /dev
	exec </dev/console >/dev/console 2>&1
	mount -t tmpfs -o mode=0755 rootfs /newroot
	for d in /* /.[!.]*; do
		case $d in /newroot | /dev | /proc | /sys | '/.[!.]*') ;; *) cp -a "$d" /newroot/ ;; esac
	done
	mkdir -p /newroot/dev /newroot/proc /newroot/sys
	mount --move /dev /newroot/dev
	exec switch_root /newroot /init stage2
	echo "tupper-vm: switch_root failed"
	exit 1
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# The options systemd uses, so the guest looks like a production v2 host.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=0755 run /run
mount -t tmpfs -o mode=1777 tmp /tmp
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control ||
		echo "tupper-vm: cannot enable cgroup controller $c"
done
hostname tupper-vm
ip link set lo up
[ -e /bundle/rootfs ] || cp -a /rootfs-template /bundle/rootfs
# The leading newline ends whatever the firmware left unterminated on the console.
printf '\nTUPPER-VM-BEGIN uptime=%s\n' "$(cut -d' ' -f1 /proc/uptime)"
cd /
sh /test.sh </dev/null
rc=$?
echo "TUPPER-VM-RESULT rc=$rc"
sync
# Let the console drain first: the kernel's "sysrq: Power Off" goes straight
# to the serial port and could land inside the result line.
sleep 1
# "o" powers off at once, without userspace shutdown; QEMU then exits.
echo o >/proc/sysrq-trigger
sleep 30
EOF
}

# add_file copies host path $1 to guest path $2 inside root $3, with the libraries a
# dynamic executable needs at the same paths as on the host.
add_file() {
	local src=$1 dest=$2 root=$3 lib
	[[ -e $src ]] || die "no such file: $src"
	mkdir -p "$root$(dirname "$dest")"
	if [[ -d $src ]]; then
		cp -a "$src" "$root$dest"
		return 0
	fi
	cp -L --preserve=mode "$src" "$root$dest"
	[[ -x $src ]] || return 0
	# ldd fails on static binaries and scripts; both need nothing more.
	while read -r lib; do
		if [[ ! -e $root$lib ]]; then
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		fi
	done < <(ldd "$src" 2>/dev/null | grep -o '/[^ ]*' || true)
}

# run_archive prints a gzip'd cpio holding this run's test script and files.
run_archive() {
	local script=$1 root=$work/run arg src dest
	shift
	mkdir -m 0755 "$root"
	if [[ $script == - ]]; then
		cat >"$root"/test.sh
	else
		cp "$script" "$root"/test.sh
	fi
	for arg in "$@"; do
		src=${arg%%:*}
		dest=${arg#*:}
		[[ $arg == *:* ]] || dest=/usr/local/bin/$(basename "$src")
		[[ $dest == /* ]] || die "guest path must be absolute: $arg"
		add_file "$src" "$dest" "$root"
	done
	(cd "$root" && find . | cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$work"/run.cpio.gz
	echo "$work"/run.cpio.gz
}

main() {
	local timeout_s=600
	while (($# > 0)); do
		case $1 in
		--timeout) timeout_s=${2:?--timeout needs SECONDS}; shift 2 ;;
		--timeout=*) timeout_s=${1#*=}; shift ;;
		-h | --help) usage; exit 0 ;;
		--) shift; break ;;
		-?*) usage >&2; exit 125 ;;
		*) break ;;
		esac
	done
	(($# >= 1)) || { usage >&2; exit 125; }
	[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout: not a number of seconds: $timeout_s"
	local script=$1
	shift
	[[ $script == - || -r $script ]] || die "cannot read test script $script"

	cache=${TUPPER_VM_CACHE:-/var/cache/tupper-vm}
	mkdir -p "$cache" || die "cannot create cache dir $cache"
	work=$(mktemp -d "${TMPDIR:-/tmp}/tupper-vm.XXXXXX")
	trap 'rm -rf "$work"' EXIT

	local start=$SECONDS kernel base run
	# Concurrent runs share the cache and apt's lock: set both up one at a time.
	exec 9>"$cache"/lock
	flock -w 1800 9 || die "cannot lock $cache/lock"
	ensure_packages
	kernel=$(kernel_path)
	base=$(base_archive)
	# Copied under the lock: a run of another version of this script may replace it.
	cp "$base" "$work"/initrd.gz
	flock -u 9
	local t0=$EPOCHREALTIME
	# The kernel unpacks concatenated archives in order, later files over earlier.
	run=$(run_archive "$script" "$@")
	cat "$run" >>"$work"/initrd.gz
	note "initramfs built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2fs", b - a }')" \
		"($(du -k "$work"/initrd.gz | cut -f1) KiB), setup took $((SECONDS - start))s, booting $(basename "$kernel")"

	local rc=0
	# Escape sequences are the firmware's (clear screen and the like). stdin is
	# /dev/null because with -nographic QEMU would otherwise put a terminal in raw mode.
	# loglevel=5: the backtrace of a soft lockup or a hung task (printed at the
	# default level, 4) reaches the console log.
	# thread=single: one host thread runs both vCPUs. With a thread each
	# (multi-threaded TCG), two CI runs on 2026-11-28 hung in validation:
	# both vCPUs spun for minutes in ___slab_alloc at a jump-label site
	# (RIP on the patched "jmp", an int3 of the kernel's text patching on the
	# other CPU), which is how a vCPU looks when it keeps running code
	# another one has just rewritten. Three full guest runs in between passed,
	# and so did the run with thread=single, a fifth slower (4m55s).
	timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 -accel tcg,thread=single \
		-kernel "$kernel" -initrd "$work"/initrd.gz \
		-append "console=ttyS0 cgroup_no_v1=all panic=-1 loglevel=5" \
		-nographic -no-reboot -nic none -m 2048 -smp 2 </dev/null |
		sed -u 's/\r//g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' | tee "$work"/console.log ||
		rc=${PIPESTATUS[0]}

	local result
	result=$(grep -a "^${result_prefix}[0-9]*\$" "$work"/console.log | tail -n1) || true
	if [[ -n $result ]]; then
		exit "${result#"$result_prefix"}"
	fi
	# timeout(1) exits 125 when it fails itself, 126 and 127 when QEMU cannot run.
	((rc < 125 || rc > 127)) || die "cannot run qemu-system-x86_64 (exit $rc)"
	if ((rc == 124 || rc == 137)); then
		note "timed out after ${timeout_s}s"
		exit 124
	fi
	note "guest stopped without a result line (qemu rc=$rc)"
	exit 1
}

main "$@"
