package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
	"github.com/tupper-runtime/tupper/libcontainer/seccomp"
)

// The parent (create) and the init talk over one socketpair, in JSON lines.
//
//	parent (tupper create)                 init (tupper init)
//	  clone(CLONE_NEW*) ─────────────────▶  [nsenter constructor: setns by path;
//	                                         a new user ns:   ◀── msgUserMap{pid}
//	  write uid_map, gid_map (rootless:
//	  newuidmap, newgidmap); one byte ──▶
//	                                         when it forks:   ◀── msgPid{pid}]
//	  place init in its cgroup
//	  msgConfig{spec, options} ──────────▶
//	                                         namespaces, hostname, rootfs.Mount
//	                                    ◀── msgHooks        (only with createRuntime,
//	  createRuntime hooks                                     createContainer or
//	  msgHooksDone ──────────────────────▶                   prestart hooks)
//	                                         createContainer hooks, rootfs.Pivot,
//	                                         rootfs.Finalize, sysctls, console,
//	                                         process attributes
//	                                    ◀── msgReady{steps} or msgError{error}
//	  write state.json, --pid-file           open(exec.fifo, O_WRONLY): blocks
//
//	tupper start: open(exec.fifo, O_RDONLY), read to EOF
//	                                         write one byte; startContainer hooks;
//	                                         execve(process.args). The fifo is
//	                                         O_CLOEXEC, so a successful exec shows
//	                                         start an EOF; a failure is written to
//	                                         the fifo as text before the init exits.
//
// Any step of the init that fails sends msgError naming the step and its
// cause; the parent returns it as the error of create, so the user never
// sees a bare EOF.
const (
	msgPid       = "pid"
	msgUserMap   = "usermap"
	msgConfig    = "config"
	msgHooks     = "hooks"
	msgHooksDone = "hooks-done"
	msgReady     = "ready"
	msgError     = "error"
)

// message is every message of the protocol; Type says which fields are set.
type message struct {
	Type  string `json:"type"`
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
	// Config is msgConfig's initConfig as JSON (sendConfig, initConfig),
	// decoded by the init alone. The first time encoding/json decodes into
	// a type it builds codecs for every type that type nests, and an
	// initConfig nests a whole spec: a parent reading the init's replies
	// would pay more than a millisecond for it, which matters to exec.
	Config json.RawMessage `json:"config,omitempty"`
	Steps  []step          `json:"steps,omitempty"`
	// Began is when the init's main started, for --debug: the parent
	// subtracts its own clock at clone to show what exec and the Go runtime
	// cost.
	Began time.Time `json:"began,omitzero"`
}

// initConfig is what the init needs beyond the spec.
type initConfig struct {
	ID string `json:"id"`
	// Spec travels as RawSpec, in bundle.Encode's form, which leaves out
	// the types of other platforms a decoder would build codecs for.
	Spec         *specs.Spec     `json:"-"`
	RawSpec      json.RawMessage `json:"spec"`
	Bundle       string          `json:"bundle"`
	Rootfs       string          `json:"rootfs"`
	NoPivot      bool            `json:"no_pivot,omitempty"`
	NoNewKeyring bool            `json:"no_new_keyring,omitempty"`
	PreserveFDs  int             `json:"preserve_fds,omitempty"`
	// Exec is set for `tupper exec`: the process joins a running container
	// (the nsenter constructor did the joining) and only Spec.Process and
	// Seccomp apply.
	Exec bool `json:"exec,omitempty"`
	// HostPid is the init's pid in the runtime's pid namespace, which the
	// init cannot see from inside its own, for hooks' and agents' state.
	HostPid int `json:"host_pid"`
	// Seccomp is the compiled linux.seccomp, loaded just before execve.
	Seccomp *seccomp.Program `json:"seccomp,omitempty"`
	// Idmapped names, by index in Spec.Mounts, the fds of idmapped mount
	// trees the runtime made for an init in a user namespace.
	Idmapped map[int]int `json:"idmapped,omitempty"`
	// UserNS is set when the init is in a new user namespace whose maps the
	// parent wrote; the init then becomes root in it.
	UserNS bool `json:"user_ns,omitempty"`
}

// step is one timed step of the init, reported for --debug.
type step struct {
	Name string        `json:"name"`
	Took time.Duration `json:"took"`
}

// channel is one end of the socketpair.
type channel struct {
	enc *json.Encoder
	dec *json.Decoder
}

func newChannel(rw io.ReadWriter) *channel {
	return &channel{enc: json.NewEncoder(rw), dec: json.NewDecoder(rw)}
}

func (c *channel) send(m *message) error {
	if err := c.enc.Encode(m); err != nil {
		return fmt.Errorf("send %s: %w", m.Type, err)
	}
	return nil
}

// sendConfig sends msgConfig with cfg.
func (c *channel) sendConfig(cfg *initConfig) error {
	wire := *cfg
	var err error
	if wire.RawSpec, err = bundle.Encode(cfg.Spec); err != nil {
		return fmt.Errorf("send %s: %w", msgConfig, err)
	}
	data, err := json.Marshal(&wire)
	if err != nil {
		return fmt.Errorf("send %s: %w", msgConfig, err)
	}
	return c.send(&message{Type: msgConfig, Config: data})
}

// initConfig decodes msgConfig's config.
func (m *message) initConfig() (*initConfig, error) {
	var cfg initConfig
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		return nil, fmt.Errorf("read %s: %w", msgConfig, err)
	}
	if len(cfg.RawSpec) == 0 || string(cfg.RawSpec) == "null" {
		return nil, fmt.Errorf("read %s: no spec", msgConfig)
	}
	spec, err := bundle.Decode(cfg.RawSpec)
	if err != nil {
		return nil, fmt.Errorf("read %s: spec: %w", msgConfig, err)
	}
	cfg.Spec, cfg.RawSpec = spec, nil
	return &cfg, nil
}

// errInitGone is returned by expect when the init closed the socket without
// a word; create turns it into an error carrying the init's exit status.
var errInitGone = errors.New("init process exited before reporting")

// peerError is err, or, when err says the other end went before it read
// what we sent (EPIPE, ECONNRESET), what that end wrote before it went: a
// send that found the socket closed has not read the error yet.
func (c *channel) peerError(err error) error {
	if peerGone(err) && !errors.Is(err, errInitGone) {
		if _, rerr := c.recv(); rerr != nil && !peerGone(rerr) {
			return rerr
		}
	}
	return err
}

// recv reads the next message. An msgError from the other side becomes the
// returned error, with the text the init gave.
func (c *channel) recv() (*message, error) {
	var m message
	if err := c.dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errInitGone
		}
		return nil, fmt.Errorf("read from init: %w", err)
	}
	if m.Type == msgError {
		return nil, errors.New(m.Error)
	}
	return &m, nil
}

// expect reads the next message and checks its type.
func (c *channel) expect(want string) (*message, error) {
	m, err := c.recv()
	if err != nil {
		return nil, err
	}
	if m.Type != want {
		return nil, fmt.Errorf("unexpected message from init: got %q, want %q", m.Type, want)
	}
	return m, nil
}
