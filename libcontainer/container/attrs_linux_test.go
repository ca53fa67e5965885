package container

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseScheduler(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       specs.Scheduler
		want    unix.SchedAttr
		wantErr string
	}{
		{"other with nice", specs.Scheduler{Policy: specs.SchedOther, Nice: -5}, unix.SchedAttr{Policy: 0, Nice: -5}, ""},
		{"batch", specs.Scheduler{Policy: specs.SchedBatch, Nice: 19}, unix.SchedAttr{Policy: 3, Nice: 19}, ""},
		{"idle", specs.Scheduler{Policy: specs.SchedIdle}, unix.SchedAttr{Policy: 5}, ""},
		{"fifo", specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}, unix.SchedAttr{Policy: 1, Priority: 10}, ""},
		{"rr with flags", specs.Scheduler{Policy: specs.SchedRR, Priority: 99, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, specs.SchedFlagKeepParams}},
			unix.SchedAttr{Policy: 2, Priority: 99, Flags: unix.SCHED_FLAG_RESET_ON_FORK | unix.SCHED_FLAG_KEEP_PARAMS}, ""},
		{"deadline", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 5e6, Period: 1e7},
			unix.SchedAttr{Policy: 6, Runtime: 1e6, Deadline: 5e6, Period: 1e7}, ""},
		{"deadline without period", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 5e6},
			unix.SchedAttr{Policy: 6, Runtime: 1e6, Deadline: 5e6}, ""},
		{"iso is the kernel's to refuse", specs.Scheduler{Policy: specs.SchedISO}, unix.SchedAttr{Policy: 4}, ""},
		{"unknown policy", specs.Scheduler{Policy: "SCHED_FOO"}, unix.SchedAttr{}, `process.scheduler.policy "SCHED_FOO": unknown policy`},
		{"no policy", specs.Scheduler{}, unix.SchedAttr{}, `process.scheduler.policy "": unknown policy`},
		{"unknown flag", specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_FOO"}}, unix.SchedAttr{}, `process.scheduler.flags[0] "SCHED_FLAG_FOO": unknown flag`},
		{"nice too low", specs.Scheduler{Policy: specs.SchedOther, Nice: -21}, unix.SchedAttr{}, "process.scheduler.nice -21: out of range"},
		{"nice too high", specs.Scheduler{Policy: specs.SchedOther, Nice: 20}, unix.SchedAttr{}, "process.scheduler.nice 20: out of range"},
		{"fifo without priority", specs.Scheduler{Policy: specs.SchedFIFO}, unix.SchedAttr{}, "process.scheduler.priority 0: SCHED_FIFO needs 1 to 99"},
		{"rr priority too high", specs.Scheduler{Policy: specs.SchedRR, Priority: 100}, unix.SchedAttr{}, "process.scheduler.priority 100: SCHED_RR needs 1 to 99"},
		{"priority on other", specs.Scheduler{Policy: specs.SchedOther, Priority: 3}, unix.SchedAttr{}, "process.scheduler.priority 3: only SCHED_FIFO and SCHED_RR"},
		{"deadline fields on other", specs.Scheduler{Policy: specs.SchedOther, Runtime: 5}, unix.SchedAttr{}, "for SCHED_DEADLINE only"},
		{"deadline runtime after deadline", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 6e6, Deadline: 5e6}, unix.SchedAttr{}, "runtime <= deadline <= period"},
		{"deadline after period", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 5e6, Period: 2e6}, unix.SchedAttr{}, "runtime <= deadline <= period"},
		{"deadline without runtime", specs.Scheduler{Policy: specs.SchedDeadline, Deadline: 5e6}, unix.SchedAttr{}, "0 < runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseScheduler(&tc.s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestParseIOPriority(t *testing.T) {
	for _, tc := range []struct {
		class   specs.IOPriorityClass
		prio    int
		want    int
		wantErr string
	}{
		{specs.IOPRIO_CLASS_RT, 0, 1<<13 | 0, ""},
		{specs.IOPRIO_CLASS_BE, 7, 2<<13 | 7, ""},
		{specs.IOPRIO_CLASS_IDLE, 0, 3 << 13, ""},
		{"IOPRIO_CLASS_NONE", 0, 0, `process.ioPriority.class "IOPRIO_CLASS_NONE": unknown class`},
		{specs.IOPRIO_CLASS_BE, 8, 0, "process.ioPriority.priority 8: out of range 0-7"},
		{specs.IOPRIO_CLASS_BE, -1, 0, "process.ioPriority.priority -1: out of range 0-7"},
	} {
		t.Run(string(tc.class), func(t *testing.T) {
			got, err := parseIOPriority(&specs.LinuxIOPriority{Class: tc.class, Priority: tc.prio})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %#x, %v; want %#x", got, err, tc.want)
			}
		})
	}
}

func TestParseCPUList(t *testing.T) {
	for _, tc := range []struct {
		list    string
		want    []int
		wantErr string
	}{
		{"0", []int{0}, ""},
		{"0-3,7", []int{0, 1, 2, 3, 7}, ""},
		{"1,1,0-1", []int{0, 1}, ""},
		{" 2 , 4-5 ", []int{2, 4, 5}, ""},
		{"1023", []int{1023}, ""},
		{"1024", nil, "CPU 1024: more than 1024"},
		{"3-1", nil, `range "3-1" runs backwards`},
		{"a", nil, `invalid CPU "a"`},
		{"0,,1", nil, `invalid CPU ""`},
		{"-1", nil, `invalid CPU ""`},
		{"1-2-3", nil, `invalid CPU "2-3"`},
		{"+1", nil, `invalid CPU "+1"`},
	} {
		t.Run(tc.list, func(t *testing.T) {
			set, err := parseCPUList(tc.list)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for cpu := 0; cpu < maxCPUs; cpu++ {
				if set.IsSet(cpu) {
					got = append(got, cpu)
				}
			}
			if len(got) != len(tc.want) || set.Count() != len(tc.want) {
				t.Fatalf("got CPUs %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got CPUs %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestParseCPUAffinity(t *testing.T) {
	for _, tc := range []struct {
		name      string
		a         specs.CPUAffinity
		wantField string // "" for nothing to apply
		wantErr   string
	}{
		{"empty", specs.CPUAffinity{}, "", ""},
		{"initial only", specs.CPUAffinity{Initial: "0"}, "process.execCPUAffinity.initial", ""},
		{"final wins", specs.CPUAffinity{Initial: "0", Final: "1"}, "process.execCPUAffinity.final", ""},
		{"bad initial with final", specs.CPUAffinity{Initial: "x", Final: "1"}, "", `process.execCPUAffinity.initial "x": invalid CPU "x"`},
		{"bad final", specs.CPUAffinity{Final: "2-1"}, "", `process.execCPUAffinity.final "2-1": range`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCPUAffinity(&tc.a)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if field := ""; got != nil {
				field = got.field
				if field != tc.wantField {
					t.Errorf("applies %q, want %q", field, tc.wantField)
				}
			} else if tc.wantField != "" {
				t.Errorf("applies nothing, want %q", tc.wantField)
			}
		})
	}
}

func TestParsePersonality(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       *specs.LinuxPersonality
		want    int
		wantErr string
	}{
		{"none", nil, -1, ""},
		{"linux", &specs.LinuxPersonality{Domain: specs.PerLinux}, 0, ""},
		{"linux32", &specs.LinuxPersonality{Domain: specs.PerLinux32}, 8, ""},
		{"unknown domain", &specs.LinuxPersonality{Domain: "SVR4"}, 0, `linux.personality.domain "SVR4": unknown domain`},
		{"a flag", &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}, 0, `linux.personality.flags[0] "ADDR_NO_RANDOMIZE": unsupported flag`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePersonality(tc.p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// TestCheckProcessAttrsLSM: asking for an LSM the host lacks is an error
// that says so; the test checks whichever answer this host gives.
func TestCheckProcessAttrsLSM(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       specs.Process
		enabled bool
		want    string
	}{
		{"apparmor", specs.Process{ApparmorProfile: "tupper-test"}, appArmorEnabled(), `process.apparmorProfile "tupper-test": AppArmor is not enabled on this host`},
		{"selinux", specs.Process{SelinuxLabel: "system_u:system_r:container_t:s0"}, seLinuxEnabled(), `process.selinuxLabel "system_u:system_r:container_t:s0": SELinux is not enabled on this host`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkProcessAttrs(&specs.Spec{Process: &tc.p})
			switch {
			case tc.enabled && err != nil:
				t.Errorf("enabled on this host, but: %v", err)
			case !tc.enabled && (err == nil || err.Error() != tc.want):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCheckProcessAttrs: checkProcessAttrs reports the first bad field of
// each kind and accepts a spec without any.
func TestCheckProcessAttrs(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec specs.Spec
		want string
	}{
		{"nothing", specs.Spec{Process: &specs.Process{}}, ""},
		{"no process", specs.Spec{}, ""},
		{"good", specs.Spec{
			Process: &specs.Process{
				Scheduler:       &specs.Scheduler{Policy: specs.SchedBatch},
				IOPriority:      &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4},
				ExecCPUAffinity: &specs.CPUAffinity{Final: "0"},
			},
			Linux: &specs.Linux{Personality: &specs.LinuxPersonality{Domain: specs.PerLinux32}},
		}, ""},
		{"personality", specs.Spec{Linux: &specs.Linux{Personality: &specs.LinuxPersonality{Domain: "X"}}}, "linux.personality.domain"},
		{"scheduler", specs.Spec{Process: &specs.Process{Scheduler: &specs.Scheduler{Policy: "X"}}}, "process.scheduler.policy"},
		{"ioPriority", specs.Spec{Process: &specs.Process{IOPriority: &specs.LinuxIOPriority{Class: "X"}}}, "process.ioPriority.class"},
		{"execCPUAffinity", specs.Spec{Process: &specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "X"}}}, "process.execCPUAffinity.initial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkProcessAttrs(&tc.spec)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want one starting with %q", err, tc.want)
			}
		})
	}
}

// TestApplyProcessAttrs applies what an unprivileged thread may give itself
// (a weaker scheduler, a lower I/O priority, one CPU) on a thread of its
// own, which dies with the goroutine, and reads each back from the kernel.
func TestApplyProcessAttrs(t *testing.T) {
	var cpus unix.CPUSet
	if err := unix.SchedGetaffinity(0, &cpus); err != nil {
		t.Fatal(err)
	}
	cpu := 0
	for !cpus.IsSet(cpu) {
		cpu++
	}
	p := &specs.Process{
		Scheduler:       &specs.Scheduler{Policy: specs.SchedBatch, Nice: 19},
		IOPriority:      &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 7},
		ExecCPUAffinity: &specs.CPUAffinity{Final: strconv.Itoa(cpu)},
	}
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		errs <- func() error {
			if err := applyProcessAttrs(p); err != nil {
				return err
			}
			attr, err := unix.SchedGetAttr(0, 0)
			if err != nil {
				return err
			}
			if attr.Policy != 3 || attr.Nice != 19 {
				return fmt.Errorf("scheduler: policy %d nice %d, want 3 (SCHED_BATCH) and 19", attr.Policy, attr.Nice)
			}
			prio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
			if errno != 0 {
				return errno
			}
			if prio != 2<<13|7 {
				return fmt.Errorf("ioprio %#x, want %#x", prio, 2<<13|7)
			}
			var got unix.CPUSet
			if err := unix.SchedGetaffinity(0, &got); err != nil {
				return err
			}
			if got.Count() != 1 || !got.IsSet(cpu) {
				return fmt.Errorf("affinity: %d CPUs, want only CPU %d", got.Count(), cpu)
			}
			return nil
		}()
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
