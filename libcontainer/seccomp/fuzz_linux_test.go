package seccomp

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzCompile feeds arbitrary linux.seccomp JSON to Compile: it must
// return a program or an error, never panic, and every program must run
// to a return for any syscall.
func FuzzCompile(f *testing.F) {
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ALLOW"}`))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],` +
		`"syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"},{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s specs.LinuxSeccomp
		if json.Unmarshal(data, &s) != nil {
			return
		}
		p, err := Compile(&s, "")
		if (p == nil) == (err == nil) {
			t.Fatalf("Compile = %v, %v", p, err)
		}
		if err != nil {
			return
		}
		if !p.valid() {
			t.Fatalf("invalid program of %d bytes", len(p.Filter))
		}
		arch, err := nativeArch()
		if err != nil {
			t.Fatal(err)
		}
		for _, nr := range []int32{0, 1, 59, 435, 436, 437, 1 << 30, -1} {
			if _, err := runBPF(p.Filter, seccompData{nr: nr, arch: arch.audit, args: [6]uint64{8}}); err != nil {
				t.Fatalf("nr %d: %v", nr, err)
			}
		}
	})
}
