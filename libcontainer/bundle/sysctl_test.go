package bundle

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSysctl(t *testing.T) {
	all := []specs.LinuxNamespace{{Type: "ipc"}, {Type: "uts"}, {Type: "network"}}
	tests := []struct {
		name string
		ns   []specs.LinuxNamespace
		key  string
		want string
	}{
		{"net", all, "net.ipv4.ip_forward", ""},
		{"net slashes", all, "net/ipv4/conf/eth0.1/forwarding", ""},
		{"net joined", []specs.LinuxNamespace{{Type: "network", Path: "/run/netns/a"}}, "net.core.somaxconn", ""},
		{"net without netns", []specs.LinuxNamespace{{Type: "ipc"}}, "net.ipv4.ip_forward",
			`config.json: linux.sysctl "net.ipv4.ip_forward": requires a network namespace`},
		{"net in host netns", []specs.LinuxNamespace{{Type: "network", Path: "/proc/self/ns/net"}}, "net.ipv4.ip_forward",
			`config.json: linux.sysctl "net.ipv4.ip_forward": not allowed in the host's network namespace`},
		{"ipc", all, "kernel.shmmax", ""},
		{"ipc next id", all, "kernel.msg_next_id", ""},
		{"mqueue", all, "fs.mqueue.queues_max", ""},
		{"ipc without ipcns", nil, "kernel.sem",
			`config.json: linux.sysctl "kernel.sem": requires an ipc namespace`},
		{"mqueue without ipcns", nil, "fs/mqueue/msg_max",
			`config.json: linux.sysctl "fs/mqueue/msg_max": requires an ipc namespace`},
		{"uts", all, "kernel.domainname", ""},
		{"uts without utsns", nil, "kernel.hostname",
			`config.json: linux.sysctl "kernel.hostname": requires a uts namespace`},
		{"host only", all, "vm.swappiness",
			`config.json: linux.sysctl "vm.swappiness": not namespaced, setting it would change the host`},
		{"kernel other", all, "kernel.pid_max",
			`config.json: linux.sysctl "kernel.pid_max": not namespaced, setting it would change the host`},
		{"empty", all, "", `config.json: linux.sysctl: malformed sysctl name`},
		{"empty part", all, "net..ipv4", `config.json: linux.sysctl "net..ipv4": malformed sysctl name`},
		{"trailing dot", all, "net.", `config.json: linux.sysctl "net.": malformed sysctl name`},
		{"traversal", all, "net/../../etc/x", `config.json: linux.sysctl "net/../../etc/x": malformed sysctl name`},
		{"absolute", all, "/net/ipv4/ip_forward", `config.json: linux.sysctl "/net/ipv4/ip_forward": malformed sysctl name`},
		{"dot part", all, "net/./ipv4", `config.json: linux.sysctl "net/./ipv4": malformed sysctl name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			s.Linux.Namespaces = tt.ns
			s.Linux.Sysctl = map[string]string{tt.key: "1"}
			checkErr(t, Validate(s, newBundle(t)), tt.want)
		})
	}
}

// TestSysctlOrder checks that the first error is the same on every run although
// map iteration order is random.
func TestSysctlOrder(t *testing.T) {
	s := validSpec()
	s.Linux.Sysctl = map[string]string{"vm.b": "1", "vm.a": "1", "vm.c": "1", "net.ipv4.ip_forward": "1"}
	want := `config.json: linux.sysctl "vm.a": not namespaced, setting it would change the host`
	dir := newBundle(t)
	for range 20 {
		checkErr(t, Validate(s, dir), want)
	}
}
