package v2

// guestScript runs as root in the guest (busybox sh). Every fact the test
// asserts is one line "CHECK key value" (value on one line, blanks
// collapsed); the Go side parses them. The script never stops early: a
// step that fails prints what it got and the next one runs.
const guestScript = `
cg=/sys/fs/cgroup
T="tupper --root /run/tupper"
check() { set -f; k=$1; shift; echo "CHECK $k" $*; set +f; }
# said ID: the output of container ID that is not a CHECK line (tupper's
# errors, a crash), shortened to its first two lines and its last.
said() {
	grep -v -e '^CHECK' -e '^[[:space:]]' -e '^$' /tmp/$1.out >/tmp/$1.said
	{ head -n 2 /tmp/$1.said; [ "$(wc -l </tmp/$1.said)" -gt 2 ] && tail -n 1 /tmp/$1.said; }
}
yes_if() { if "$@"; then echo yes; else echo no; fi; }
gone() { check "$1.gone" "$(yes_if test ! -d "$2")"; }
# stopped ID waits (at most 30 s) until the container's process has exited.
stopped() {
	i=0
	while [ $i -lt 300 ]; do
		case $($T state "$1" 2>&1) in *'"stopped"'*) return 0 ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# within DIR CMD... runs CMD with its own cgroup set to DIR.
within() { sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$@"; }

cp /probe.sh /bundle/rootfs/probe.sh

# tupper's own cgroup becomes /runner/shell. It holds processes, so v2's
# "no internal processes" rule keeps it from giving its children memory or
# io; like runc on v2, relative cgroup paths land under its parent, /runner,
# which holds no process and so may delegate every controller.
mkdir -p $cg/runner/shell
echo $$ >$cg/runner/shell/cgroup.procs
check setup.own "$(cat /proc/self/cgroup)"

# place CASE BUNDLE ID DIR [OWN]: create (tupper in cgroup OWN), look from
# the host while the init waits on the exec fifo, start, print what the
# container saw, delete, check DIR is gone. FILES are dumped from DIR.
place() {
	c=$1 b=/bundles/$2 id=$3 dir=$4 own=${5:-$cg/runner/shell}
	rm -f /tmp/$id.pid
	within "$own" $T create --bundle "$b" --pid-file /tmp/$id.pid "$id" >/tmp/$id.out 2>&1
	rc=$?
	if [ $rc != 0 ]; then
		check "$c.create" "rc=$rc: $(said $id)"
		gone "$c" "$dir"
		return
	fi
	check "$c.create" ok
	pid=$(cat /tmp/$id.pid)
	check "$c.pid" "$pid"
	check "$c.dir" "$(yes_if test -d "$dir")"
	check "$c.host_cgroup" "$(cat /proc/$pid/cgroup)"
	check "$c.procs" "$(cat "$dir/cgroup.procs" 2>&1)"
	for f in $FILES; do
		check "$c.file.$f" "$(cat "$dir/$f" 2>&1)"
	done
	$T start "$id" >>/tmp/$id.out 2>&1 || check "$c.start" "rc=$?"
	stopped "$id" || check "$c.stopped" "no: $($T state "$id" 2>&1)"
	grep '^CHECK' /tmp/$id.out
	check "$c.said" "$(said $id)"
	$T delete --force "$id" || check "$c.delete" "rc=$?"
	gone "$c" "$dir"
}

# run_case CASE BUNDLE ID DIR: tupper run --keep, then what the cgroup
# recorded (FILES), delete, check DIR is gone.
run_case() {
	c=$1 b=/bundles/$2 id=$3 dir=$4
	$T run --keep --bundle "$b" "$id" >/tmp/$id.out 2>&1
	check "$c.rc" $?
	grep '^CHECK' /tmp/$id.out
	check "$c.said" "$(said $id)"
	# Gone when the run failed (undone): the checks of the files skip.
	[ -d "$dir" ] && for f in $FILES; do
		check "$c.file.$f" "$(cat "$dir/$f" 2>&1)"
	done
	$T delete --force "$id" || check "$c.delete" "rc=$?"
	gone "$c" "$dir"
}

# 1, 2, 4: placement, the init in its cgroup before it runs, cgroup namespace.
FILES=
place default place-default pd $cg/runner/pd
place relative place-rel pr $cg/runner/foo/bar
place absolute place-abs pa $cg/tupper/abs
place rootown place-rootown pro $cg/pro $cg
place nons place-nons pn $cg/tupper/nons
check info.shell_type "$(cat $cg/runner/shell/cgroup.type)"
check info.shell_subtree "$(cat $cg/runner/shell/cgroup.subtree_control)"
place defaultmem place-mem pm $cg/runner/pm

# 3: resources.
FILES="memory.max memory.swap.max memory.low memory.high memory.oom.group cpu.max cpu.weight pids.max io.weight io.bfq.weight cpuset.cpus cpuset.mems"
place res res res $cg/tupper/res

FILES="memory.events"
run_case oom oom oom $cg/tupper/oom

# 6: a fork loop under pids.max, delete of a busy container.
FILES="pids.events pids.max"
run_case forks forks forks $cg/tupper/forks

# pids.max 1 is room enough for a container whose only process is its init.
$T run --bundle /bundles/pids1 pids1 >/tmp/pids1.out 2>&1
check pids1.rc $?
check pids1.said "$(said pids1)"
gone pids1 $cg/tupper/pids1

$T run --detach --bundle /bundles/busy busy >/dev/null 2>&1
check busy.run "$?"
i=0
while [ $i -lt 100 ] && [ "$(wc -l <$cg/tupper/busy/cgroup.procs)" -lt 3 ]; do sleep 0.1; i=$((i + 1)); done
check busy.procs "$(wc -l <$cg/tupper/busy/cgroup.procs)"
$T delete --force busy
check busy.delete "$?"
gone busy $cg/tupper/busy

# 5: devices.
FILES=
run_case dev dev dev $cg/tupper/dev
run_case devallow dev-allow devallow $cg/tupper/devallow

# Every container's cgroup is gone; what is left are parents.
check final.dirs "$(cd $cg && find . -mindepth 1 -type d | sort)"

# The peers, where the host has them, on the cases tupper failed at some
# point: for the report, not judged. Their cgroups are left to them.
for rt in crun runc; do
	command -v $rt >/dev/null || continue
	for b in pids1 peer-default peer-mem; do
		$rt --root /run/peer-$rt run --bundle /bundles/$b $b-$rt >/tmp/$b-$rt.out 2>&1
		check peer.$b.$rt "rc=$?: $(cat /tmp/$b-$rt.out)"
	done
done

# 7: N sequential runs of /bin/true per runtime, interleaved, after one
# warm-up run each. /proc/uptime has 10 ms steps.
N=10
rts=tupper
for rt in crun runc; do command -v $rt >/dev/null && rts="$rts $rt"; done
for rt in $rts; do
	m=$($rt --root /run/bench-$rt run --bundle /bundles/bench warm-$rt 2>&1) || check "bench.$rt.warmup" "rc=$?: $m"
	eval "ms_$rt=0 ok_$rt=0"
done
i=0
while [ $i -lt $N ]; do
	i=$((i + 1))
	for rt in $rts; do
		t0=$(cut -d' ' -f1 /proc/uptime)
		$rt --root /run/bench-$rt run --bundle /bundles/bench b$i-$rt >/dev/null 2>&1
		rc=$?
		t1=$(cut -d' ' -f1 /proc/uptime)
		eval "ms_$rt=\$((ms_$rt + $(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%d", (b - a) * 1000 + 0.5 }')))"
		[ $rc = 0 ] && eval "ok_$rt=\$((ok_$rt + 1))"
	done
done
for rt in $rts; do
	eval "check bench.$rt \"runs=$N ok=\$ok_$rt ms=\$ms_$rt\""
done
`

// probeScript runs inside the containers as /probe.sh MODE CASE and prints
// CHECK lines named CASE.in.*.
const probeScript = `
c=$2
check() { set -f; k=$1; shift; echo "CHECK $c.in.$k" $*; set +f; }
# try KEY CMD: runs CMD in a shell; prints ok or its error message.
try() { k=$1; shift; if m=$(sh -c "$*" 2>&1); then m=ok; fi; check "$k" "$m"; }

case $1 in
view)
	check cgroup "$(cat /proc/self/cgroup)"
	check mount "$(awk '$5 == "/sys/fs/cgroup" { i = 7; while ($i != "-") i++; print $4, $(i + 1) }' /proc/self/mountinfo)"
	check memory.max "$(cat /sys/fs/cgroup/memory.max 2>&1)"
	kids=
	for d in /sys/fs/cgroup/*; do [ -d "$d" ] && kids="$kids ${d##*/}"; done
	check children "${kids:-none}"
	# cgroup.procs of the mount lists this shell (pid 1), its child and
	# nothing else: read with builtins, so that no other process runs.
	sleep 30 &
	s=$!
	n=0 init=no child=no foreign=
	while read -r p; do
		n=$((n + 1))
		[ -d /proc/$p ] || foreign="$foreign$p,"
		[ "$p" = 1 ] && init=yes
		[ "$p" = "$s" ] && child=yes
	done </sys/fs/cgroup/cgroup.procs
	kill $s
	check procs "n=$n init=$init child=$child foreign=${foreign:-none}"
	;;
oom)
	# busybox tail keeps a line that never ends in memory.
	head -c 268435456 /dev/zero | tail
	rc=$?
	check hog_rc $rc
	exit $rc
	;;
forks)
	# Nothing may be forked to report the count once forks fail, so the
	# loop writes it to a file and the builtin read takes it back.
	sh -c 'i=0; while [ $i -lt 20 ]; do sleep 10 & i=$((i + 1)); echo $i >/dev/forked; done' 2>/dev/null
	read -r n </dev/forked
	check forked "$n"
	read -r e </sys/fs/cgroup/pids.events
	check pids.events "$e"
	;;
dev)
	try kmsg_write ': >/dev/kmsg'
	try null_write 'echo x >/dev/null'
	try zero_read 'head -c1 /dev/zero >/dev/null'
	try mknod 'mknod /dev/probe c 1 11 && rm /dev/probe'
	;;
esac
`
