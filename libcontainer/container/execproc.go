package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
)

// ExecFlags are the flags of exec that shape its process.
type ExecFlags struct {
	Args           []string
	Cwd            string
	Env            []string
	Tty            *bool // nil when --tty was not given
	User           string
	AdditionalGids []string
	ProcessLabel   string
	AppArmor       string
	NoNewPrivs     bool
	Caps           []string
}

// LoadProcess reads a process.json (exec --process), with errors that name
// the field.
func LoadProcess(path string) (*specs.Process, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("process file: %w", err)
	}
	p, err := bundle.DecodeProcess(data)
	if err != nil {
		return nil, fmt.Errorf("process file %s: %w", path, err)
	}
	if len(p.Args) == 0 {
		return nil, fmt.Errorf("process file %s: args: must not be empty", path)
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	return p, nil
}

// ExecProcess builds exec's process as runc does: the container's own
// process with the flags applied over it, or the --process file with only
// --tty applied.
func (c *Container) ExecProcess(file string, f *ExecFlags) (*specs.Process, error) {
	if file != "" {
		p, err := LoadProcess(file)
		if err != nil {
			return nil, err
		}
		if f.Tty != nil {
			p.Terminal = *f.Tty
		}
		return p, nil
	}
	if len(f.Args) == 0 {
		return nil, errors.New("exec: a command (or --process) is required")
	}
	var p specs.Process
	cp, err := c.rec.Config.Process()
	if err != nil {
		return nil, err
	}
	if cp != nil {
		p = *cp
		p.Env = append([]string(nil), p.Env...)
		if p.Capabilities != nil {
			caps := *p.Capabilities
			p.Capabilities = &caps
		}
	}
	p.Args = f.Args
	p.Terminal = f.Tty != nil && *f.Tty
	p.ConsoleSize = nil
	if f.Cwd != "" {
		p.Cwd = f.Cwd
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	for _, kv := range f.Env {
		p.Env = setEnv(p.Env, kv)
	}
	if f.User != "" {
		uid, gid, err := parseUser(f.User)
		if err != nil {
			return nil, err
		}
		p.User.UID, p.User.GID = uid, gid
		if !strings.Contains(f.User, ":") {
			p.User.GID = 0
		}
	}
	for _, g := range f.AdditionalGids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--additional-gids %q: not a number", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(n))
	}
	if f.ProcessLabel != "" {
		p.SelinuxLabel = f.ProcessLabel
	}
	if f.AppArmor != "" {
		p.ApparmorProfile = f.AppArmor
	}
	if f.NoNewPrivs {
		p.NoNewPrivileges = true
	}
	if len(f.Caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		for _, name := range f.Caps {
			if !strings.HasPrefix(name, "CAP_") {
				name = "CAP_" + strings.ToUpper(name)
			}
			if _, ok := bundle.CapabilityNumber(name); !ok {
				return nil, fmt.Errorf("--cap %q: unknown capability", name)
			}
			pc := p.Capabilities
			pc.Bounding = appendNew(pc.Bounding, name)
			pc.Effective = appendNew(pc.Effective, name)
			pc.Permitted = appendNew(pc.Permitted, name)
		}
	}
	return &p, nil
}

// parseUser parses exec's --user: numeric uid[:gid], as runc takes it.
func parseUser(s string) (uid, gid uint32, err error) {
	u, g, _ := strings.Cut(s, ":")
	n, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: uid must be a number", s)
	}
	if g == "" {
		return uint32(n), 0, nil
	}
	m, err := strconv.ParseUint(g, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: gid must be a number", s)
	}
	return uint32(n), uint32(m), nil
}

func setEnv(env []string, kv string) []string {
	key, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
