package bundle

import (
	"maps"
	"os"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ipcSysctls are the kernel.* sysctls that belong to the IPC namespace
// (ipc/ipc_sysctl.c); fs.mqueue.* does too.
var ipcSysctls = []string{
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.msg_next_id",
	"kernel.sem", "kernel.sem_next_id",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_next_id", "kernel.shm_rmid_forced",
}

// checkSysctls allows only sysctls that live in a namespace the container has of
// its own: writing any other would change the host.
func checkSysctls(l *specs.Linux) error {
	for _, key := range slices.Sorted(maps.Keys(l.Sysctl)) {
		if msg := checkSysctl(l, key); msg != "" {
			return &FieldError{"linux.sysctl", key, msg}
		}
	}
	return nil
}

// checkSysctl returns what is wrong with key, or "". A key is dotted
// ("net.ipv4.ip_forward") or, when a component holds a dot itself, slashed
// ("net/ipv4/conf/eth0.1/forwarding"); it becomes a path under /proc/sys, so no
// component may be empty, "." or "..".
func checkSysctl(l *specs.Linux, key string) string {
	sep := "."
	if strings.Contains(key, "/") {
		sep = "/"
	}
	parts := strings.Split(key, sep)
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "malformed sysctl name"
		}
	}
	name := strings.Join(parts, ".")
	switch {
	case slices.Contains(ipcSysctls, name) || strings.HasPrefix(name, "fs.mqueue."):
		if _, ok := findNamespace(l, specs.IPCNamespace); !ok {
			return "requires an ipc namespace"
		}
	case name == "kernel.hostname" || name == "kernel.domainname":
		if _, ok := findNamespace(l, specs.UTSNamespace); !ok {
			return "requires a uts namespace"
		}
	case strings.HasPrefix(name, "net."):
		netNS, ok := findNamespace(l, specs.NetworkNamespace)
		if !ok {
			return "requires a network namespace"
		}
		if netNS.Path != "" && isHostNetNS(netNS.Path) {
			return "not allowed in the host's network namespace"
		}
	default:
		return "not namespaced, setting it would change the host"
	}
	return ""
}

// isHostNetNS reports whether path names the network namespace tupper runs in.
// Errors count as "no": joining a path that cannot be opened fails later anyway.
func isHostNetNS(path string) bool {
	ns, err := os.Stat(path)
	if err != nil {
		return false
	}
	self, err := os.Stat("/proc/self/ns/net")
	return err == nil && os.SameFile(ns, self)
}
