#!/usr/bin/env bash
# Runs a command inside a throwaway VM whose kernel has the vsock loopback transport (CID 1), because this machine's
# kernel has /dev/vsock but no loopback, and nothing here may connect to CID 2 or our own CID (the hypervisor).
#
#   tests/vm/run-in-vm.sh [FILE|DIR ...] -- COMMAND [ARGS...]
#
# Boots Debian's linux-image-amd64 kernel under qemu-system-x86_64 with software emulation (-accel tcg), on an
# initramfs built now: busybox, the given files at their own absolute paths, the shared-library closure (ldd,
# including the dynamic loader) of every ELF among them, and the vsock, vmw_vsock_virtio_transport_common and
# vsock_loopback modules of that very kernel. The guest's init loads the modules, brings up lo, runs the command,
# prints "NOTIFY-VM-EXIT <code>" on the serial console and powers off. This script exits with the guest command's
# exit code; 124 on timeout; 125 when the VM could not run (no marker). Env: NOTIFY_VM_TIMEOUT (s, default 600; the
# guest command gets 60 s less, so a hung test ends as a guest-side 124 with its output on the console, before CTest's
# own 900 s), NOTIFY_VM_BOOT_TIMEOUT (s to reach the guest's init, default 240; a boot that stalls is retried once,
# since the test has not run yet), NOTIFY_VM_MEMORY (default 1024M), NOTIFY_VM_KERNEL (a version under /lib/modules;
# default: newest with a vmlinuz).
#
# The guest CPU has RDRAND (-cpu qemu64,+rdrand; TCG emulates it from the host's RNG) so the guest kernel's CRNG is
# ready at boot: without it getrandom() — which OpenSSL calls for every key and handshake — blocks until the jitter
# entropy collector finishes, and under software emulation on a busy host that can take minutes.
set -euo pipefail

files=()
while (($#)); do
  if [[ $1 == -- ]]; then shift; break; fi
  files+=("$1"); shift
done
(($#)) || { echo "usage: $0 [files...] -- command [args...]" >&2; exit 2; }

qemu=$(command -v qemu-system-x86_64 || true)
busybox=$(command -v busybox || true)
[[ -n $qemu ]] || { echo "run-in-vm: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)" >&2; exit 125; }
[[ -n $busybox ]] || { echo "run-in-vm: busybox not installed (apt-get install busybox-static)" >&2; exit 125; }

kver=${NOTIFY_VM_KERNEL:-}
if [[ -z $kver ]]; then
  for v in $(ls -1 /lib/modules 2>/dev/null | sort -V -r); do
    if [[ -r /boot/vmlinuz-$v ]] && compgen -G "/lib/modules/$v/kernel/net/vmw_vsock/vsock_loopback.ko*" >/dev/null; then kver=$v; break; fi
  done
fi
kernel=/boot/vmlinuz-$kver
[[ -n $kver && -r $kernel ]] || { echo "run-in-vm: no readable /boot/vmlinuz-* with vsock_loopback in /lib/modules (apt-get install linux-image-amd64)" >&2; exit 125; }

work=$(mktemp -d "${TMPDIR:-/tmp}/notify-vm.XXXXXX")
qemu_pid=
cleanup() {
  if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,run,modules}

# The file at the same absolute path in the guest (symlinks resolved: the guest has no /usr merge links).
put() {
  local src=$1 dst=$root$1
  mkdir -p "$(dirname "$dst")"
  cp -L --preserve=mode "$src" "$dst"
}
add_libs() {
  local f=$1
  [[ $(head -c4 "$f" 2>/dev/null | od -An -c | tr -d ' ') == 177ELF ]] || return 0
  ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3; next} $1 ~ /^\// {print $1}' | while read -r lib; do
    [[ -e $root$lib ]] || put "$lib"
  done
}

cp "$busybox" "$root/bin/busybox"
for f in "${files[@]}"; do
  f=$(realpath -s "$f")
  if [[ -d $f ]]; then
    mkdir -p "$root$f"; cp -aL "$f/." "$root$f/"
    while IFS= read -r -d '' x; do add_libs "$x"; done < <(find "$f" -type f -print0)
  else
    put "$f"; add_libs "$f"
  fi
done

mods=(vsock vmw_vsock_virtio_transport_common vsock_loopback)  # dependency order
for m in "${mods[@]}"; do
  src=$(find "/lib/modules/$kver/kernel/net/vmw_vsock" -name "$m.ko*" | head -1)
  [[ -n $src ]] || { echo "run-in-vm: module $m missing for kernel $kver" >&2; exit 125; }
  case $src in
    *.xz) xz -dc "$src" > "$root/modules/$m.ko" ;;
    *.zst) zstd -qdc "$src" > "$root/modules/$m.ko" ;;
    *) cp "$src" "$root/modules/$m.ko" ;;
  esac
done

printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'hosts: files\n' > "$root/etc/nsswitch.conf"
# The command, quoted for the guest shell.
printf '%q ' "$@" > "$root/command"
timeout_s=${NOTIFY_VM_TIMEOUT:-600}
boot_timeout_s=${NOTIFY_VM_BOOT_TIMEOUT:-240}
echo $((timeout_s > 120 ? timeout_s - 60 : timeout_s / 2)) > "$root/guest_timeout"

cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
/bin/busybox --install -s /sbin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp
mkdir -p /root
# No tmpfs over /tmp: the initramfs root is already RAM, and files the host placed under /tmp (a checkout in /tmp,
# as CI may use) must stay visible.
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; chmod 1777 /tmp
for m in vsock vmw_vsock_virtio_transport_common vsock_loopback; do
  insmod /modules/$m.ko || echo "NOTIFY-VM: insmod $m failed"
done
ip link set lo up
echo "NOTIFY-VM-START"
cd /
timeout "$(cat /guest_timeout)" sh -c "$(cat /command)"
code=$?
[ "$code" = 143 ] && code=124  # busybox timeout reports the TERM it sent
[ "$code" = 124 ] && echo "NOTIFY-VM: the command did not finish in $(cat /guest_timeout)s and was stopped"
echo "NOTIFY-VM-EXIT $code"
sync
poweroff -f
INIT
chmod +x "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$work/initramfs.gz"

# One boot: 0 when qemu ended by itself, 124 when the whole run timed out, 3 when the guest's init never started.
# The console goes to a file (watched for the start marker) and is printed when the VM is gone, whatever the outcome.
boot() {
  : > "$work/console.log"
  "$qemu" -accel tcg -cpu qemu64,+rdrand -m "${NOTIFY_VM_MEMORY:-1024M}" -smp 2 -nographic -no-reboot -nodefaults \
    -serial stdio -monitor none -kernel "$kernel" -initrd "$work/initramfs.gz" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init" < /dev/null > "$work/console.log" 2>&1 &
  qemu_pid=$!
  local waited=0
  while kill -0 "$qemu_pid" 2>/dev/null; do
    if ((waited >= timeout_s * 10)); then
      echo "run-in-vm: timed out after ${timeout_s}s" >&2
      kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null
      return 124
    fi
    if ((waited >= boot_timeout_s * 10)) && ! grep -q NOTIFY-VM-START "$work/console.log"; then
      echo "run-in-vm: the guest did not reach its init in ${boot_timeout_s}s" >&2
      kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null
      return 3
    fi
    sleep 0.1; ((waited++))
  done
  wait "$qemu_pid" 2>/dev/null
  return 0
}
run_once() {
  local rc=0
  boot || rc=$?
  cat "$work/console.log"
  return "$rc"
}

start=$(date +%s.%N)
set +e
run_once; rc=$?
if ((rc == 3)); then echo "run-in-vm: booting once more" >&2; run_once; rc=$?; fi
set -e
((rc == 124)) && exit 124
((rc == 3)) && { echo "run-in-vm: the guest did not boot twice" >&2; exit 1; }
end=$(date +%s.%N)
code=$(tr -d '\r' < "$work/console.log" | sed -n 's/^NOTIFY-VM-EXIT \([0-9]*\)$/\1/p' | tail -1)
echo "run-in-vm: kernel $kver, VM ran $(awk "BEGIN{printf \"%.1f\", $end-$start}")s, guest exit ${code:-none}" >&2
[[ -n $code ]] || { echo "run-in-vm: the guest printed no exit marker" >&2; exit 125; }
exit "$code"
