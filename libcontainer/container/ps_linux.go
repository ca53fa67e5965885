package container

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Processes lists the host pids of every process in the container's
// cgroup, sorted; a stopped container has none.
func (c *Container) Processes() ([]int, error) {
	mgr, err := c.mustCgroup()
	if err != nil {
		return nil, err
	}
	pids, err := mgr.Pids()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	slices.Sort(pids)
	return append([]int{}, pids...), nil // [] rather than null in JSON
}

// ProcessTable runs the host's ps with psArgs (default -ef) and keeps its
// header and the lines of the container's processes, found by the PID
// column.
func (c *Container) ProcessTable(psArgs []string) ([]byte, error) {
	pids, err := c.Processes()
	if err != nil {
		return nil, err
	}
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return nil, fmt.Errorf("ps %s: %w: %s", strings.Join(psArgs, " "), err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	return filterPs(out, pids)
}

// filterPs keeps the header line of ps output and the lines whose PID
// column is one of pids.
func filterPs(out []byte, pids []int) ([]byte, error) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return nil, fmt.Errorf("ps output has no PID column: %q", lines[0])
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil {
			return nil, fmt.Errorf("ps output: PID column %q is not a number", f[col])
		}
		if slices.Contains(pids, pid) {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes(), nil
}
