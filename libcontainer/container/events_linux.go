package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/cgroups"
)

// Event is one line of `events`, in runc's shape:
// {"type":"stats","id":"web1","data":{...}} or {"type":"oom","id":"web1"}.
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Stats reads the counters of the container's cgroup as a "stats" event.
func (c *Container) Stats() (*Event, error) {
	if c.Status() == StatusStopped {
		return nil, ErrNotRunning
	}
	mgr, err := c.mustCgroup()
	if err != nil {
		return nil, err
	}
	return statsEvent(mgr, c.rec.ID)
}

func statsEvent(mgr cgroups.Manager, id string) (*Event, error) {
	s, err := mgr.Stats()
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	return &Event{Type: "stats", ID: id, Data: runcStats(s)}, nil
}

// Events writes one JSON line to w for each event of the container until
// it stops: "stats" every interval, and "oom" as soon as the kernel's OOM
// killer has killed a process in the container's memory cgroup.
//
// It releases the container's lock before it starts, since the stream
// lasts as long as the container and state, kill and delete must work
// meanwhile.
func (c *Container) Events(w io.Writer, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("interval %v: must be greater than 0", interval)
	}
	mgr, err := c.mustCgroup()
	if err != nil {
		return err
	}
	pidfd, err := c.openInit()
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	oom := watchOOM(c.rec.CgroupPaths)
	defer oom.close()
	id := c.rec.ID
	c.Close()

	enc := json.NewEncoder(w)
	next := time.Now().Add(interval)
	for {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		if oom.fd >= 0 {
			fds = append(fds, unix.PollFd{Fd: int32(oom.fd), Events: unix.POLLIN})
		}
		wait := max(time.Until(next), 0)
		if _, err := unix.Poll(fds, int(wait.Milliseconds())+1); err != nil && err != unix.EINTR {
			return fmt.Errorf("wait for events: %w", err)
		}
		// An OOM kill often ends the container: report it before leaving.
		if oom.fired() {
			if err := enc.Encode(Event{Type: "oom", ID: id}); err != nil {
				return err
			}
		}
		if fds[0].Revents != 0 {
			return nil // the init exited
		}
		if time.Now().Before(next) {
			continue
		}
		ev, err := statsEvent(mgr, id)
		if err != nil {
			return err
		}
		if err := enc.Encode(ev); err != nil {
			return err
		}
		next = time.Now().Add(interval)
	}
}

// oomWatch counts OOM kills in a memory cgroup: the oom_kill line of
// memory.oom_control on cgroup v1 (Linux 4.13), of memory.events on v2.
// Its fd, when it has one, becomes readable when the count may have
// changed: an eventfd registered for memory.oom_control through
// cgroup.event_control on v1, an inotify watch of memory.events on v2.
// Without it the count is read at each stats interval.
//
// This reads cgroup files directly; it belongs behind cgroups.Manager.
type oomWatch struct {
	path string // the file holding the count, "" without a memory cgroup
	fd   int    // -1 when there is nothing to wait on
	last uint64
	open []int // fds to close
}

func watchOOM(paths map[string]string) *oomWatch {
	w := &oomWatch{fd: -1}
	if dir, ok := paths["memory"]; ok {
		w.path = filepath.Join(dir, "memory.oom_control")
		w.last, _ = w.count()
		w.eventfd(dir)
	} else if dir, ok := paths[""]; ok {
		w.path = filepath.Join(dir, "memory.events")
		w.last, _ = w.count()
		w.inotify()
	}
	return w
}

// eventfd registers "<eventfd> <fd of memory.oom_control>" with the
// cgroup's cgroup.event_control (cgroup-v1/memory.rst, "Memory thresholds"
// and "OOM Control"); the kernel signals the eventfd on each OOM.
func (w *oomWatch) eventfd(dir string) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return
	}
	w.open = append(w.open, efd)
	ofd, err := unix.Open(w.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	w.open = append(w.open, ofd)
	reg := strconv.Itoa(efd) + " " + strconv.Itoa(ofd)
	if os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(reg), 0) == nil {
		w.fd = efd
	}
}

// inotify watches memory.events, which the kernel marks modified when one
// of its counts changes (cgroup-v2.rst, "memory.events").
func (w *oomWatch) inotify() {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return
	}
	w.open = append(w.open, fd)
	if _, err := unix.InotifyAddWatch(fd, w.path, unix.IN_MODIFY); err == nil {
		w.fd = fd
	}
}

// fired drains the fd and reports whether the count grew since last time.
func (w *oomWatch) fired() bool {
	if w.path == "" {
		return false
	}
	if w.fd >= 0 {
		buf := make([]byte, 4096)
		for {
			if n, err := unix.Read(w.fd, buf); n <= 0 || err != nil {
				break
			}
		}
	}
	n, err := w.count()
	if err != nil || n <= w.last {
		return false
	}
	w.last = n
	return true
}

func (w *oomWatch) count() (uint64, error) {
	data, err := os.ReadFile(w.path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New(w.path + ": no oom_kill count")
}

func (w *oomWatch) close() {
	for _, fd := range w.open {
		unix.Close(fd)
	}
}

// The "data" of a stats event: runc's field names (its types.Stats), for
// the tools that read runc's events. Limits read 0 when unlimited.
type statsData struct {
	CPU     cpuData                `json:"cpu"`
	Memory  memoryData             `json:"memory"`
	Pids    pidsData               `json:"pids"`
	Blkio   blkioData              `json:"blkio"`
	Hugetlb map[string]hugetlbData `json:"hugetlb"`
}

type cpuData struct {
	Usage struct {
		Total  uint64   `json:"total,omitempty"`
		Percpu []uint64 `json:"percpu,omitempty"`
		Kernel uint64   `json:"kernel"`
		User   uint64   `json:"user"`
	} `json:"usage"`
	Throttling struct {
		Periods          uint64 `json:"periods,omitempty"`
		ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
		ThrottledTime    uint64 `json:"throttledTime,omitempty"`
	} `json:"throttling"`
}

type memoryData struct {
	Cache uint64            `json:"cache,omitempty"`
	Usage memoryEntry       `json:"usage"`
	Swap  memoryEntry       `json:"swap"`
	Raw   map[string]uint64 `json:"raw,omitempty"`
}

type memoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

type pidsData struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

type blkioData struct {
	IOServiceBytesRecursive []cgroups.BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IOServicedRecursive     []cgroups.BlkioEntry `json:"ioServicedRecursive,omitempty"`
}

type hugetlbData struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

func runcStats(s *cgroups.Stats) *statsData {
	d := &statsData{
		Memory: memoryData{
			Cache: s.Memory.Cache,
			Usage: memoryEntry{Limit: s.Memory.Limit, Usage: s.Memory.Usage, Max: s.Memory.MaxUsage, Failcnt: s.Memory.Failcnt},
			Swap:  memoryEntry{Limit: s.Memory.SwapLimit, Usage: s.Memory.SwapUsage},
			Raw:   s.Memory.Raw,
		},
		Pids:    pidsData{Current: s.Pids.Current, Limit: s.Pids.Limit},
		Blkio:   blkioData{IOServiceBytesRecursive: s.Blkio.IOServiceBytes, IOServicedRecursive: s.Blkio.IOServiced},
		Hugetlb: map[string]hugetlbData{},
	}
	d.CPU.Usage.Total, d.CPU.Usage.Percpu = s.CPU.Usage, s.CPU.PerCPU
	d.CPU.Usage.Kernel, d.CPU.Usage.User = s.CPU.System, s.CPU.User
	d.CPU.Throttling.Periods = s.CPU.Periods
	d.CPU.Throttling.ThrottledPeriods = s.CPU.ThrottledPeriods
	d.CPU.Throttling.ThrottledTime = s.CPU.ThrottledTime
	for size, h := range s.Hugetlb {
		d.Hugetlb[size] = hugetlbData{Usage: h.Usage, Max: h.MaxUsage, Failcnt: h.Failcnt}
	}
	return d
}
