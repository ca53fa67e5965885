package cgroups

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultDevices are the device rules Set appends to linux.resources.devices,
// so that a container can always use the devices the runtime creates for it:
// "the runtime MUST supply [/dev/null, /dev/zero, /dev/full, /dev/random,
// /dev/urandom, /dev/tty, /dev/console, /dev/ptmx]" -runtime-spec
// config-linux.md, Default Devices. Like the peers, it also allows the pty
// slaves under /dev/pts and mknod (only mknod, not open) of any device.
func DefaultDevices() []specs.LinuxDeviceCgroup {
	dev := func(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
		if major >= 0 {
			r.Major = &major
		}
		if minor >= 0 {
			r.Minor = &minor
		}
		return r
	}
	return []specs.LinuxDeviceCgroup{
		dev("c", -1, -1, "m"),
		dev("b", -1, -1, "m"),
		dev("c", 1, 3, "rwm"),    // null
		dev("c", 1, 5, "rwm"),    // zero
		dev("c", 1, 7, "rwm"),    // full
		dev("c", 1, 8, "rwm"),    // random
		dev("c", 1, 9, "rwm"),    // urandom
		dev("c", 5, 0, "rwm"),    // tty
		dev("c", 5, 1, "rwm"),    // console
		dev("c", 5, 2, "rwm"),    // ptmx
		dev("c", 136, -1, "rwm"), // pts/*
	}
}

// deviceRules are the rules Set enforces, in order: deny everything, the
// spec's list as written, then DefaultDevices.
func deviceRules(r *specs.LinuxResources) []specs.LinuxDeviceCgroup {
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Type: "a", Access: "rwm"}}
	rules = append(rules, r.Devices...)
	return append(rules, DefaultDevices()...)
}

// ruleString is a rule as devices.allow and devices.deny take it: "c 1:3 rwm".
func ruleString(d specs.LinuxDeviceCgroup) string {
	typ, access := d.Type, d.Access
	if typ == "" {
		typ = "a"
	}
	if access == "" {
		access = "rwm"
	}
	major, minor := "*", "*"
	if d.Major != nil && *d.Major >= 0 {
		major = itoa(*d.Major)
	}
	if d.Minor != nil && *d.Minor >= 0 {
		minor = itoa(*d.Minor)
	}
	return typ + " " + major + ":" + minor + " " + access
}

// checkDevices names the first rule of linux.resources.devices that the
// kernel would not take.
func checkDevices(r *specs.LinuxResources) error {
	for i, rule := range r.Devices {
		if _, _, err := ruleBlock(rule); err != nil {
			return fmt.Errorf("linux.resources.devices[%d]: %w", i, err)
		}
	}
	return nil
}

func (m *v1Manager) setDevices(r *specs.LinuxResources) error {
	dir, err := m.ctrlDir("devices", "devices")
	if err != nil {
		return err
	}
	if err := checkDevices(r); err != nil {
		return err
	}
	rules := deviceRules(r)
	// Rewriting starts with "deny all": between that write and the allows
	// the container can open no device, not even /dev/null. An update
	// that keeps the rules must not do that to a running container.
	if cur, err := read(dir, "devices.list"); err == nil && sameExceptions(cur, rules) {
		return nil
	}
	for i, rule := range rules {
		file := "devices.deny"
		if rule.Allow {
			file = "devices.allow"
		}
		if err := m.write(dir, file, ruleString(rule)); err != nil {
			field := "devices"
			if n := i - 1; n >= 0 && n < len(r.Devices) {
				field = "devices[" + itoa(int64(n)) + "]"
			}
			return fieldError(field, err)
		}
	}
	return nil
}

// sameExceptions tells whether devices.list (list) is what writing rules,
// which start with "deny all", would leave: the kernel keeps one exception
// per type and major:minor, merging access on allow and removing it on deny.
func sameExceptions(list string, rules []specs.LinuxDeviceCgroup) bool {
	if len(rules) == 0 || rules[0].Allow || (rules[0].Type != "a" && rules[0].Type != "") {
		return false
	}
	want := map[string]string{} // "c 1:3" -> access letters
	for _, rule := range rules[1:] {
		f := strings.Fields(ruleString(rule))
		if f[0] == "a" {
			if rule.Allow {
				return false // "allow all" flips the default; not simulated
			}
			want = map[string]string{} // "deny all" again: no exceptions
			continue
		}
		key := f[0] + " " + f[1]
		if rule.Allow {
			want[key] = mergeAccess(want[key], f[2], true)
		} else if acc := mergeAccess(want[key], f[2], false); acc == "" {
			delete(want, key)
		} else {
			want[key] = acc
		}
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		got[f[0]+" "+f[1]] = mergeAccess("", f[2], true)
	}
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// mergeAccess adds (or removes) access letters, returned in "rwm" order.
func mergeAccess(have, change string, add bool) string {
	out := ""
	for _, c := range "rwm" {
		in := strings.ContainsRune(have, c)
		ch := strings.ContainsRune(change, c)
		if (add && (in || ch)) || (!add && in && !ch) {
			out += string(c)
		}
	}
	return out
}
