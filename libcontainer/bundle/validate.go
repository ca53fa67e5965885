package bundle

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FieldError is a validation error about one field of config.json. Field is the
// JSON path with indexes, such as "mounts[3].destination"; Value is the offending
// value, empty when the field is missing.
type FieldError struct {
	Field, Value, Msg string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s: %s", ConfigFile, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s %q: %s", ConfigFile, e.Field, e.Value, e.Msg)
}

// Validate checks s before anything is created for it and returns the first problem
// found as a *FieldError. bundleDir resolves a relative root.path; s must not be nil.
func Validate(s *specs.Spec, bundleDir string) error {
	if err := checkVersion(s.Version); err != nil {
		return err
	}
	if err := checkRoot(s.Root, bundleDir); err != nil {
		return err
	}
	if err := checkProcess(s.Process); err != nil {
		return err
	}
	// runc refuses to set a hostname in the host's UTS namespace, and so do we.
	if _, ok := findNamespace(s.Linux, specs.UTSNamespace); !ok {
		if s.Hostname != "" {
			return &FieldError{"hostname", s.Hostname, "requires a private UTS namespace"}
		}
		if s.Domainname != "" {
			return &FieldError{"domainname", s.Domainname, "requires a private UTS namespace"}
		}
	}
	for i, m := range s.Mounts {
		// config.md only says destination SHOULD be absolute on Linux; a relative
		// one is ambiguous (relative to what?), so we reject it.
		if !path.IsAbs(m.Destination) {
			return &FieldError{fmt.Sprintf("mounts[%d].destination", i), m.Destination, "must be absolute"}
		}
	}
	if s.Linux != nil {
		return checkLinux(s.Linux)
	}
	return nil
}

func checkVersion(v string) error {
	if v == "" {
		return &FieldError{"ociVersion", "", "required"}
	}
	major, rest, _ := strings.Cut(v, ".")
	if major != "1" || rest == "" || rest[0] < '0' || rest[0] > '9' {
		return &FieldError{"ociVersion", v, "unsupported, want 1.x"}
	}
	return nil
}

// checkRoot follows config.md: "path ... is either an absolute path or a relative
// path to the bundle" and "The value SHOULD be the conventional rootfs".
func checkRoot(r *specs.Root, bundleDir string) error {
	if r == nil {
		return &FieldError{"root", "", "required"}
	}
	if r.Path == "" {
		return &FieldError{"root.path", "", "required"}
	}
	p := r.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundleDir, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return &FieldError{"root.path", r.Path, unwrapPath(err).Error()}
	}
	if !fi.IsDir() {
		return &FieldError{"root.path", r.Path, "not a directory"}
	}
	return nil
}

func checkProcess(p *specs.Process) error {
	// config.md makes process optional for create-only tools, but a container
	// that can be started needs something to run.
	if p == nil {
		return &FieldError{"process", "", "required"}
	}
	if len(p.Args) == 0 {
		return &FieldError{"process.args", "", "must not be empty"}
	}
	// "cwd ... This value MUST be an absolute path." -config.md
	if !path.IsAbs(p.Cwd) {
		return &FieldError{"process.cwd", p.Cwd, "must be absolute"}
	}
	if err := checkRlimits(p.Rlimits); err != nil {
		return err
	}
	if c := p.Capabilities; c != nil {
		sets := []struct {
			name  string
			names []string
		}{
			{"bounding", c.Bounding}, {"effective", c.Effective},
			{"inheritable", c.Inheritable}, {"permitted", c.Permitted}, {"ambient", c.Ambient},
		}
		for _, set := range sets {
			for i, name := range set.names {
				if !slices.Contains(capabilityNames, name) {
					return &FieldError{fmt.Sprintf("process.capabilities.%s[%d]", set.name, i), name, "unknown capability"}
				}
			}
		}
	}
	return nil
}

func checkRlimits(rlimits []specs.POSIXRlimit) error {
	for i, r := range rlimits {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		if !slices.Contains(rlimitNames, r.Type) {
			return &FieldError{field + ".type", r.Type, "unknown rlimit type"}
		}
		// "If rlimits contains duplicated entries with same type, the runtime
		// MUST generate an error." -config.md
		if slices.ContainsFunc(rlimits[:i], func(o specs.POSIXRlimit) bool { return o.Type == r.Type }) {
			return &FieldError{field + ".type", r.Type, "duplicate rlimit type"}
		}
		if r.Soft > r.Hard {
			return &FieldError{field + ".soft", strconv.FormatUint(r.Soft, 10),
				fmt.Sprintf("greater than hard limit %d", r.Hard)}
		}
	}
	return nil
}

// findNamespace returns the entry of type t in l.namespaces, if any.
func findNamespace(l *specs.Linux, t specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	if l != nil {
		for _, ns := range l.Namespaces {
			if ns.Type == t {
				return ns, true
			}
		}
	}
	return specs.LinuxNamespace{}, false
}
