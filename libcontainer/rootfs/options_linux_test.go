package rootfs

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name        string
		options     []string
		flags       int
		propagation int
		data        string
		err         string
	}{
		{name: "empty"},
		{name: "ro", options: []string{"ro"}, flags: unix.MS_RDONLY},
		{name: "later rw wins", options: []string{"ro", "rw"}},
		{name: "later ro wins", options: []string{"rw", "ro"}, flags: unix.MS_RDONLY},
		{
			name:    "proc defaults",
			options: []string{"nosuid", "noexec", "nodev"},
			flags:   unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV,
		},
		{
			name:    "dev tmpfs",
			options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
			flags:   unix.MS_NOSUID | unix.MS_STRICTATIME,
			data:    "mode=755,size=65536k",
		},
		{
			name:    "devpts",
			options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
			flags:   unix.MS_NOSUID | unix.MS_NOEXEC,
			data:    "newinstance,ptmxmode=0666,mode=0620,gid=5",
		},
		{
			name:        "rbind rprivate",
			options:     []string{"rbind", "rprivate"},
			flags:       unix.MS_BIND | unix.MS_REC,
			propagation: unix.MS_PRIVATE | unix.MS_REC,
		},
		{name: "bind", options: []string{"bind"}, flags: unix.MS_BIND},
		{name: "shared", options: []string{"bind", "shared"}, flags: unix.MS_BIND, propagation: unix.MS_SHARED},
		{name: "rslave", options: []string{"rslave"}, propagation: unix.MS_SLAVE | unix.MS_REC},
		{name: "runbindable", options: []string{"runbindable"}, propagation: unix.MS_UNBINDABLE | unix.MS_REC},
		{name: "same propagation twice", options: []string{"rslave", "rslave"}, propagation: unix.MS_SLAVE | unix.MS_REC},
		{name: "conflicting propagation", options: []string{"rshared", "rslave"}, err: `"rslave" conflicts with "rshared"`},
		{
			name:    "overlay data",
			options: []string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "ro"},
			flags:   unix.MS_RDONLY,
			data:    "lowerdir=/a:/b,upperdir=/u,workdir=/w",
		},
		{name: "unknown flag-like goes to data", options: []string{"nouser", "ro", "fancy"}, flags: unix.MS_RDONLY, data: "nouser,fancy"},
		{name: "clearing flags", options: []string{"nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "atime"}},
		{name: "atime family", options: []string{"noatime", "nodiratime", "relatime", "strictatime"}, flags: unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME},
		{name: "sync and dirsync", options: []string{"sync", "dirsync", "remount", "mand"}, flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_REMOUNT | unix.MS_MANDLOCK},
		{name: "async nomand", options: []string{"sync", "async", "mand", "nomand"}},
		{name: "lazytime silent iversion", options: []string{"lazytime", "silent", "iversion"}, flags: unix.MS_LAZYTIME | unix.MS_SILENT | unix.MS_I_VERSION},
		{name: "their opposites", options: []string{"lazytime", "nolazytime", "silent", "loud", "iversion", "noiversion", "relatime", "norelatime", "strictatime", "nostrictatime", "diratime"}},
		{name: "nosymfollow", options: []string{"nosymfollow"}, flags: unix.MS_NOSYMFOLLOW},
		{name: "defaults and empty", options: []string{"defaults", ""}},
		{name: "recursive options stay out", options: []string{"rro", "rnosuid", "ratime", "tmpcopyup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags, propagation, data, err := ParseOptions(tt.options)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if flags != tt.flags || propagation != tt.propagation || data != tt.data {
				t.Errorf("got flags %#x propagation %#x data %q, want %#x %#x %q",
					flags, propagation, data, tt.flags, tt.propagation, tt.data)
			}
		})
	}
}

// Every option runtime-spec lists as MUST or SHOULD is understood, not passed
// through as filesystem data.
func TestParseOptionsKnowsSpecOptions(t *testing.T) {
	spec := []string{
		"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
		"iversion", "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime",
		"noexec", "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime",
		"nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime",
		"relatime", "remount", "rexec", "rnoatime", "rnodiratime", "rnoexec",
		"rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro", "rprivate",
		"rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
		"rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime",
		"suid", "symfollow", "sync", "tmpcopyup", "unbindable", "idmap", "ridmap",
	}
	supported := SupportedOptions()
	for _, opt := range spec {
		t.Run(opt, func(t *testing.T) {
			_, _, data, err := ParseOptions([]string{opt})
			if err != nil || data != "" {
				t.Errorf("ParseOptions(%q): data %q, err %v", opt, data, err)
			}
			if !slices.Contains(supported, opt) {
				t.Errorf("SupportedOptions() lacks %q", opt)
			}
		})
	}
}

func TestParseOptionsRecursive(t *testing.T) {
	tests := []struct {
		name             string
		options          []string
		attrSet, attrClr uint64
		copyUp, idmap    bool
		ridmap           bool
	}{
		{name: "rro", options: []string{"rro"}, attrSet: unix.MOUNT_ATTR_RDONLY},
		{name: "rro then rrw", options: []string{"rro", "rrw"}, attrClr: unix.MOUNT_ATTR_RDONLY},
		{
			name:    "hardening",
			options: []string{"rnosuid", "rnodev", "rnoexec", "rnosymfollow"},
			attrSet: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOSYMFOLLOW,
		},
		{name: "rnoatime", options: []string{"rnoatime"}, attrSet: unix.MOUNT_ATTR_NOATIME, attrClr: unix.MOUNT_ATTR__ATIME},
		{name: "last atime wins", options: []string{"rnoatime", "rstrictatime"}, attrSet: unix.MOUNT_ATTR_STRICTATIME, attrClr: unix.MOUNT_ATTR__ATIME},
		{name: "ratime is relatime", options: []string{"ratime"}, attrSet: unix.MOUNT_ATTR_RELATIME, attrClr: unix.MOUNT_ATTR__ATIME},
		{name: "rnodiratime", options: []string{"rnodiratime", "rdev"}, attrSet: unix.MOUNT_ATTR_NODIRATIME, attrClr: unix.MOUNT_ATTR_NODEV},
		{name: "tmpcopyup", options: []string{"tmpcopyup"}, copyUp: true},
		{name: "idmap", options: []string{"idmap"}, idmap: true},
		{name: "ridmap", options: []string{"ridmap"}, idmap: true, ridmap: true},
		{name: "idmap with ridmap", options: []string{"rbind", "idmap", "ridmap"}, idmap: true, ridmap: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.options)
			if err != nil {
				t.Fatal(err)
			}
			if o.attrSet != tt.attrSet || o.attrClr != tt.attrClr || o.copyUp != tt.copyUp || o.idmap != tt.idmap || o.ridmap != tt.ridmap {
				t.Errorf("got set %#x clr %#x copyUp %v idmap %v ridmap %v, want %#x %#x %v %v %v",
					o.attrSet, o.attrClr, o.copyUp, o.idmap, o.ridmap, tt.attrSet, tt.attrClr, tt.copyUp, tt.idmap, tt.ridmap)
			}
		})
	}
}

func TestRootPropagation(t *testing.T) {
	tests := []struct {
		value string
		want  uintptr
		err   bool
	}{
		{value: "", want: 0},
		{value: "shared", want: unix.MS_SHARED},
		{value: "slave", want: unix.MS_SLAVE},
		{value: "private", want: unix.MS_PRIVATE},
		{value: "unbindable", want: unix.MS_UNBINDABLE},
		{value: "rslave", want: unix.MS_SLAVE | unix.MS_REC},
		{value: "rshared", want: unix.MS_SHARED | unix.MS_REC},
		{value: "bogus", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := rootPropagation(tt.value)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("rootPropagation(%q) = %#x, %v", tt.value, got, err)
			}
		})
	}
}

func TestStatfsFlags(t *testing.T) {
	got := statfsFlags(unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_RELATIME)
	want := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME)
	if got != want {
		t.Errorf("statfsFlags = %#x, want %#x", got, want)
	}
}
