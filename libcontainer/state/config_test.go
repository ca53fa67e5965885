package state

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func testSpec() *specs.Spec {
	return &specs.Spec{
		Version:     specs.Version,
		Process:     &specs.Process{Args: []string{"sh"}, Cwd: "/", Env: []string{"A=1"}},
		Hooks:       &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}},
		Annotations: map[string]string{"k": "v"},
		Linux: &specs.Linux{
			Seccomp: &specs.LinuxSeccomp{
				DefaultAction: specs.ActErrno,
				Syscalls:      []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}},
			},
			Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: int64p(10)}},
		},
	}
}

func int64p(v int64) *int64 { return &v }

// roundTrip writes a record with spec through a store and reads it back,
// as a later command would.
func roundTrip(t *testing.T, spec *specs.Spec) *Record {
	t.Helper()
	s := Store{Root: filepath.Join(t.TempDir(), "root")}
	d, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rec := &Record{ID: "c1"}
	if spec != nil {
		rec.Config = NewConfig(spec)
	}
	if err := d.Write(rec); err != nil {
		t.Fatal(err)
	}
	got, err := d.Read()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestConfigParts(t *testing.T) {
	want := testSpec()
	for name, c := range map[string]Config{
		"recorded": roundTrip(t, want).Config, // decoded from JSON, part by part
		"new":      NewConfig(want),           // as create holds it
	} {
		t.Run(name, func(t *testing.T) {
			p, err := c.Process()
			if err != nil || !reflect.DeepEqual(p, want.Process) {
				t.Errorf("Process() = %+v, %v; want %+v", p, err, want.Process)
			}
			h, err := c.Hooks()
			if err != nil || !reflect.DeepEqual(h, want.Hooks) {
				t.Errorf("Hooks() = %+v, %v; want %+v", h, err, want.Hooks)
			}
			a, err := c.Annotations()
			if err != nil || !reflect.DeepEqual(a, want.Annotations) {
				t.Errorf("Annotations() = %v, %v; want %v", a, err, want.Annotations)
			}
			sc, err := c.Seccomp()
			if err != nil || !reflect.DeepEqual(sc, want.Linux.Seccomp) {
				t.Errorf("Seccomp() = %+v, %v; want %+v", sc, err, want.Linux.Seccomp)
			}
			s, err := c.Spec()
			if err != nil || !reflect.DeepEqual(s, want) {
				t.Errorf("Spec() = %+v, %v; want %+v", s, err, want)
			}
		})
	}
}

func TestConfigAbsentParts(t *testing.T) {
	for name, spec := range map[string]*specs.Spec{
		"no config":  nil,
		"empty spec": {Version: specs.Version},
		"no seccomp": {Version: specs.Version, Linux: &specs.Linux{}},
	} {
		t.Run(name, func(t *testing.T) {
			c := roundTrip(t, spec).Config
			if p, err := c.Process(); p != nil || err != nil {
				t.Errorf("Process() = %+v, %v; want nil, nil", p, err)
			}
			if h, err := c.Hooks(); h != nil || err != nil {
				t.Errorf("Hooks() = %+v, %v; want nil, nil", h, err)
			}
			if a, err := c.Annotations(); a != nil || err != nil {
				t.Errorf("Annotations() = %v, %v; want nil, nil", a, err)
			}
			if sc, err := c.Seccomp(); sc != nil || err != nil {
				t.Errorf("Seccomp() = %+v, %v; want nil, nil", sc, err)
			}
			s, err := c.Spec()
			if err != nil || !reflect.DeepEqual(s, spec) {
				t.Errorf("Spec() = %+v, %v; want %+v", s, err, spec)
			}
		})
	}
}

// A change made through Spec is what the next Write records (update does
// this with linux.resources).
func TestConfigSpecChangeIsWritten(t *testing.T) {
	rec := roundTrip(t, testSpec())
	s, err := rec.Config.Spec()
	if err != nil {
		t.Fatal(err)
	}
	s.Linux.Resources.Pids.Limit = int64p(20)
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	got, err := back.Config.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Linux.Resources.Pids.Limit; l == nil || *l != 20 {
		t.Fatalf("pids limit after write and read = %v, want 20", l)
	}
}

// A record that is not valid JSON fails to read at all; one whose config
// has the wrong shape reads, and the part asked for fails with the reason.
func TestConfigBadShape(t *testing.T) {
	var rec Record
	if err := json.Unmarshal([]byte(`{"id":"c1","config":{"process":"sh","hooks":[1]}}`), &rec); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Config.Process(); err == nil || !strings.Contains(err.Error(), "recorded config") {
		t.Errorf("Process() error = %v, want a recorded config error", err)
	}
	if _, err := rec.Config.Hooks(); err == nil {
		t.Error("Hooks() of a list: no error")
	}
	if _, err := rec.Config.Spec(); err == nil {
		t.Error("Spec() of a bad config: no error")
	}
	if a, err := rec.Config.Annotations(); err != nil || a != nil {
		t.Errorf("Annotations() = %v, %v; want nil, nil (absent, the rest is not decoded)", a, err)
	}
}
