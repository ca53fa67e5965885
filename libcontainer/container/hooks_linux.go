package container

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// needsHookSync tells whether the init must stop before pivot_root so the
// parent can run prestart and createRuntime hooks: "The createRuntime hooks
// MUST be called ... after the runtime environment has been created and
// before the pivot_root" (config.md), and createContainer hooks follow them.
func needsHookSync(spec *specs.Spec) bool {
	h := spec.Hooks
	return h != nil && (len(h.Prestart) > 0 || len(h.CreateRuntime) > 0 || len(h.CreateContainer) > 0) //nolint:staticcheck // prestart is deprecated but honoured
}

// runCreateRuntimeHooks runs prestart (deprecated, still honoured) and then
// createRuntime hooks, in the runtime's namespaces.
func runCreateRuntimeHooks(c *Created, spec *specs.Spec) error {
	st := c.specState(StatusCreating)
	if err := runHooks(spec.Hooks.Prestart, "prestart", st); err != nil { //nolint:staticcheck
		return err
	}
	return runHooks(spec.Hooks.CreateRuntime, "createRuntime", st)
}

// specState is the state document hooks get on stdin.
func (c *Container) specState(status string) *specs.State {
	st := &specs.State{
		Version: specs.Version, ID: c.rec.ID, Status: specs.ContainerState(status),
		Pid: c.rec.Pid, Bundle: c.rec.Bundle,
	}
	st.Annotations = c.annotations()
	if status == StatusStopped {
		st.Pid = 0
	}
	return st
}

func (in *initState) hookState(status string) *specs.State {
	return &specs.State{
		Version: specs.Version, ID: in.cfg.ID, Status: specs.ContainerState(status),
		Pid: in.cfg.HostPid, Bundle: in.cfg.Bundle, Annotations: in.spec.Annotations,
	}
}

// runPoststop runs every poststop hook even after one fails: "If any
// poststop hook fails, the runtime MUST log a warning, but the remaining
// hooks and lifecycle continue as if the hook had succeeded" (runtime.md).
func runPoststop(hooks []specs.Hook, st *specs.State, warn func(error)) {
	data, err := json.Marshal(st)
	if err != nil {
		warn(fmt.Errorf("poststop hook: encode state: %w", err))
		return
	}
	for i, h := range hooks {
		if err := runHook(h, data); err != nil {
			warn(fmt.Errorf("poststop hook[%d] %s: %w", i, h.Path, err))
		}
	}
}

// runHooks runs hooks in order, each with the state on stdin, and stops at
// the first that fails or outlives its timeout.
func runHooks(hooks []specs.Hook, kind string, st *specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("%s hook: encode state: %w", kind, err)
	}
	for i, h := range hooks {
		if err := runHook(h, data); err != nil {
			return fmt.Errorf("%s hook[%d] %s: %w", kind, i, h.Path, err)
		}
	}
	return nil
}

func runHook(h specs.Hook, stdin []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}
