package vm

import "testing"

func TestParseConsole(t *testing.T) {
	for _, tc := range []struct {
		name    string
		console string
		output  string
		rc      int
		ok      bool
	}{
		{
			name:    "firmware noise and kernel lines around the script",
			console: "SeaBIOS\nBooting..\n" + beginMarker + " uptime=4.1\nhello\nworld\n" + resultPrefix + "3\n[ 5.1] sysrq: Power Off\n",
			output:  "hello\nworld\n",
			rc:      3,
			ok:      true,
		},
		{
			name:    "no output",
			console: beginMarker + "\n" + resultPrefix + "0\n",
			ok:      true,
		},
		{
			name:    "script prints the markers itself",
			console: beginMarker + "\n" + beginMarker + "\n" + resultPrefix + "7\n" + resultPrefix + "0\n",
			output:  beginMarker + "\n" + resultPrefix + "7\n",
			ok:      true,
		},
		{
			name:    "guest died",
			console: beginMarker + "\nhello\nKernel panic\n",
		},
		{
			name:    "result line not alone",
			console: beginMarker + "\necho " + resultPrefix + "0\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			output, rc, ok := parseConsole(tc.console)
			if output != tc.output || rc != tc.rc || ok != tc.ok {
				t.Errorf("parseConsole = %q, %d, %v; want %q, %d, %v", output, rc, ok, tc.output, tc.rc, tc.ok)
			}
		})
	}
}
