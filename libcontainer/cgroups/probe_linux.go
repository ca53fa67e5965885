package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// hierarchy is one mounted cgroup hierarchy as this process sees it.
type hierarchy struct {
	mountpoint string // /sys/fs/cgroup/memory
	root       string // the part of the hierarchy mounted there, "/" unless bind-mounted
}

// host is what probing found: the v1 hierarchies by controller (v1 and
// hybrid) and the cgroup2 hierarchy (v2, and hybrid's "unified").
type host struct {
	v1      map[string]hierarchy
	unified *hierarchy
	proc    string // /proc, where /proc/self/cgroup is read when needed
}

func (h *host) pureV2() bool { return h.unified != nil && len(h.v1) == 0 }

// prober finds the hierarchies mounted under root. The fields are seams for
// the unit tests, which run against a fake tree in a temporary directory.
type prober struct {
	root   string                           // /sys/fs/cgroup
	proc   string                           // /proc
	fsType func(path string) (int64, error) // statfs f_type
}

func statfsType(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	return int64(st.Type), nil
}

// probe costs one statfs on a v2 host; on v1 and hybrid hosts a second statfs
// (of root/unified) and one read of /proc/self/mountinfo, because only the
// mount table says which controllers share a hierarchy.
func (p prober) probe() (*host, error) {
	t, err := p.fsType(p.root)
	if err != nil {
		return nil, err
	}
	h := &host{proc: p.proc}
	if t == unix.CGROUP2_SUPER_MAGIC {
		h.unified = &hierarchy{mountpoint: p.root, root: "/"}
		return h, nil
	}
	data, err := os.ReadFile(filepath.Join(p.proc, "self/mountinfo"))
	if err != nil {
		return nil, err
	}
	h.v1 = parseMountinfo(data, p.root)
	if len(h.v1) == 0 {
		return nil, fmt.Errorf("no cgroup filesystem mounted under %s", p.root)
	}
	unified := filepath.Join(p.root, "unified")
	if t, err := p.fsType(unified); err == nil && t == unix.CGROUP2_SUPER_MAGIC {
		h.unified = &hierarchy{mountpoint: unified, root: "/"}
	}
	return h, nil
}

// v1Controllers are the controller names a cgroup v1 mount's super options
// may list; anything else there (rw, clone_children, ...) is an option.
var v1Controllers = map[string]bool{
	"cpuset": true, "cpu": true, "cpuacct": true, "blkio": true, "memory": true,
	"devices": true, "freezer": true, "net_cls": true, "perf_event": true,
	"net_prio": true, "hugetlb": true, "pids": true, "rdma": true, "misc": true,
	"debug": true,
}

// parseMountinfo maps each controller of every cgroup v1 mount directly under
// root to its hierarchy. A line of proc(5) mountinfo reads
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - cgroup cgroup rw,memory
//
// (root, mount point, optional fields, "-", fs type, source, super options).
func parseMountinfo(data []byte, root string) map[string]hierarchy {
	found := map[string]hierarchy{}
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		pre, post, ok := strings.Cut(string(line), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup ") {
			continue
		}
		f := strings.Fields(pre)
		post2 := strings.Fields(post)
		if len(f) < 5 || len(post2) < 3 {
			continue
		}
		mp := unescapeOctal(f[4])
		if filepath.Dir(mp) != root {
			continue
		}
		hi := hierarchy{mountpoint: mp, root: unescapeOctal(f[3])}
		for _, opt := range strings.Split(post2[2], ",") {
			if v1Controllers[opt] || strings.HasPrefix(opt, "name=") {
				if _, dup := found[opt]; !dup {
					found[opt] = hi
				}
			}
		}
	}
	return found
}

// unescapeOctal undoes the \040-style escapes the kernel puts in mountinfo.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroups reads /proc/self/cgroup: the runtime's own cgroup by controller
// on v1 ("memory", "name=systemd") and under "" on cgroup2. A line reads
// "4:memory:/user.slice" or "0::/init.scope".
func ownCgroups(proc string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(proc, "self/cgroup"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	own := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		_, rest, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		ctrls, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if ctrls == "" {
			own[""] = path
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			own[c] = path
		}
	}
	return own, s.Err()
}
