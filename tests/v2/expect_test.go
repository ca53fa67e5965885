package v2

import (
	"fmt"
	"strings"
)

// ownParent says why relative placement on v2 uses the parent of tupper's
// own cgroup, as runc 1.1 does there (crun uses the root): tupper's own
// cgroup holds processes, tupper at least, and "no internal processes"
// keeps such a cgroup from enabling memory or io for its children; the
// kernel refuses CLONE_INTO_CGROUP into a child made "domain invalid" by
// enabling only threaded controllers (cpu, cpuset, pids) there.
const ownParent = "as runc does on cgroup v2: tupper's own cgroup holds processes, so its children cannot have memory or io (\"no internal processes\")"

// group is a subtest holding related checks.
type group struct {
	name   string
	checks []check
}

// The conversions the peers agree on, computed here from the formulas
// rather than copied from tupper, so that the test holds tupper to them:
// cpu.shares 2..262144 onto cpu.weight 1..10000, blkio weight 10..1000 onto
// io.weight 1..10000.
func wantCPUWeight(shares uint64) uint64 { return 1 + ((shares-2)*9999)/262142 }
func wantIOWeight(w uint64) uint64       { return 1 + ((w-10)*9999)/990 }

// expectations are the checks on what the guest printed; got is that
// output, for the checks that compare two keys.
func expectations(got map[string]string) []group {
	itoa := func(n int64) string { return fmt.Sprint(n) }
	return []group{
		{"setup", []check{
			{"own cgroup", "setup.own", equals("0::/runner/shell"),
				"the guest script moved itself (and so every tupper it runs) into /runner/shell"},
		}},
		placement("default", "/runner/pd", inNamespace|withMemory, got,
			"no linux.cgroupsPath: the cgroup is <id> under the parent of tupper's own cgroup /runner/shell, "+ownParent),
		placement("relative", "/runner/foo/bar", inNamespace|withMemory, got,
			"linux.cgroupsPath \"foo/bar\" is under the parent of tupper's own cgroup /runner/shell, "+ownParent),
		placement("absolute", "/tupper/abs", inNamespace|withMemory, got,
			"linux.cgroupsPath \"/tupper/abs\" is taken from the root of the hierarchy"),
		placement("rootown", "/pro", inNamespace|withMemory, got,
			"no linux.cgroupsPath with tupper itself in the root cgroup: the cgroup is /<id>"),
		placement("nons", "/tupper/nons", 0, got,
			"without a cgroup namespace the container sees its real cgroup"),
		{"default with memory limit", []check{
			{"create", "defaultmem.create", equals("ok"),
				"no linux.cgroupsPath and a memory limit: the cgroup /runner/pm can have the memory controller, " + ownParent},
			{"memory.max inside", "defaultmem.in.memory.max", equals(fmt.Sprint(memLimit)), "the limit applies"},
			{"cgroup removed", "defaultmem.gone", equals("yes"), "delete removes the cgroup"},
		}},
		resources(got),
		{"oom", []check{
			{"exit 137", "oom.rc", equals("137"),
				"a memory hog under memory.max 16M is killed by SIGKILL: tupper run exits 128+9"},
			{"hog killed", "oom.in.hog_rc", equals("137"), "inside, the hog's shell saw it killed by SIGKILL"},
			{"memory.events oom_kill", "oom.file.memory.events", counterAtLeast("oom_kill", 1),
				"the kernel counted the OOM kill in the container's cgroup"},
			{"cgroup removed", "oom.gone", equals("yes"), "delete removes the cgroup"},
		}},
		{"pids", []check{
			{"run", "forks.rc", equals("0"), "the fork loop container ran"},
			{"pids.max", "forks.file.pids.max", equals(itoa(forkLimit)), "linux.resources.pids.limit is pids.max"},
			{"fork loop stopped", "forks.in.forked", equals(itoa(forkLimit - 2)),
				"with pids.max 5, the container's shell and the looping shell leave room for 3 sleeps; the 4th fork fails"},
			{"pids.events inside", "forks.in.pids.events", counterAtLeast("max", 1),
				"the container's own pids.events counts the refused fork"},
			{"pids.events on the host", "forks.file.pids.events", counterAtLeast("max", 1),
				"the host's view of the same counter"},
			{"cgroup removed", "forks.gone", equals("yes"), "delete removes the cgroup"},
			{"limit 1 runs /bin/true", "pids1.rc", equals("0"),
				"pids.limit 1 is room for the container's only process; the runtime's own threads must not run under it (crun and runc run it)"},
			{"cgroup removed (limit 1)", "pids1.gone", equals("yes"), "a run leaves no cgroup"},
		}},
		{"delete busy", []check{
			{"run detached", "busy.run", equals("0"), "tupper run --detach of three sleeps"},
			{"three processes", "busy.procs", equals("3"), "the cgroup holds the init and its two children"},
			{"delete --force", "busy.delete", equals("0"), "delete --force kills them and removes the cgroup"},
			{"cgroup removed", "busy.gone", equals("yes"), "no directory is left right after delete --force returns"},
		}},
		{"devices", []check{
			{"run", "dev.rc", equals("0"), "the device probe ran"},
			{"run (allow)", "devallow.rc", equals("0"), "the second device probe ran"},
			{"denied device", "dev.in.kmsg_write", contains("Operation not permitted"),
				"the eBPF device program denies /dev/kmsg (c 1:11), which the allow-list omits"},
			{"/dev/null allowed", "dev.in.null_write", equals("ok"), "default devices stay usable"},
			{"/dev/zero allowed", "dev.in.zero_read", equals("ok"),
				"/dev/zero is a default device: usable even though the list omits it, as with runc"},
			{"mknod allowed", "dev.in.mknod", equals("ok"), "mknod of any device is allowed (not open), as with runc"},
			{"later rule wins", "devallow.in.kmsg_write", equals("ok"),
				"deny c 1:11 w then allow c 1:11 w: the later rule decides, as with v1 devices.allow/deny"},
			{"cgroup removed", "dev.gone", equals("yes"), "delete removes the cgroup"},
			{"cgroup removed (allow)", "devallow.gone", equals("yes"), "delete removes the cgroup"},
		}},
		{"no cgroup left", []check{
			{"only parents remain", "final.dirs", subsetOf("./runner", "./runner/shell", "./runner/foo", "./runner/shell/foo", "./tupper"),
				"after every delete only the parents remain: the script's own /runner/shell and the levels above containers"},
		}},
	}
}

// What a placement case has.
const (
	inNamespace = 1 << iota // a cgroup namespace
	withMemory              // the memory controller, which v2 cannot give a
	// cgroup below one with processes (tupper's own): "no internal processes"
)

// placement checks one container placed by create: where its cgroup is, that
// the init is in it before it runs (create has returned, start has not
// run), and what the container sees of cgroups.
func placement(c, rel string, has int, got map[string]string, why string) group {
	checks := []check{
		{"create", c + ".create", equals("ok"), why},
		{"directory", c + ".dir", equals("yes"), "the cgroup directory is /sys/fs/cgroup" + rel + ": " + why},
		{"init placed before start", c + ".host_cgroup", equals("0::" + rel),
			"/proc/<init>/cgroup on the host, while the init waits for start: " + why},
		{"cgroup.procs", c + ".procs", func(v string) error {
			if pid := got[c+".pid"]; v != pid {
				return fmt.Errorf("want only the init's pid %s", pid)
			}
			return nil
		}, "the cgroup's cgroup.procs holds the init, and only it, before start"},
		{"cgroup removed", c + ".gone", equals("yes"), "delete removes the cgroup"},
	}
	if has&inNamespace == 0 {
		return group{c, append(checks, check{"inside /proc/self/cgroup", c + ".in.cgroup", equals("0::" + rel),
			"without a cgroup namespace /proc/self/cgroup names the real cgroup"})}
	}
	if has&withMemory != 0 {
		checks = append(checks, check{"inside memory.max", c + ".in.memory.max", equals("max"),
			"the mount's root is the container's cgroup (the real root has no memory.max)"})
	}
	return group{c, append(checks,
		check{"inside /proc/self/cgroup", c + ".in.cgroup", equals("0::/"),
			"the cgroup namespace was created with the init already in its cgroup, so that cgroup is its root"},
		check{"inside mount", c + ".in.mount", equals("/ cgroup2"),
			"the cgroup mount at /sys/fs/cgroup is cgroup2, rooted at the namespace's root"},
		check{"inside no other cgroups", c + ".in.children", equals("none"),
			"the mount shows only the container's subtree, which has no children"},
		check{"inside cgroup.procs", c + ".in.procs", equals("n=2 init=yes child=yes foreign=none"),
			"cgroup.procs of the mount lists the container's two processes only"},
	)}
}

func resources(got map[string]string) group {
	f := func(file, want, why string) check {
		return check{file, "res.file." + file, equals(want), why}
	}
	itoa := func(n int64) string { return fmt.Sprint(n) }
	return group{"resources", []check{
		{"create", "res.create", equals("ok"), "a container with every v2 resource field set"},
		f("memory.max", itoa(memLimit), "memory.limit"),
		f("memory.swap.max", itoa(memSwap-memLimit), "memory.swap is memory+swap; v2 counts swap alone"),
		f("memory.low", itoa(memReservation), "memory.reservation"),
		f("cpu.max", fmt.Sprintf("%d %d", cpuQuota, cpuPeriod), "cpu.quota and cpu.period"),
		f("cpu.weight", fmt.Sprint(wantCPUWeight(cpuShares)), "cpu.shares 512 as 1 + ((shares-2)*9999)/262142"),
		f("pids.max", itoa(pidsLimit), "pids.limit"),
		f("cpuset.cpus", cpuCpus, "cpu.cpus"),
		f("cpuset.mems", cpuMems, "cpu.mems"),
		f("memory.high", memoryHigh, "unified keys are written as given"),
		f("memory.oom.group", oomGroup, "unified keys are written as given"),
		{"io weight", "res.file.io.weight", ioWeightWant(got),
			"blockIO.weight 500 in io.bfq.weight as is when BFQ is there, else in io.weight as 1 + (w-10)*9999/990"},
		{"inside memory.max", "res.in.memory.max", equals(itoa(memLimit)),
			"inside, the cgroup mount's root file memory.max is the container's limit"},
		{"cgroup removed", "res.gone", equals("yes"), "delete removes the cgroup"},
	}}
}

// ioWeightWant checks io.bfq.weight when the guest has BFQ (a module in
// Debian's kernel, so normally absent), else io.weight, and skips when the
// kernel has neither: blockIO.weight then has nowhere to go.
func ioWeightWant(got map[string]string) func(string) error {
	missing := func(v string) bool { return strings.Contains(v, "No such file") || strings.Contains(v, "can't open") }
	return func(v string) error {
		if bfq := got["res.file.io.bfq.weight"]; bfq != "" && !missing(bfq) {
			if want := fmt.Sprintf("default %d", blkioWeight); bfq != want {
				return fmt.Errorf("io.bfq.weight is %q, want %q", bfq, want)
			}
			return nil
		}
		if missing(v) {
			return skip("neither io.weight nor io.bfq.weight is present in the guest's kernel")
		}
		return equals(fmt.Sprintf("default %d", wantIOWeight(blkioWeight)))(v)
	}
}
