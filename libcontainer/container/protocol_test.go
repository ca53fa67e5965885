package container

import (
	"bytes"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/libcontainer/seccomp"
)

func TestProtocolConfig(t *testing.T) {
	var buf bytes.Buffer
	ch := newChannel(&buf)
	want := &initConfig{
		ID: "c1", Bundle: "/b", HostPid: 42, Exec: true,
		Spec:    &specs.Spec{Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"}},
		Seccomp: &seccomp.Program{Filter: make([]byte, 8), Flags: 1},
	}
	if err := ch.sendConfig(want); err != nil {
		t.Fatal(err)
	}
	if err := ch.send(&message{Type: msgError, Error: "mount /proc: no such device"}); err != nil {
		t.Fatal(err)
	}
	m, err := ch.expect(msgConfig)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.initConfig()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("initConfig() = %+v, %v; want %+v", got, err, want)
	}
	if _, err := ch.expect(msgReady); err == nil || err.Error() != "mount /proc: no such device" {
		t.Errorf("expect after an error message: %v, want the init's error", err)
	}
	if _, err := ch.recv(); err != errInitGone {
		t.Errorf("recv at EOF: %v, want errInitGone", err)
	}
	for _, raw := range []string{`{}`, `{"id":"c1"}`, `[1]`} {
		if _, err := (&message{Type: msgConfig, Config: []byte(raw)}).initConfig(); err == nil {
			t.Errorf("initConfig of %s: no error", raw)
		}
	}
}
