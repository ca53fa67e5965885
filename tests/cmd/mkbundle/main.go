// Command mkbundle prepares a busybox bundle for the demo without jq: it builds
// <bundle>/rootfs from busybox-static and edits <bundle>/config.json (written by
// `tupper spec`) in place.
//
//	mkbundle -bundle DIR [-rootfs] [-cgroups-path /abs/path] [-hostname H] [-- ARGS...]
//
// Editing always turns process.terminal off, so the demo runs without a tty.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkbundle:", err)
		os.Exit(1)
	}
}

func run() error {
	bundle := flag.String("bundle", "", "bundle directory holding config.json")
	rootfs := flag.Bool("rootfs", false, "build <bundle>/rootfs from busybox-static")
	cgroupsPath := flag.String("cgroups-path", "", "absolute linux.cgroupsPath to set")
	hostname := flag.String("hostname", "", "hostname to set")
	flag.Parse()
	if *bundle == "" {
		return fmt.Errorf("-bundle is required")
	}
	if *rootfs {
		if err := fixture.BuildRootfs(filepath.Join(*bundle, "rootfs")); err != nil {
			return fmt.Errorf("build rootfs: %w", err)
		}
	}
	s, err := fixture.ReadSpec(*bundle)
	if err != nil {
		return err
	}
	if s.Process == nil || s.Linux == nil {
		return fmt.Errorf("config.json has no process or linux section")
	}
	s.Process.Terminal = false
	if args := flag.Args(); len(args) > 0 {
		s.Process.Args = args
	}
	if p := *cgroupsPath; p != "" {
		// A relative or empty path would land inside the caller's own cgroup.
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("-cgroups-path %q: must be absolute", p)
		}
		s.Linux.CgroupsPath = p
	}
	if *hostname != "" {
		s.Hostname = *hostname
	}
	return fixture.WriteBundle(*bundle, s)
}
