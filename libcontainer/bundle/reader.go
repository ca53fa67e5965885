package bundle

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errFast is the generated decoder's only error. It is never shown: on it
// Decode runs encoding/json, whose error the user sees.
var errFast = errors.New("fast decode failed")

// maxDepth is encoding/json's limit on nesting: its scanner rejects a
// document with more than 10000 open arrays and objects.
const maxDepth = 10000

// intSize is the size of int and uint, whose range the decoder checks.
const intSize = strconv.IntSize

// reader reads JSON from data for the generated decoder (spec_codec_gen.go).
// It is strict: it accepts exactly the documents json.Valid accepts, so the
// decoder never succeeds on input encoding/json rejects as a whole.
type reader struct {
	data []byte
	// str is data as one string: the strings decoded without escapes are
	// substrings of it, which saves an allocation for each (a spec holds
	// hundreds) and keeps the document alive as long as the spec.
	str   string
	pos   int
	depth int
}

func newReader(data []byte) *reader {
	return &reader{data: data, str: string(data)}
}

func (r *reader) space() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the first byte of the next value, or 0 at the end.
func (r *reader) peek() byte {
	r.space()
	if r.pos < len(r.data) {
		return r.data[r.pos]
	}
	return 0
}

// literal consumes lit (null, true or false) if it comes next.
func (r *reader) literal(lit string) bool {
	r.space()
	if len(r.data)-r.pos >= len(lit) && string(r.data[r.pos:r.pos+len(lit)]) == lit {
		r.pos += len(lit)
		return true
	}
	return false
}

// null consumes a null if it comes next: encoding/json makes a null nil
// for pointers, slices and maps, and ignores it for anything else.
func (r *reader) null() bool {
	return r.literal("null")
}

// end reports whether only white space is left.
func (r *reader) end() bool {
	r.space()
	return r.pos == len(r.data)
}

func (r *reader) open(c byte) error {
	if r.peek() != c {
		return errFast
	}
	r.pos++
	r.depth++
	if r.depth > maxDepth {
		return errFast
	}
	return nil
}

func (r *reader) beginObject() error { return r.open('{') }
func (r *reader) beginArray() error  { return r.open('[') }

// member reads the key of the i-th member of an object and the colon after
// it; more is false, and the closing brace consumed, at the end of the object.
func (r *reader) member(i int) (key string, more bool, err error) {
	c := r.peek()
	if c == '}' {
		r.pos++
		r.depth--
		return "", false, nil
	}
	if i > 0 {
		if c != ',' {
			return "", false, errFast
		}
		r.pos++
		c = r.peek()
	}
	if c != '"' {
		return "", false, errFast
	}
	if key, err = r.stringText(); err != nil {
		return "", false, err
	}
	if r.peek() != ':' {
		return "", false, errFast
	}
	r.pos++
	return key, true, nil
}

// element prepares for the i-th element of an array; more is false, and
// the closing bracket consumed, at the end of the array.
func (r *reader) element(i int) (more bool, err error) {
	c := r.peek()
	if c == ']' {
		r.pos++
		r.depth--
		return false, nil
	}
	if i > 0 {
		if c != ',' {
			return false, errFast
		}
		r.pos++
	}
	return true, nil
}

// stringToken reads a string at r.pos, checking its escapes and rejecting
// control characters as JSON does. It returns where the string starts
// (its opening quote), and whether it has escapes or non-ASCII bytes.
func (r *reader) stringToken() (start int, escaped, nonASCII bool, err error) {
	start = r.pos
	r.pos++ // the opening quote
	for r.pos < len(r.data) {
		// Most bytes need no thought: skip them in a tight loop.
		for r.pos < len(r.data) && plainASCII[r.data[r.pos]] {
			r.pos++
		}
		if r.pos == len(r.data) {
			break
		}
		c := r.data[r.pos]
		switch {
		case c == '"':
			r.pos++
			return start, escaped, nonASCII, nil
		case c < 0x20:
			return 0, false, false, errFast
		case c == '\\':
			escaped = true
			if r.pos+1 >= len(r.data) {
				return 0, false, false, errFast
			}
			switch r.data[r.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.pos += 2
			case 'u':
				if len(r.data)-r.pos < 6 {
					return 0, false, false, errFast
				}
				for _, h := range r.data[r.pos+2 : r.pos+6] {
					if !isHex(h) {
						return 0, false, false, errFast
					}
				}
				r.pos += 6
			default:
				return 0, false, false, errFast
			}
		case c >= utf8.RuneSelf:
			nonASCII = true
			r.pos++
		default:
			r.pos++
		}
	}
	return 0, false, false, errFast
}

// plainASCII holds the bytes a string may hold as they are: ASCII, not a
// control character, a quote or a backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// stringText reads a string at r.pos and returns its text as encoding/json
// does. A string with an escape, or with invalid UTF-8 (which becomes
// U+FFFD), goes to encoding/json itself: exact, and rare in a config.
func (r *reader) stringText() (string, error) {
	start, escaped, nonASCII, err := r.stringToken()
	if err != nil {
		return "", err
	}
	body := r.str[start+1 : r.pos-1]
	if !escaped && (!nonASCII || utf8.ValidString(body)) {
		return body, nil
	}
	var s string
	if err := json.Unmarshal(r.data[start:r.pos], &s); err != nil {
		return "", errFast
	}
	return s, nil
}

// string reads a string value.
func (r *reader) string() (string, error) {
	if r.peek() != '"' {
		return "", errFast
	}
	return r.stringText()
}

// number reads a number with JSON's grammar and returns its text:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *reader) number() ([]byte, error) {
	r.space()
	d, start := r.data, r.pos
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = digits(d, i)
	default:
		return nil, errFast
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, errFast
		}
		i = digits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, errFast
		}
		i = digits(d, i)
	}
	r.pos = i
	return d[start:i], nil
}

func digits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

// int reads a number into a signed integer of the given size, as
// encoding/json does: strconv.ParseInt on the literal, so a fraction or
// an exponent is an error, and a range check.
func (r *reader) int(bits int) (int64, error) {
	tok, err := r.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil || bits < 64 && (n < -1<<(bits-1) || n >= 1<<(bits-1)) {
		return 0, errFast
	}
	return n, nil
}

// uint is int for unsigned integers.
func (r *reader) uint(bits int) (uint64, error) {
	tok, err := r.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(tok), 10, 64)
	if err != nil || bits < 64 && n >= 1<<bits {
		return 0, errFast
	}
	return n, nil
}

func (r *reader) bool() (bool, error) {
	switch {
	case r.literal("true"):
		return true, nil
	case r.literal("false"):
		return false, nil
	}
	return false, errFast
}

// skip reads and checks a value nothing is decoded into.
func (r *reader) skip() error {
	switch c := r.peek(); {
	case c == '{':
		if err := r.beginObject(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			_, more, err := r.member(i)
			if err != nil || !more {
				return err
			}
			if err := r.skip(); err != nil {
				return err
			}
		}
	case c == '[':
		if err := r.beginArray(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			more, err := r.element(i)
			if err != nil || !more {
				return err
			}
			if err := r.skip(); err != nil {
				return err
			}
		}
	case c == '"':
		_, _, _, err := r.stringToken()
		return err
	case c == '-' || '0' <= c && c <= '9':
		_, err := r.number()
		return err
	case r.literal("null") || r.literal("true") || r.literal("false"):
		return nil
	}
	return errFast
}

// field returns the index in names of the field a key selects, or -1:
// encoding/json takes an exact match, else the first field whose name
// equals the key under case folding.
func field(key string, names []string) int {
	for i, n := range names {
		if n == key {
			return i
		}
	}
	for i, n := range names {
		if strings.EqualFold(n, key) {
			return i
		}
	}
	return -1
}
