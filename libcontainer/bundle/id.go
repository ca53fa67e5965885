package bundle

import "fmt"

// ValidateID checks a container id: non-empty, made only of ASCII letters, digits
// and "_+-.", and not "." or "..", since the id names a directory under the state
// root and must not climb out of it.
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("invalid container id %q: empty", id)
	}
	// Names starting with a dot are the runtime's own in the state root
	// (".seccomp-cache"), where container directories live too; runc allows
	// them, but no client makes such ids.
	if id[0] == '.' {
		return fmt.Errorf("invalid container id %q: ids starting with a dot are reserved", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == '+' || c == '-' || c == '.'
		if !ok {
			return fmt.Errorf("invalid container id %q: only letters, digits and _+-. are allowed", id)
		}
	}
	return nil
}
