package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

// updateOptions are update's flags, bound as they are parsed. A flag
// that is not given leaves its limit as it is, so each remembers whether
// it was.
type updateOptions struct {
	resources string
	limits    map[string]*optString
}

// optString is a flag's value and whether the flag was given.
type optString struct {
	value string
	set   bool
}

// updateCommand: Docker's `docker update` runs `update --resources - ID`
// with a linux.resources JSON on stdin; the flags are runc's.
func updateCommand(g *globals) *cli.Command {
	o := &updateOptions{limits: map[string]*optString{}}
	flag := func(name, usage string, aliases ...string) cli.Flag {
		v := &optString{}
		o.limits[name] = v
		return newString(&cli.StringFlag{Name: name, Usage: usage, Aliases: aliases, Destination: &v.value,
			Action: func(*cli.Context, string) error { v.set = true; return nil }})
	}
	return &cli.Command{
		Name:      "update",
		Usage:     "change the resource limits of a running container",
		ArgsUsage: "<container-id>",
		Flags: []cli.Flag{
			newString(&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "a linux.resources JSON file, or - for stdin", Destination: &o.resources}),
			flag("memory", "memory limit in bytes (512m, 1g, -1 for none)"),
			flag("memory-swap", "memory plus swap limit in bytes (-1 for none)"),
			flag("memory-reservation", "memory soft limit in bytes"),
			flag("cpu-shares", "CPU shares (relative weight)", "cpu-share"),
			flag("cpu-quota", "CPU time in microseconds per period (-1 for none)"),
			flag("cpu-period", "CFS period in microseconds"),
			flag("cpu-rt-runtime", "realtime CPU time in microseconds per period"),
			flag("cpu-rt-period", "realtime period in microseconds"),
			flag("cpuset-cpus", "CPUs to run on (0-3, 0,1)"),
			flag("cpuset-mems", "memory nodes to allocate from (0-3, 0,1)"),
			flag("pids-limit", "maximum number of tasks (-1 for none)"),
			flag("blkio-weight", "block IO weight, 10 to 1000"),
		},
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			r, err := o.resourcesToSet()
			if err != nil {
				return fmt.Errorf("update %s: %w", id, err)
			}
			c, err := container.Load(g.opts, id)
			if err != nil {
				return fmt.Errorf("update %s: %w", id, err)
			}
			defer c.Close()
			if err := c.Update(r); err != nil {
				return fmt.Errorf("update %s: %w", id, err)
			}
			return nil
		},
	}
}

// resourcesToSet reads --resources and lays the other flags over it.
func (o *updateOptions) resourcesToSet() (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	if path := o.resources; path != "" {
		var in io.Reader = os.Stdin
		name := "stdin"
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("--resources: %w", err)
			}
			defer f.Close()
			in, name = f, path
		}
		if err := json.NewDecoder(in).Decode(r); err != nil {
			return nil, fmt.Errorf("--resources: decode linux.resources from %s: %w", name, err)
		}
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	for _, f := range []struct {
		name string
		set  func(string) error
	}{
		{"memory", func(v string) error { return setBytes(v, &mem().Limit) }},
		{"memory-swap", func(v string) error { return setBytes(v, &mem().Swap) }},
		{"memory-reservation", func(v string) error { return setBytes(v, &mem().Reservation) }},
		{"cpu-shares", func(v string) error { return setUint(v, &cpu().Shares) }},
		{"cpu-quota", func(v string) error { return setInt(v, &cpu().Quota) }},
		{"cpu-period", func(v string) error { return setUint(v, &cpu().Period) }},
		{"cpu-rt-runtime", func(v string) error { return setInt(v, &cpu().RealtimeRuntime) }},
		{"cpu-rt-period", func(v string) error { return setUint(v, &cpu().RealtimePeriod) }},
		{"cpuset-cpus", func(v string) error { cpu().Cpus = v; return nil }},
		{"cpuset-mems", func(v string) error { cpu().Mems = v; return nil }},
		{"pids-limit", func(v string) error {
			r.Pids = &specs.LinuxPids{}
			return setInt(v, &r.Pids.Limit)
		}},
		{"blkio-weight", func(v string) error {
			w, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return err
			}
			if r.BlockIO == nil {
				r.BlockIO = &specs.LinuxBlockIO{}
			}
			r.BlockIO.Weight = ptr(uint16(w))
			return nil
		}},
	} {
		v := o.limits[f.name]
		if !v.set {
			continue
		}
		if err := f.set(v.value); err != nil {
			return nil, fmt.Errorf("--%s %q: %w", f.name, v.value, err)
		}
	}
	return r, nil
}

func ptr[T any](v T) *T { return &v }

func setInt(s string, p **int64) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*p = &n
	return nil
}

func setUint(s string, p **uint64) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return err
	}
	*p = &n
	return nil
}

func setBytes(s string, p **int64) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*p = &n
	return nil
}

// parseBytes reads a memory size in bytes, or -1 for no limit. A size is
// written as Docker and runc take it: "512m", "1.5g", "1GiB", "100 kb"
// (digits, maybe a fraction, maybe a space, then k, m, g, t or p, an i and
// a b, each optional); units are binary and the case does not matter. It
// is parsed by hand: a regular expression would be compiled, with the
// unicode tables it needs, by every tupper command.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	t := strings.ToLower(s)
	digits := func(i int) int {
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		return i
	}
	end := digits(0)
	if end > 0 && end < len(t) && t[end] == '.' {
		if e := digits(end + 1); e > end+1 {
			end = e
		}
	}
	number, unit := t[:end], t[end:]
	unit = strings.TrimPrefix(unit, " ")
	power := 0
	if unit != "" {
		if i := strings.IndexByte("kmgtp", unit[0]); i >= 0 {
			power, unit = i+1, unit[1:]
		}
	}
	unit = strings.TrimPrefix(unit, "i")
	unit = strings.TrimPrefix(unit, "b")
	if number == "" || unit != "" {
		return 0, fmt.Errorf("not a size such as 512m or 1g")
	}
	n, err := strconv.ParseFloat(number, 64)
	if err != nil {
		return 0, err
	}
	n *= math.Pow(1024, float64(power))
	if n >= math.MaxInt64 {
		return 0, fmt.Errorf("too large")
	}
	return int64(n), nil
}
