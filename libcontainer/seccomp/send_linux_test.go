package seccomp

import (
	"encoding/json"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestSend receives what an agent receives: one message, the state as
// JSON and the listener in SCM_RIGHTS.
func TestSend(t *testing.T) {
	for _, tt := range []struct {
		name     string
		metadata string
	}{
		{"small", "meta"},
		{"larger than a read", strings.Repeat("m", 300000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(pair[0])
			defer unix.Close(pair[1])
			var pipe [2]int
			if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(pipe[0])
			defer unix.Close(pipe[1])
			st := &specs.ContainerProcessState{
				Version: specs.Version, Fds: []string{specs.SeccompFdName}, Pid: 42, Metadata: tt.metadata,
				State: specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42, Bundle: "/b"},
			}
			sent := make(chan error, 1)
			go func() { sent <- Send(pair[0], pipe[0], st) }()

			var data []byte
			var fds []int
			buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4*4))
			for {
				n, oobn, _, _, err := unix.Recvmsg(pair[1], buf, oob, unix.MSG_CMSG_CLOEXEC)
				if err != nil {
					t.Fatal(err)
				}
				if oobn > 0 {
					msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range msgs {
						got, err := unix.ParseUnixRights(&m)
						if err != nil {
							t.Fatal(err)
						}
						fds = append(fds, got...)
					}
				}
				data = append(data, buf[:n]...)
				if json.Valid(data) || n == 0 {
					break
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			for _, fd := range fds {
				defer unix.Close(fd)
			}
			var got specs.ContainerProcessState
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if got.Pid != 42 || got.Metadata != tt.metadata || got.State.ID != "c1" || len(got.Fds) != 1 || got.Fds[0] != specs.SeccompFdName {
				t.Errorf("state = %+v", got)
			}
			if len(fds) != 1 {
				t.Fatalf("received %d fds, want 1", len(fds))
			}
			var a, b unix.Stat_t
			if err := unix.Fstat(fds[0], &a); err != nil {
				t.Fatal(err)
			}
			if err := unix.Fstat(pipe[0], &b); err != nil {
				t.Fatal(err)
			}
			if a.Ino != b.Ino || a.Dev != b.Dev {
				t.Error("the received fd is not the one sent")
			}
		})
	}
}

func TestSendClosed(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(pair[1])
	defer unix.Close(pair[0])
	if err := Send(pair[0], 0, &specs.ContainerProcessState{}); err == nil {
		t.Error("Send to a closed agent succeeded")
	}
}
