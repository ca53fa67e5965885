package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The runner's binary plays two more parts, chosen by the environment:
//
//   - envEnter set: it is the first process of a test. It joins the runner's
//     cgroups, hides the protected cgroup mounts in the private mount
//     namespace it was started in, and execs the validation program.
//   - envRuntime set: it is $RUNTIME, called by the validation program. It
//     puts the real runtime's state in the test's own --root, refuses a
//     create whose cgroupsPath would be unsafe, logs the call, and runs the
//     real runtime with the same stdio (the container inherits it).
const (
	envEnter   = "TUPPER_VALIDATION_ENTER"   // "1"
	envJoin    = "TUPPER_VALIDATION_JOIN"    // cgroup dirs, ":"-separated
	envHide    = "TUPPER_VALIDATION_HIDE"    // mount points, ":"-separated
	envRuntime = "TUPPER_VALIDATION_RUNTIME" // the real runtime
	envRoot    = "TUPPER_VALIDATION_ROOT"    // its --root
	envCalls   = "TUPPER_VALIDATION_CALLS"   // the call log
	envCreated = "TUPPER_VALIDATION_CREATED" // "id\tcgroupsPath" of each create
	envAbsOnly = "TUPPER_VALIDATION_ABSOLUTE_ONLY"
)

// enterMain joins the cgroups, hides the mounts and execs os.Args[1:].
func enterMain() error {
	for _, dir := range splitList(os.Getenv(envJoin)) {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(fmt.Sprint(os.Getpid())), 0); err != nil {
			return fmt.Errorf("join cgroup %s: %w", dir, err)
		}
	}
	if err := checkJoined(splitList(os.Getenv(envJoin))); err != nil {
		return err
	}
	if hide := splitList(os.Getenv(envHide)); len(hide) > 0 {
		if err := hideMounts(hide); err != nil {
			return err
		}
	}
	if len(os.Args) < 2 {
		return errors.New("enter: no command")
	}
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		return err
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, envEnter+"=") || strings.HasPrefix(kv, envJoin+"=") || strings.HasPrefix(kv, envHide+"=")
	})
	return syscall.Exec(path, os.Args[1:], env)
}

// checkJoined reads /proc/self/cgroup back: every hierarchy joined must now
// say /tupper-validation.
func checkJoined(dirs []string) error {
	hs, err := probeCgroups()
	if err != nil {
		return err
	}
	for _, h := range hs {
		if slices.Contains(dirs, filepath.Join(h.mount, ownParent)) && h.own != ownParent {
			return fmt.Errorf("enter: in %s the test runs in %s, not %s", h.mount, h.own, ownParent)
		}
	}
	return nil
}

// hideMounts rebuilds /sys/fs/cgroup in this process's private mount
// namespace (the runner started it with CLONE_NEWNS, and Go made "/"
// recursively private first, so nothing reaches the host's namespace)
// without the hierarchies in hide: a new tmpfs, with every other cgroup
// mount moved back onto it. A runtime that reads the mount table does not
// see the hidden hierarchies at all; one that writes below
// /sys/fs/cgroup/<hidden> anyway (crun does, for "unified") writes to this
// private tmpfs, which goes with the namespace. Merely unmounting them would
// let such writes land in the host's /sys/fs/cgroup tmpfs, under its mount
// points.
func hideMounts(hide []string) error {
	const root = "/sys/fs/cgroup"
	hs, err := probeCgroups()
	if err != nil {
		return err
	}
	stage, err := os.MkdirTemp(".", ".cgroup-stage-")
	if err != nil {
		return err
	}
	defer os.Remove(stage)
	if err := syscall.Mount("tupper-validation-stage", stage, "tmpfs", 0, "mode=0700"); err != nil {
		return fmt.Errorf("hide cgroups: mount stage: %w", err)
	}
	var keep []string
	for _, h := range hs {
		if filepath.Dir(h.mount) != root || slices.Contains(hide, h.mount) {
			continue
		}
		name := filepath.Base(h.mount)
		if err := os.Mkdir(filepath.Join(stage, name), 0o755); err != nil {
			return err
		}
		if err := syscall.Mount(h.mount, filepath.Join(stage, name), "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("hide cgroups: bind %s: %w", h.mount, err)
		}
		keep = append(keep, name)
	}
	if err := syscall.Unmount(root, syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("hide cgroups: unmount %s: %w", root, err)
	}
	flags := uintptr(syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC)
	if err := syscall.Mount("tmpfs", root, "tmpfs", flags, "mode=0755"); err != nil {
		return fmt.Errorf("hide cgroups: mount tmpfs on %s: %w", root, err)
	}
	for _, name := range keep {
		dst := filepath.Join(root, name)
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount(filepath.Join(stage, name), dst, "", syscall.MS_MOVE, ""); err != nil {
			return fmt.Errorf("hide cgroups: move %s back: %w", dst, err)
		}
	}
	if err := syscall.Unmount(stage, syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("hide cgroups: unmount stage: %w", err)
	}
	// Read the mount table back: the hidden hierarchies must be gone, and
	// nothing else.
	after, err := probeCgroups()
	if err != nil {
		return err
	}
	var seen []string
	for _, h := range after {
		if slices.Contains(hide, h.mount) {
			return fmt.Errorf("hide cgroups: %s is still mounted", h.mount)
		}
		seen = append(seen, filepath.Base(h.mount))
	}
	for _, name := range keep {
		if !slices.Contains(seen, name) {
			return fmt.Errorf("hide cgroups: %s/%s is gone", root, name)
		}
	}
	return nil
}

// wrapMain runs the real runtime for the validation program.
func wrapMain() (exitCode int) {
	real := os.Getenv(envRuntime)
	args := append([]string{"--root", os.Getenv(envRoot)}, os.Args[1:]...)
	note := ""
	if sub, bundle, id := subcommand(os.Args[1:]); sub == "create" || sub == "run" {
		cgPath, err := cgroupsPath(bundle)
		appendLine(os.Getenv(envCreated), id+"\t"+cgPath)
		note = fmt.Sprintf(" cgroupsPath=%q", cgPath)
		if err == nil && os.Getenv(envAbsOnly) != "" && !filepath.IsAbs(cgPath) {
			err = fmt.Errorf("linux.cgroupsPath %q is not absolute: in this test the machine's own cgroups are visible", cgPath)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "tupper-validation: refused: %v\n", err)
			logCall(real, args, note+" REFUSED: "+err.Error())
			return 125
		}
	}
	cmd := exec.Command(real, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "TUPPER_VALIDATION_")
	})
	start := time.Now()
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if err != nil && cmd.ProcessState == nil {
		fmt.Fprintf(os.Stderr, "tupper-validation: %v\n", err)
		code = 127
	}
	logCall(real, args, fmt.Sprintf("%s -> exit %d (%s)", note, code, time.Since(start).Round(time.Millisecond)))
	return code
}

// subcommand finds the runtime subcommand, the container id (its first
// operand) and, for create and run, the bundle ("--bundle DIR", "-b DIR",
// "--bundle=DIR", else the working directory, as the runtime CLI spec says).
func subcommand(args []string) (sub, bundle, id string) {
	bundle = "."
	valued := []string{"--bundle", "-b", "--pid-file", "--console-socket", "--preserve-fds"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--bundle="):
			bundle = strings.TrimPrefix(a, "--bundle=")
		case sub != "" && slices.Contains(valued, a) && i+1 < len(args):
			if a == "--bundle" || a == "-b" {
				bundle = args[i+1]
			}
			i++
		case strings.HasPrefix(a, "-"):
		case sub == "":
			sub = a
		case id == "":
			id = a
		}
	}
	return sub, bundle, id
}

// cgroupsPath reads linux.cgroupsPath from the bundle's config.json.
func cgroupsPath(bundle string) (string, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return "", err
	}
	var cfg struct {
		Linux *struct {
			CgroupsPath string `json:"cgroupsPath"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Join(bundle, "config.json"), err)
	}
	if cfg.Linux == nil {
		return "", nil
	}
	return cfg.Linux.CgroupsPath, nil
}

// logCall appends one line per runtime call to the test's call log: the
// evidence of what the validation program asked of the runtime.
func logCall(real string, args []string, result string) {
	appendLine(os.Getenv(envCalls), fmt.Sprintf("%s %s %s%s", time.Now().Format("15:04:05.000"),
		filepath.Base(real), strings.Join(args, " "), result))
}

func appendLine(path, line string) {
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ":")
}
