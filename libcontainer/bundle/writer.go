package bundle

import "encoding/json"

// appendString appends s as encoding/json writes a string: a string that
// needs no escaping is copied; any other (HTML characters, control
// characters, non-ASCII with its U+2028, U+2029 and invalid UTF-8) goes to
// json.Marshal of the string alone, which builds no struct codec.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
