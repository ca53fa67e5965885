package rootfs

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOptions is the parsed form of one spec mount's options.
type mountOptions struct {
	flags       uintptr // MS_* flags for mount(2)
	propagation uintptr // MS_SHARED, MS_SLAVE, ... (|MS_REC); applied after the mount
	data        string  // everything unrecognised, comma-joined, for mount(2) data
	attrSet     uint64  // MOUNT_ATTR_* set recursively with mount_setattr (rro, ...)
	attrClr     uint64  // MOUNT_ATTR_* cleared recursively
	copyUp      bool    // tmpcopyup
	idmap       bool    // idmap or ridmap
	ridmap      bool    // ridmap: the mapping applies to every mount of the tree
}

type flagOption struct {
	clear bool
	flag  uintptr
}

// flagOptions are the options that are mount(2) flags. "defaults" sets nothing.
var flagOptions = map[string]flagOption{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"iversion":      {false, unix.MS_I_VERSION},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
}

// propagationOptions are applied with a second mount(2) call after the mount;
// the same names are the values of linux.rootfsPropagation.
var propagationOptions = map[string]uintptr{
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

type attrOption struct {
	clear bool
	attr  uint64
}

// recursiveOptions are applied to the whole mount tree with
// mount_setattr(AT_RECURSIVE): "These AT_RECURSIVE options need kernel 5.12 or
// later." -runtime-spec config.md
var recursiveOptions = map[string]attrOption{
	"rro":          {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":          {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":        {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {false, unix.MOUNT_ATTR_NODEV},
	"rdev":         {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":        {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":    {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":   {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// recursiveAtime maps the recursive atime options to the one atime mode
// mount_setattr accepts. Without a flag the kernel's default is relatime, so
// "ratime" and "rnostrictatime" mean relatime and "rnorelatime" (keep updating
// atime on every access) means strictatime.
var recursiveAtime = map[string]uint64{
	"rnoatime":       unix.MOUNT_ATTR_NOATIME,
	"ratime":         unix.MOUNT_ATTR_RELATIME,
	"rrelatime":      unix.MOUNT_ATTR_RELATIME,
	"rnorelatime":    unix.MOUNT_ATTR_STRICTATIME,
	"rstrictatime":   unix.MOUNT_ATTR_STRICTATIME,
	"rnostrictatime": unix.MOUNT_ATTR_RELATIME,
}

// ParseOptions splits OCI mount options into mount(2) flags, the propagation to
// apply after the mount (0 for none), and the data string: every option it does
// not know, in order, comma-joined. Later flags override earlier ones ("ro,rw"
// is rw). Recursive options (rro, rnosuid, ...), tmpcopyup, idmap and ridmap are
// recognised and left out of all three results; Mount applies them. Two
// different propagation options are an error.
func ParseOptions(options []string) (flags, propagation int, data string, err error) {
	o, err := parseOptions(options)
	if err != nil {
		return 0, 0, "", err
	}
	return int(o.flags), int(o.propagation), o.data, nil
}

func parseOptions(options []string) (mountOptions, error) {
	var (
		o            mountOptions
		data         strings.Builder
		propagation  string
		atime        uint64
		atimeChanged bool
	)
	for _, opt := range options {
		if f, ok := flagOptions[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
			} else {
				o.flags |= f.flag
			}
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			if propagation != "" && propagation != opt {
				return mountOptions{}, fmt.Errorf("mount option %q conflicts with %q", opt, propagation)
			}
			propagation, o.propagation = opt, p
			continue
		}
		if a, ok := recursiveOptions[opt]; ok {
			if a.clear {
				o.attrSet &^= a.attr
				o.attrClr |= a.attr
			} else {
				o.attrSet |= a.attr
				o.attrClr &^= a.attr
			}
			continue
		}
		if a, ok := recursiveAtime[opt]; ok {
			atime, atimeChanged = a, true
			continue
		}
		switch opt {
		case "":
		case "tmpcopyup":
			o.copyUp = true
		case "idmap":
			o.idmap = true
		case "ridmap":
			o.idmap, o.ridmap = true, true
		default:
			if data.Len() > 0 {
				data.WriteByte(',')
			}
			data.WriteString(opt)
		}
	}
	if atimeChanged {
		// mount_setattr(2): to change the atime mode, attr_clr must hold the
		// whole MOUNT_ATTR__ATIME mask and attr_set the one new mode.
		o.attrClr |= unix.MOUNT_ATTR__ATIME
		o.attrSet = o.attrSet&^unix.MOUNT_ATTR__ATIME | atime
	}
	o.data = data.String()
	return o, nil
}

// rootPropagation returns the flags for linux.rootfsPropagation, 0 when unset.
func rootPropagation(value string) (uintptr, error) {
	if value == "" {
		return 0, nil
	}
	p, ok := propagationOptions[value]
	if !ok {
		return 0, fmt.Errorf("linux.rootfsPropagation %q: unknown value", value)
	}
	return p, nil
}

// SupportedOptions lists, sorted, every mount option Mount understands itself
// (anything else is filesystem data), for the features document.
func SupportedOptions() []string {
	out := make([]string, 0, len(flagOptions)+len(propagationOptions)+len(recursiveOptions)+len(recursiveAtime)+3)
	for k := range flagOptions {
		out = append(out, k)
	}
	for k := range propagationOptions {
		out = append(out, k)
	}
	for k := range recursiveOptions {
		out = append(out, k)
	}
	for k := range recursiveAtime {
		out = append(out, k)
	}
	out = append(out, "tmpcopyup", "idmap", "ridmap")
	slices.Sort(out)
	return out
}
