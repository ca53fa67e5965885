package bundle

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkLinux validates the linux section of config-linux.md.
func checkLinux(l *specs.Linux) error {
	checks := []func(*specs.Linux) error{
		checkNamespaces, checkIDMappings, checkTimeOffsets, checkSysctls, checkDevices, checkPaths,
	}
	for _, check := range checks {
		if err := check(l); err != nil {
			return err
		}
	}
	return nil
}

func checkNamespaces(l *specs.Linux) error {
	for i, ns := range l.Namespaces {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if !slices.Contains(namespaceTypes, ns.Type) {
			return &FieldError{field + ".type", string(ns.Type), "unknown namespace type"}
		}
		// "If a namespaces field contains duplicated namespaces with same type,
		// the runtime MUST generate an error." -config-linux.md
		if slices.ContainsFunc(l.Namespaces[:i], func(o specs.LinuxNamespace) bool { return o.Type == ns.Type }) {
			return &FieldError{field + ".type", string(ns.Type), "duplicate namespace type"}
		}
		// "This value MUST be an absolute path in the runtime mount namespace."
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return &FieldError{field + ".path", ns.Path, "must be absolute"}
		}
	}
	return nil
}

func checkIDMappings(l *specs.Linux) error {
	userNS, ok := findNamespace(l, specs.UserNamespace)
	sets := []struct {
		field string
		m     []specs.LinuxIDMapping
	}{{"linux.uidMappings", l.UIDMappings}, {"linux.gidMappings", l.GIDMappings}}
	for _, ids := range sets {
		switch {
		case !ok && len(ids.m) > 0:
			return &FieldError{ids.field, "", "requires a user namespace"}
		case ok && userNS.Path == "" && len(ids.m) == 0:
			// A new user namespace without mappings leaves every id unmapped
			// (nobody), which no container can work with.
			return &FieldError{ids.field, "", "required with a new user namespace"}
		}
		for i, m := range ids.m {
			if m.Size == 0 {
				return &FieldError{fmt.Sprintf("%s[%d].size", ids.field, i), "0", "must be positive"}
			}
		}
	}
	return nil
}

// checkTimeOffsets follows time_namespaces(7): only the monotonic and boottime
// clocks have offsets, they are written before the first process enters the
// namespace (so not when joining one), and nanoseconds stay below one second.
func checkTimeOffsets(l *specs.Linux) error {
	if len(l.TimeOffsets) == 0 {
		return nil
	}
	timeNS, ok := findNamespace(l, specs.TimeNamespace)
	if !ok {
		return &FieldError{"linux.timeOffsets", "", "requires a time namespace"}
	}
	if timeNS.Path != "" {
		return &FieldError{"linux.timeOffsets", "", "cannot be set when joining an existing time namespace"}
	}
	for _, clock := range slices.Sorted(maps.Keys(l.TimeOffsets)) {
		if clock != "boottime" && clock != "monotonic" {
			return &FieldError{"linux.timeOffsets", clock, "unknown clock, want boottime or monotonic"}
		}
		if ns := l.TimeOffsets[clock].Nanosecs; ns >= 1e9 {
			return &FieldError{"linux.timeOffsets." + clock + ".nanosecs",
				strconv.FormatUint(uint64(ns), 10), "must be less than 1000000000"}
		}
	}
	return nil
}

func checkDevices(l *specs.Linux) error {
	for i, d := range l.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		switch d.Type {
		case "c", "b", "u", "p":
		default:
			return &FieldError{field + ".type", d.Type, "unknown device type, want c, b, u or p"}
		}
		if !path.IsAbs(d.Path) {
			return &FieldError{field + ".path", d.Path, "must be absolute"}
		}
	}
	return nil
}

// checkPaths covers the path-valued fields: cgroupsPath must not climb out of the
// cgroup hierarchy it is placed under, and masked/readonly paths "MUST be absolute
// paths in the container namespace" -config-linux.md.
func checkPaths(l *specs.Linux) error {
	if slices.Contains(strings.Split(l.CgroupsPath, "/"), "..") {
		return &FieldError{"linux.cgroupsPath", l.CgroupsPath, `must not contain ".."`}
	}
	lists := []struct {
		field string
		paths []string
	}{{"linux.maskedPaths", l.MaskedPaths}, {"linux.readonlyPaths", l.ReadonlyPaths}}
	for _, list := range lists {
		for i, p := range list.paths {
			if !path.IsAbs(p) {
				return &FieldError{fmt.Sprintf("%s[%d]", list.field, i), p, "must be absolute"}
			}
		}
	}
	return nil
}
