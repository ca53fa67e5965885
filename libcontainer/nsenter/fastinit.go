package nsenter

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The operations of a FastInit plan, as fastinit.c runs them. Each does
// what the Go init's code for the same step does; fastinit.c's enum says
// what A, B, C and Strs hold for each.
const (
	OpCgroupNS     = 'G'
	OpHostname     = 'H'
	OpPropagate    = 'P'
	OpRoot         = 'B'
	OpMount        = 'm'
	OpBind         = 'b'
	OpCgroup1      = 'c'
	OpDevice       = 'd'
	OpSymlink      = 'l'
	OpPivot        = 'p'
	OpSysctl       = 'S'
	OpReadonly     = 'r'
	OpMask         = 'k'
	OpDevReadonly  = 'D'
	OpRootReadonly = 'O'
	OpFIFO         = 'F'
	OpJoin         = 'J'
	OpDevWait      = 'V'
)

// MaxOpStrings is how many strings one operation may carry.
const MaxOpStrings = 96

// Op is one step of the C init's set-up.
type Op struct {
	Code    byte
	A, B, C uint64
	Strs    []string
}

// EncodeOps renders a plan as fastinit.c reads it: a u32 length, then per
// operation its code, a u32 length, A, B and C as u64 and the strings with
// their NULs, in native byte order.
//
// A string holding a NUL would shift the strings after it: the caller
// keeps such configs from the C init, and this refuses them too.
func EncodeOps(ops []Op) ([]byte, error) {
	var b []byte
	for _, o := range ops {
		n := 24
		if len(o.Strs) > MaxOpStrings {
			return nil, fmt.Errorf("set-up plan: operation %c has %d strings, at most %d", o.Code, len(o.Strs), MaxOpStrings)
		}
		for _, s := range o.Strs {
			if strings.IndexByte(s, 0) >= 0 {
				return nil, fmt.Errorf("set-up plan: %q holds a NUL byte", s)
			}
			n += len(s) + 1
		}
		b = append(b, o.Code)
		b = binary.NativeEndian.AppendUint32(b, uint32(n))
		b = binary.NativeEndian.AppendUint64(b, o.A)
		b = binary.NativeEndian.AppendUint64(b, o.B)
		b = binary.NativeEndian.AppendUint64(b, o.C)
		for _, s := range o.Strs {
			b = append(append(b, s...), 0)
		}
	}
	return append(binary.NativeEndian.AppendUint32(nil, uint32(len(b))), b...), nil
}
