package bundle

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The generated decoder must give encoding/json's result or fail: Decode
// trusts its success, and on its failure reports encoding/json's error.

// checkDecode fails t if the generated decoder and encoding/json disagree
// on data, and if Decode's result or error is not encoding/json's.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	var ref linuxSpec
	refErr := json.Unmarshal(data, &ref)
	got, err := decodeFast(data)
	switch {
	case refErr != nil && err == nil:
		t.Fatalf("generated decoder accepted %q, encoding/json: %v", short(data), refErr)
	case refErr == nil && err != nil:
		t.Fatalf("generated decoder rejected %q, which encoding/json decodes", short(data))
	case refErr == nil && !reflect.DeepEqual(got, &ref.Spec):
		t.Fatalf("decoding %q:\n generated %#v\nencoding/json %#v", short(data), got, &ref.Spec)
	}
	// Decode itself: encoding/json's result, or its error.
	s, err := Decode(data)
	want, wantErr := decodeJSON(data)
	if !reflect.DeepEqual(s, want) || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("Decode(%q) = %v, %v; encoding/json: %v, %v", short(data), s, err, want, wantErr)
	}
}

// short is data for a message.
func short(data []byte) []byte {
	if len(data) > 300 {
		return append(data[:300:300], "..."...)
	}
	return data
}

// checkEncode fails t if Encode(s) is not json.Marshal's form of it.
func checkEncode(t *testing.T, s *specs.Spec) {
	t.Helper()
	want, err := json.Marshal(&linuxSpec{Spec: *s})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode:\n got %s\nwant %s", got, want)
	}
}

// configs returns every config in testdata, the fuzz corpus of FuzzLoad
// and the default specs, by name.
func configs(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, rootless := range []bool{false, true} {
		b, err := json.Marshal(Default(rootless))
		if err != nil {
			t.Fatal(err)
		}
		out["Default("+map[bool]string{false: "false", true: "true"}[rootless]+")"] = b
	}
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	// The fuzz corpus files hold one []byte each, as a Go literal.
	corpus, _ := filepath.Glob("testdata/fuzz/FuzzLoad/*")
	for _, f := range corpus {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		lit := strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], "[]byte("), ")")
		var s string
		if err := json.Unmarshal([]byte(lit), &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = []byte(s)
	}
	if len(files) == 0 || len(corpus) == 0 {
		t.Fatalf("no configs in testdata")
	}
	return out
}

func TestGeneratedCodecConfigs(t *testing.T) {
	for name, data := range configs(t) {
		t.Run(name, func(t *testing.T) {
			checkDecode(t, data)
			s, err := decodeFast(data)
			if err != nil {
				// Some of the fuzz corpus is meant to fail; checkDecode
				// saw encoding/json fail too.
				if strings.Contains(name, "/fuzz/") {
					return
				}
				t.Fatalf("generated decoder rejected %s", name)
			}
			checkEncode(t, s)
		})
	}
}

// decodeCases are hand-written inputs for each rule of encoding/json the
// decoder keeps; checkDecode compares the two on each.
var decodeCases = []string{
	// Keys: exact, else case-insensitive (Unicode folding, after
	// unescaping), first field in order; unknown keys skipped.
	`{"OCIVERSION":"1","Process":{"ARGS":["a"],"Cwd":"/"}}`,
	`{"hoſtname":"x","linux":{"namespaces":[{"type":"pid","PATH":"/p"}]}}`,
	`{"oci\u0056ersion":"x","\u0068ostname":"h"}`,
	`{"ociversion":"a","ociVersion":"b","OCIVERSION":"c"}`,
	`{"linux":{"CgroupsPath":"/a","cgroupsPath":"/b"}}`,
	`{"unknown":{"a":[1,2.5e-3,{"b":null}],"c":true,"d":"\u00e9"},"hostname":"x"}`,
	`{"unknown":[1,]}`,
	`{"unknown":tru}`,
	`{"unknown":-}`,
	`{"process":{"unknown":{"x":[[[]]]},"args":["a"]}}`,
	// Duplicates: the later wins; pointers and structs merge, maps add,
	// slices decode in place over the old elements.
	`{"hostname":"a","hostname":"b"}`,
	`{"process":{"args":["a"],"cwd":"/"},"process":{"terminal":true}}`,
	`{"annotations":{"a":"1","b":"0"},"annotations":{"b":"2"}}`,
	`{"mounts":[{"destination":"/a","type":"t"},{"destination":"/b"}],"mounts":[{"destination":"/c"}]}`,
	`{"mounts":[{"destination":"/a","type":"t"},{"destination":"/b","type":"u"}],"mounts":[{"destination":"/c"}],"mounts":[{"source":"s"},null]}`,
	`{"process":{"args":["a","b"],"args":["c"],"args":["x",null]}}`,
	`{"process":{"args":["a","b"],"args":[]}}`,
	`{"process":{"args":[]}}`,
	`{"linux":{"resources":{"memory":{"limit":1}}},"linux":{"resources":{"memory":{"swap":2}}}}`,
	`{"linux":{"netDevices":{"a":{"name":"x"}},"netDevices":{"a":{}}}}`,
	`{"linux":{"resources":{"rdma":{"a":{"hcaHandles":1}},"rdma":{"b":{"hcaObjects":2}}}}}`,
	// null: nil for pointers, slices and maps, no-op otherwise.
	`null`,
	`{"process":null}`,
	`{"hostname":null}`,
	`{"hostname":"a","hostname":null}`,
	`{"process":{"cwd":"/"},"process":null}`,
	`{"process":{"args":null,"terminal":null,"user":{"uid":null,"gid":5}}}`,
	`{"process":{"args":["a"],"args":null}}`,
	`{"annotations":{"a":"b"},"annotations":null}`,
	`{"annotations":{"a":null}}`,
	`{"linux":{"resources":{"memory":{"limit":null}}}}`,
	`{"linux":{"uidMappings":[null,{"containerID":1}]}}`,
	`{"process":{"oomScoreAdj":3},"process":{"oomScoreAdj":null}}`,
	`{"process":{"user":null}}`,
	// Integers: strconv on the literal, the field's range.
	`{"process":{"user":{"uid":4294967295}}}`,
	`{"process":{"user":{"uid":4294967296}}}`,
	`{"process":{"user":{"uid":-1}}}`,
	`{"process":{"user":{"uid":-0}}}`,
	`{"process":{"user":{"uid":1.0}}}`,
	`{"process":{"user":{"uid":1e3}}}`,
	`{"process":{"user":{"uid":1E+2}}}`,
	`{"process":{"user":{"uid":01}}}`,
	`{"process":{"user":{"uid":+1}}}`,
	`{"process":{"user":{"uid":1.}}}`,
	`{"process":{"user":{"uid":.5}}}`,
	`{"process":{"user":{"uid":0x10}}}`,
	`{"process":{"oomScoreAdj":-0}}`,
	`{"process":{"oomScoreAdj":9223372036854775807}}`,
	`{"process":{"oomScoreAdj":9223372036854775808}}`,
	`{"process":{"oomScoreAdj":-9223372036854775808}}`,
	`{"process":{"oomScoreAdj":-9223372036854775809}}`,
	`{"process":{"rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":18446744073709551616}]}}`,
	`{"linux":{"resources":{"blockIO":{"weight":65535}}}}`,
	`{"linux":{"resources":{"blockIO":{"weight":65536}}}}`,
	`{"linux":{"resources":{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":10}]}}}}`,
	`{"linux":{"devices":[{"path":"/dev/x","type":"c","major":1,"minor":2,"fileMode":438,"uid":0}]}}`,
	`{"linux":{"devices":[{"path":"/dev/x","fileMode":4294967296}]}}`,
	`{"linux":{"seccomp":{"defaultErrnoRet":38,"syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":1,"value":2,"valueTwo":3,"op":"SCMP_CMP_EQ"}]}]}}}`,
	`{"linux":{"intelRdt":{"closID":"x","schemata":["a"]},"personality":{"domain":"LINUX","flags":["x"]}}}`,
	`{"process":{"scheduler":{"policy":"SCHED_OTHER","nice":-21,"priority":2147483648}}}`,
	`{"process":{"scheduler":{"policy":"SCHED_OTHER","nice":-2147483648,"priority":2147483647}}}`,
	// Strings: escapes, surrogates, invalid UTF-8 as U+FFFD.
	`{"hostname":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}`,
	`{"hostname":"\ud800"}`,
	`{"hostname":"\udc00x\ud800\u0041"}`,
	`{"hostname":"<>&\u2028\u2029\u0000"}`,
	`{"hostname":"h\u00e9llo","domainname":"ünïcode"}`,
	`{"hostname":"a\xffb","domainname":"\xc3"}`,
	`{"annotations":{"k\xfe":"v\xc3\x28","\u00e9":"é"}}`,
	`{"hostn\xffme":"x"}`,
	`{"hostname":"\x"}`,
	`{"hostname":"\u12"}`,
	`{"hostname":"\u12g4"}`,
	"{\"hostname\":\"a\x01\"}",
	"{\"hostname\":\"a\x7f\"}",
	`{"hostname":"a`,
	`{"hostname":"a\`,
	// Wrong JSON types.
	`{"hostname":5}`,
	`{"hostname":true}`,
	`{"process":[]}`,
	`{"process":"x"}`,
	`{"process":{"args":"sh"}}`,
	`{"process":{"args":[1]}}`,
	`{"process":{"terminal":"true"}}`,
	`{"process":{"terminal":1}}`,
	`{"annotations":[]}`,
	`{"annotations":{"a":1}}`,
	`{"process":{"user":{"uid":"0"}}}`,
	`{"process":{"user":{"uid":true}}}`,
	`{"linux":{"namespaces":{}}}`,
	`{"linux":{"resources":{"memory":5}}}`,
	`[]`,
	`"x"`,
	`5`,
	`true`,
	// Syntax, anywhere.
	``,
	` `,
	`{`,
	`{"a":1,}`,
	`{,}`,
	`{,"a":1}`,
	`{"a" 1}`,
	`{"a":1 "b":2}`,
	`{"a"::1}`,
	`{"process":{"args":["a" "b"]}}`,
	`{"process":{"args":["a",]}}`,
	`{"process":{"args":[,"a"]}}`,
	`{} {}`,
	`{}x`,
	" \t\r\n{ \"hostname\" : \"x\" , \"process\" : { \"args\" : [ \"a\" , \"b\" ] } } \n",
	"\ufeff{}",
	"{}\x00",
	"{\f}",
	`{"hostname":nul}`,
	`{"hostname":nullx}`,
	`{"process":{"terminal":truex}}`,
	`{"process":{"terminal":tru}}`,
	`{"process":{"oomScoreAdj":1x}}`,
	`{"process":{"oomScoreAdj":-}}`,
	`{"process":{"oomScoreAdj":1e}}`,
	`{"process":{"oomScoreAdj":1e+}}`,
	// Other platforms' sections are skipped, but must be valid JSON.
	`{"ociVersion":"1.3.0","windows":{"layerFolders":7},"solaris":[1],"vm":"x","zos":null,"process":{"args":["sh"]}}`,
	`{"Windows":{"layerFolders":7},"SOLARIS":5,"Vm":[],"zOS":{}}`,
	`{"windows":[1,}`,
	`{"freebsd":{"jail":{"parent":"p","host":"new","enforceStatfs":2}}}`,
	`{"freebsd":{"devices":[{"path":"/dev/null","mode":438}]}}`,
}

func TestGeneratedDecoderMatchesEncodingJSON(t *testing.T) {
	for _, c := range decodeCases {
		checkDecode(t, []byte(c))
	}
}

// encoding/json rejects more than 10000 nested arrays and objects, even in
// a value it skips.
func TestGeneratedDecoderDepth(t *testing.T) {
	for _, n := range []int{9998, 9999, 10000} {
		data := []byte(`{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
		checkDecode(t, data)
		data = []byte(`{"process":{"x":` + strings.Repeat(`{"a":`, n-1) + `1` + strings.Repeat("}", n-1) + `}}`)
		checkDecode(t, data)
	}
}

func TestGeneratedEncoderMatchesEncodingJSON(t *testing.T) {
	for _, c := range decodeCases {
		var s linuxSpec
		if json.Unmarshal([]byte(c), &s) == nil {
			checkEncode(t, &s.Spec)
		}
	}
	// Everything set: every field is written, with every omitempty rule.
	full := Default(false)
	full.Hostname = "<h&>\u2028\u2029\x01\xff\"\\é"
	full.Annotations = map[string]string{"b": "1", "a": "2", "<": "", "é": "x", "\xff": "y"}
	full.Linux.Resources.Memory = &specs.LinuxMemory{Limit: new(int64(-1)), DisableOOMKiller: new(false)}
	full.Linux.Resources.BlockIO = &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{}}, ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{Rate: 1}}}
	full.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth0": {Name: "x"}, "a": {}}
	full.Linux.Seccomp = &specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Names: []string{}, Args: []specs.LinuxSeccompArg{{}}}}}
	full.Process.Args = []string{}
	full.Process.OOMScoreAdj = new(0)
	full.Windows = &specs.Windows{LayerFolders: []string{"c"}}
	full.FreeBSD = &specs.FreeBSD{}
	checkEncode(t, full)
	checkEncode(t, &specs.Spec{})
	checkEncode(t, &specs.Spec{Process: &specs.Process{}, Linux: &specs.Linux{Resources: &specs.LinuxResources{}}})
}

// For any input: if encoding/json decodes it, the generated decoder
// decodes it to the same spec; if encoding/json fails, so does it.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, data := range configs(f) {
		f.Add(data)
	}
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
	})
}

// For any input encoding/json decodes, Encode writes json.Marshal's bytes.
func FuzzEncodeMatchesEncodingJSON(f *testing.F) {
	for _, data := range configs(f) {
		f.Add(data)
	}
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s linuxSpec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		checkEncode(t, &s.Spec)
	})
}

// TestDecodeProcessMatchesEncodingJSON: DecodeProcess gives encoding/json's
// result for the process of every config, and its error for bad input.
func TestDecodeProcessMatchesEncodingJSON(t *testing.T) {
	inputs := map[string][]byte{
		"empty":        []byte(`{}`),
		"null args":    []byte(`{"args":null,"cwd":"/"}`),
		"folded keys":  []byte(`{"ARGS":["sh"],"Cwd":"/x","user":{"UID":5,"additionalGids":[1,2]}}`),
		"duplicates":   []byte(`{"args":["a","b"],"args":["c"],"env":["A=1"],"env":null}`),
		"escapes":      []byte(`{"args":["\u00e9\n","\ud83d\ude00"],"cwd":"/\u002f"}`),
		"rlimits":      []byte(`{"args":["x"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]}`),
		"wrong type":   []byte(`{"args":"sh"}`),
		"overflow":     []byte(`{"user":{"uid":4294967296}}`),
		"trailing":     []byte(`{"args":["sh"]} x`),
		"not object":   []byte(`["sh"]`),
		"syntax":       []byte(`{"args":["sh"]`),
		"unknown keys": []byte(`{"args":["sh"],"zz":{"a":[1,2,{"b":null}]}}`),
	}
	for name, data := range configs(t) {
		var part struct {
			Process json.RawMessage `json:"process"`
		}
		if json.Unmarshal(data, &part) == nil && len(part.Process) > 0 {
			inputs[name] = part.Process
		}
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			var want specs.Process
			wantErr := json.Unmarshal(data, &want)
			got, err := DecodeProcess(data)
			switch {
			case wantErr != nil && (err == nil || err.Error() != wantErr.Error()):
				t.Fatalf("DecodeProcess(%q) = %v, %v; encoding/json: %v", short(data), got, err, wantErr)
			case wantErr == nil && (err != nil || !reflect.DeepEqual(got, &want)):
				t.Fatalf("DecodeProcess(%q) = %#v, %v; encoding/json: %#v", short(data), got, err, &want)
			}
		})
	}
}
