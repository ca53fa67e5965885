package container

import "testing"

// --rootless auto is detected once, when asked; true and false are kept.
func TestOptionsRootless(t *testing.T) {
	auto := &Options{RootlessAuto: true}
	if got, want := auto.rootless(), DetectRootless(); got != want || auto.RootlessAuto || auto.Rootless != want {
		t.Errorf("auto: rootless() = %v, DetectRootless() = %v, after: %+v", got, want, auto)
	}
	for _, v := range []bool{true, false} {
		if got := (&Options{Rootless: v}).rootless(); got != v {
			t.Errorf("Rootless %v: rootless() = %v", v, got)
		}
	}
}
