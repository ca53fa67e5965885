package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

func TestVersion(t *testing.T) {
	for _, flag := range []string{"--version", "-v"} {
		out, stderr, code := tupper(t, flag)
		if code != 0 || !strings.Contains(out, "tupper") || !strings.Contains(out, specs.Version) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want tupper and spec %s", flag, code, out, stderr, specs.Version)
		}
	}
}

// TestGlobalFlags: flags that clients pass and tupper accepts.
func TestGlobalFlags(t *testing.T) {
	for _, flags := range [][]string{
		{"--debug"}, {"--systemd-cgroup"}, {"--rootless", "false"}, {"--rootless=auto"},
		{"--log-format", "text"}, {"--log-format=json"},
	} {
		if _, stderr, code := tupper(t, append(flags, "list")...); code != 0 {
			t.Errorf("%s list: exit %d: %s", flags, code, stderr)
		}
	}
	_, stderr, code := tupper(t, "--log-format", "yaml", "list")
	wantError(t, "--log-format yaml", code, stderr, "yaml")
}

func TestFeatures(t *testing.T) {
	out := mustTupper(t, "features")
	var f features.Features
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("features: not JSON: %v\n%s", err, out)
	}
	if f.OCIVersionMin == "" || f.OCIVersionMax != specs.Version {
		t.Errorf("features: ociVersionMin %q, ociVersionMax %q; want a minimum and max %s", f.OCIVersionMin, f.OCIVersionMax, specs.Version)
	}
	if f.Linux == nil {
		t.Fatal("features: no linux section")
	}
	for typ := range nsFile {
		if !slices.Contains(f.Linux.Namespaces, string(typ)) {
			t.Errorf("features: linux.namespaces %v lacks %s", f.Linux.Namespaces, typ)
		}
	}
}

func TestList(t *testing.T) {
	root := t.TempDir()
	var ids []string
	for range 2 {
		c := newCtr(t, "sleep", "1000")
		c.root = root
		c.mustCreate()
		ids = append(ids, c.id)
	}
	table := mustTupper(t, "--root", root, "list")
	if !strings.HasPrefix(table, "ID") {
		t.Errorf("list: no header line:\n%s", table)
	}
	for _, id := range ids {
		if !strings.Contains(table, id+" ") || !strings.Contains(table, "created") {
			t.Errorf("list: no row for %s in created state:\n%s", id, table)
		}
	}
	if quiet := strings.Fields(mustTupper(t, "--root", root, "list", "-q")); !sameSet(quiet, ids) {
		t.Errorf("list -q: %q, want %q", quiet, ids)
	}
	for _, flags := range [][]string{{"--format", "json"}, {"-f", "json"}, {"--format=json"}} {
		var list []state
		out := mustTupper(t, append([]string{"--root", root, "list"}, flags...)...)
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("list %s: not JSON: %v\n%s", flags, err, out)
		}
		var got []string
		for _, s := range list {
			got = append(got, s.ID)
			if s.Status != specs.StateCreated || s.Pid <= 0 {
				t.Errorf("list %s: %s has status %q pid %d, want created and a pid", flags, s.ID, s.Status, s.Pid)
			}
		}
		if !sameSet(got, ids) {
			t.Errorf("list %s: ids %q, want %q", flags, got, ids)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func mustTupper(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, code := tupper(t, args...)
	if code != 0 {
		t.Fatalf("tupper %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return out
}

// TestSpec runs the default spec that `tupper spec` writes, with the test
// rootfs and a safe cgroup path, and checks what --rootless adds.
func TestSpec(t *testing.T) {
	c := newCtr(t)
	mustTupper(t, "spec", "--bundle", c.bundle)
	s, err := fixture.ReadSpec(c.bundle)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != specs.Version || s.Process == nil || len(s.Process.Args) == 0 || s.Root == nil || s.Linux == nil {
		t.Fatalf("spec: incomplete config.json: %+v", s)
	}
	s.Root.Path = rootfsDir
	s.Process.Terminal = false
	s.Linux.CgroupsPath = cgroupParent + "/" + c.id
	c.spec = s
	c.mustRun() // its shell reads an empty stdin and exits 0

	dir := t.TempDir()
	mustTupper(t, "spec", "--rootless", "--bundle", dir)
	r, err := fixture.ReadSpec(dir)
	if err != nil {
		t.Fatal(err)
	}
	hasUser := slices.ContainsFunc(r.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.UserNamespace })
	if !hasUser || len(r.Linux.UIDMappings) == 0 || len(r.Linux.GIDMappings) == 0 {
		t.Errorf("spec --rootless: user namespace %v, uidMappings %v, gidMappings %v: want all three", hasUser, r.Linux.UIDMappings, r.Linux.GIDMappings)
	}
}

// TestLogFile: a failing command writes its error to stderr and, as a JSON
// line with level "error", to the --log file, in both flag spellings.
func TestLogFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags func(log string) []string
	}{
		{"separate", func(log string) []string { return []string{"--log", log, "--log-format", "json"} }},
		{"equals", func(log string) []string { return []string{"--log=" + log, "--log-format=json"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "log.json")
			_, stderr, code := tupper(t, append(tc.flags(log), "state", "no-such-container")...)
			wantError(t, "state of a missing container", code, stderr, "no-such-container", "does not exist")
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatalf("log file: %v", err)
			}
			found := false
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				var entry map[string]any
				if err := json.Unmarshal([]byte(line), &entry); err != nil {
					t.Errorf("log line is not JSON: %q", line)
					continue
				}
				msg, _ := entry["msg"].(string)
				found = found || entry["level"] == "error" && (strings.Contains(msg, "no-such-container") || strings.Contains(msg, "does not exist"))
			}
			if !found {
				t.Errorf("log file has no level \"error\" line saying the container does not exist:\n%s", data)
			}
		})
	}
	log := filepath.Join(t.TempDir(), "log.txt")
	tupper(t, "--log", log, "state", "no-such-container")
	if data, _ := os.ReadFile(log); !strings.Contains(string(data), "no-such-container") && !strings.Contains(string(data), "does not exist") {
		t.Errorf("text log: %q, want the error", data)
	}
}

// TestFlagSyntax: the command line's syntax as runc's users write it, on a
// running container: list flags keep each value whole ("A=1,2" is one
// variable, as in runc) and may repeat, -name and --name, =value or a
// separate value, flags end at the first argument (exec's process gets
// "-c" and "--detach") or at "--", and the last of a repeated flag wins.
func TestFlagSyntax(t *testing.T) {
	c, _ := runningCtr(t, nil)
	for _, tc := range []struct {
		name  string
		flags []string
		args  []string
		want  string
	}{
		{"list values kept whole", []string{"--env", "A=1,2", "--env", "B= x ", "--env=C="},
			[]string{"sh", "-c", `echo "$A|$B|$C"`}, "1,2| x |\n"},
		{"flags end at the first argument", nil,
			[]string{"echo", "-c", "--detach", "-t"}, "-c --detach -t\n"},
		{"one dash, =value", []string{"-cwd=/tmp", "-e", "X=y"},
			[]string{"sh", "-c", `echo "$PWD $X"`}, "/tmp y\n"},
		{"a repeated flag: the last wins", []string{"--cwd", "/", "--cwd", "/tmp"},
			[]string{"pwd"}, "/tmp\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out := c.mustExec(tc.flags, tc.args...); out != tc.want {
				t.Errorf("exec %q ID %q: %q, want %q", tc.flags, tc.args, out, tc.want)
			}
		})
	}
	// urfave/cli, as runc's, refuses a flag given under two of its names.
	_, stderr, code := c.exec([]string{"--env", "A=1", "-e", "B=2"}, "true")
	wantError(t, "exec --env A=1 -e B=2", code, stderr, "Cannot use two forms of the same flag")
	// "--" ends the flags: what follows, the id included, is arguments.
	out, stderr, code := tupperWith(t, c.opts(), "exec", "--env", "Y=z", "--", c.id, "sh", "-c", `echo "$Y"`)
	if code != 0 || out != "z\n" {
		t.Errorf("exec --env Y=z -- ID: exit %d, stdout %q, stderr %q; want z", code, out, stderr)
	}
	// Global flags: both spellings, and the last --root is the one used.
	root := c.root
	if root == "" {
		root = stateRoot
	}
	if out := mustTupper(t, "--log-format=json", "--debug", "--root", root, "state", c.id); !strings.Contains(out, c.id) {
		t.Errorf("state with --log-format=json: %q, want the container's state", out)
	}
	_, stderr, code = tupper(t, "--root", root, "--root", t.TempDir(), "state", c.id)
	wantError(t, "state under a second --root", code, stderr, "does not exist")
	// An unknown command is urfave's (and runc's) help error, exit 3.
	if _, stderr, code := tupper(t, "no-such-command", c.id); code != 3 || !strings.Contains(stderr, "No help topic for 'no-such-command'") {
		t.Errorf("tupper no-such-command: exit %d, stderr %q; want 3 and no help topic", code, stderr)
	}
	// `tupper help exec` is exec's help; after a command, "help" and "h"
	// are container ids.
	if out := mustTupper(t, "help", "exec"); !strings.Contains(out, "tupper exec - ") || !strings.Contains(out, "--process value, -p value") {
		t.Errorf("help exec: %q, want exec's usage and flags", out)
	}
	for _, id := range []string{"help", "h"} {
		out, stderr, code := tupper(t, "state", id)
		wantError(t, "state "+id+": "+out, code, stderr, "does not exist")
	}
	// A command's flags come after it, a global flag before it.
	_, stderr, code = tupper(t, "state", "--root", root, c.id)
	wantError(t, "state --root", code, stderr, "flag provided but not defined: -root")
}
