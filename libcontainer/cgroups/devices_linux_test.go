package cgroups

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// run interprets prog, the subset of eBPF deviceProgram emits, for one
// access to one device, as the kernel would; it returns the verdict.
func run(t *testing.T, prog []insn, typ, access, major, minor uint32) bool {
	t.Helper()
	var reg [11]uint64
	ctx := [3]uint32{access<<16 | typ, major, minor}
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.code {
		case opLdxMemW:
			if in.src != rCtx || in.off%4 != 0 || in.off > 8 {
				t.Fatalf("insn %d: bad load %+v", pc, in)
			}
			reg[in.dst] = uint64(ctx[in.off/4])
		case opAndImm:
			reg[in.dst] = uint64(uint32(reg[in.dst]) & uint32(in.imm))
		case opRshImm:
			reg[in.dst] = uint64(uint32(reg[in.dst]) >> uint32(in.imm))
		case opMovReg:
			reg[in.dst] = uint64(uint32(reg[in.src]))
		case opMovImm64:
			reg[in.dst] = uint64(int64(in.imm))
		case opJneImm:
			if reg[in.dst] != uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case opJeqImm:
			if reg[in.dst] == uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case opExit:
			return reg[rRet] == 1
		default:
			t.Fatalf("insn %d: unknown opcode %#x", pc, in.code)
		}
	}
	t.Fatal("ran off the end of the program")
	return false
}

func TestDeviceProgram(t *testing.T) {
	t.Parallel()
	rules := deviceRules(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rw"},
		{Allow: true, Type: "b", Major: i64(8), Access: "r"},
		{Allow: false, Type: "b", Major: i64(8), Minor: i64(1), Access: "r"},
	}})
	prog, err := deviceProgram(rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                      string
		typ, access, major, minor uint32
		want                      bool
	}{
		{"null read/write", devChar, accRead | accWrite, 1, 3, true},
		{"pts", devChar, accRead | accWrite, 136, 4, true},
		{"mknod any char", devChar, accMknod, 99, 1, true},
		{"mknod any block", devBlock, accMknod, 8, 0, true},
		{"tun rw", devChar, accRead | accWrite, 10, 200, true},
		{"tun mknod not granted", devChar, accMknod | accRead, 10, 200, false},
		{"other misc", devChar, accRead, 10, 201, false},
		{"sda read", devBlock, accRead, 8, 0, true},
		{"sda write", devBlock, accWrite, 8, 0, false},
		{"sda1 read denied later", devBlock, accRead, 8, 1, false},
		{"char 8:0 is not block 8:0", devChar, accRead, 8, 0, false},
		{"mem", devChar, accRead, 1, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(t, prog, tc.typ, tc.access, tc.major, tc.minor); got != tc.want {
				t.Errorf("allowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDeviceProgramAllowAll(t *testing.T) {
	t.Parallel()
	// A privileged container: "allow a" after the default deny. Nothing
	// may follow the catch-all rule (the verifier refuses dead code).
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Access: "rwm"}}
	prog, err := deviceProgram(rules)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) != 8 || !run(t, prog, devBlock, accWrite, 8, 0) {
		t.Errorf("program %d insns, want the 6 loads and return 1", len(prog))
	}
	for i, in := range prog {
		if in.code == opJneImm || in.code == opJeqImm {
			if to := i + 1 + int(in.off); to >= len(prog) {
				t.Errorf("insn %d jumps to %d, past the end", i, to)
			}
		}
	}
}

func TestDeviceRuleErrors(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV2)
	m := f.manager(t, "/c", "id")
	must(t, m.Apply(0))
	for _, tc := range []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Type: "p"}, `linux.resources.devices[1]: type "p": want a, b or c`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rx"}, `linux.resources.devices[1]: access "rx": want letters of rwm`},
	} {
		err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Access: "rwm"}, tc.rule}})
		if err == nil || err.Error() != tc.want {
			t.Errorf("Set() = %v, want %s", err, tc.want)
		}
	}
	for _, w := range f.writes {
		if strings.Contains(w, "devices.bpf") {
			t.Errorf("attached a program for bad rules: %s", w)
		}
	}
}

func TestSameExceptions(t *testing.T) {
	major, minor := int64(1), int64(3)
	rules := deviceRules(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"}, // runc's default config starts so
		{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "r"},
		{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "w"},
	}})
	var list []string
	merged := map[string]string{}
	var order []string
	for _, r := range rules[2:] {
		f := strings.Fields(ruleString(r))
		k := f[0] + " " + f[1]
		if _, ok := merged[k]; !ok {
			order = append(order, k)
		}
		merged[k] = mergeAccess(merged[k], f[2], true)
	}
	for _, k := range order {
		list = append(list, k+" "+merged[k])
	}
	full := strings.Join(list, "\n")
	for _, tc := range []struct {
		name, list string
		want       bool
	}{
		{"what the rules leave", full, true},
		{"the host default", "a *:* rwm", false},
		{"one rule missing", strings.Join(list[1:], "\n"), false},
		{"access differs", strings.Replace(full, "c 1:3 rwm", "c 1:3 r", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameExceptions(tc.list, rules); got != tc.want {
				t.Errorf("sameExceptions = %v, want %v\nlist:\n%s", got, tc.want, tc.list)
			}
		})
	}
}
