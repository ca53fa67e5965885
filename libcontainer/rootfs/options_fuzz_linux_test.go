package rootfs

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseOptions feeds mount options (comma-separated in the input) to
// ParseOptions: it must never panic, must be deterministic, and what it
// returns as filesystem data must be exactly the options it does not know,
// in order.
func FuzzParseOptions(f *testing.F) {
	f.Add("ro,nosuid,nodev,noexec,relatime,size=65536k,mode=755")
	f.Add("rbind,rprivate,rro,rnosuid,ratime,tmpcopyup")
	f.Add("shared,private")
	f.Add(",,,=,ro,rw,ro")
	known := SupportedOptions()
	f.Fuzz(func(t *testing.T, in string) {
		opts := strings.Split(in, ",")
		flags, prop, data, err := ParseOptions(opts)
		flags2, prop2, data2, err2 := ParseOptions(opts)
		if flags != flags2 || prop != prop2 || data != data2 || (err == nil) != (err2 == nil) {
			t.Fatalf("ParseOptions(%q) is not deterministic", opts)
		}
		if err != nil {
			if flags != 0 || prop != 0 || data != "" {
				t.Fatalf("ParseOptions(%q) = %#x, %#x, %q with error %v", opts, flags, prop, data, err)
			}
			return
		}
		var unknown []string
		for _, o := range opts {
			switch {
			case o == "", o == "tmpcopyup", o == "idmap", o == "ridmap", slices.Contains(known, o):
			default:
				unknown = append(unknown, o)
			}
		}
		if want := strings.Join(unknown, ","); data != want {
			t.Fatalf("ParseOptions(%q): data %q, want the unknown options %q", opts, data, want)
		}
	})
}
