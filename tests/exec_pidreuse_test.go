package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pidReuseScript runs as pid 1 of a private pid namespace, where nothing
// else forks: it starts the container, kills its init behind tupper's
// back, reaps it, and makes the next fork take the same pid through
// ns_last_pid. Then kill, exec and delete --force must leave that new
// process alone.
const pidReuseScript = `
T="$TUPPER --root $ROOT"
$T create --bundle "$BUNDLE" "$ID" </dev/null >"$BUNDLE/create.out" 2>&1 || { echo "CREATE failed"; cat "$BUNDLE/create.out"; exit 1; }
$T start "$ID" || { echo "START failed"; exit 1; }
P=$($T state "$ID" | tr -d ' \n' | sed 's/.*"pid":\([0-9]*\).*/\1/')
kill -9 "$P"
# The init's parent, create, is gone: we are its reaper (bash reaps any child).
for i in $(seq 500); do [ -e /proc/$P ] || break; sleep 0.01; done
[ -e /proc/$P ] && { echo "NOTREAPED $P"; exit 1; }
echo $((P - 1)) > /proc/sys/kernel/ns_last_pid
sleep 1000 &
S=$!
if [ "$S" != "$P" ]; then echo "NOREUSE $S $P"; exit 0; fi
echo "REUSED $P"
$T kill "$ID" 9 >/dev/null 2>&1; echo "KILL $?"
sleep 0.1
kill -0 $S && echo "ALIVE-AFTER-KILL" || echo "DEAD-AFTER-KILL"
echo "STATE $($T state "$ID" | tr -d ' \n' | sed 's/.*"status":"\([a-z]*\)".*/\1/')"
$T exec "$ID" true >/dev/null 2>&1; echo "EXEC $?"
kill -0 $S && echo "ALIVE-AFTER-EXEC" || echo "DEAD-AFTER-EXEC"
$T delete --force "$ID" >/dev/null 2>&1; echo "DELETE $?"
sleep 0.1
kill -0 $S && echo "ALIVE-AFTER-DELETE" || echo "DEAD-AFTER-DELETE"
kill $S
`

// TestExecPidReuse: once the container's init has died and its pid belongs
// to another process, no command may signal or enter that process (tupper
// reaches the init through a pidfd checked against the recorded start).
func TestExecPidReuse(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) missing")
	}
	c := newCtr(t, "sleep", "1000")
	c.root = t.TempDir()
	c.write()
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "bash", "-c", pidReuseScript)
	cmd.Env = append(os.Environ(), "TUPPER="+tupperBin, "ROOT="+c.root, "BUNDLE="+c.bundle, "ID="+c.id)
	out, err := cmd.CombinedOutput()
	text := string(out)
	// The state recorded pids of the private namespace: never let cleanup
	// act on them from the host's.
	os.RemoveAll(filepath.Join(c.root, c.id))
	if err != nil {
		t.Fatalf("script: %v\n%s", err, text)
	}
	if strings.Contains(text, "NOREUSE") {
		t.Skipf("could not make the pid be reused: %s", text)
	}
	t.Logf("%s", text)
	for _, want := range []string{"REUSED", "ALIVE-AFTER-KILL", "STATE stopped", "ALIVE-AFTER-EXEC", "ALIVE-AFTER-DELETE"} {
		if !strings.Contains(text, want+"\n") && !strings.Contains(text, want+" ") {
			t.Errorf("want %s in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "EXEC 0") {
		t.Errorf("exec into a dead container whose pid was reused succeeded:\n%s", text)
	}
}
