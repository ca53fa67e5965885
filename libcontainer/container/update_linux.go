package container

import (
	"encoding/json"
	"fmt"
	"reflect"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/libcontainer/state"
)

// Update changes the resources of a live container. r is laid over the
// resources the container was created (or last updated) with, the result
// is written to its cgroup and then to its record, so that the next update
// starts from it.
//
// Only what r sets changes: a nil pointer, an empty string, a nil list or
// map leaves the field as it was; a list given replaces the old one whole,
// a map adds to it key by key. linux.resources.devices is not changed by
// update, as in runc: the recorded rules are kept and written again, since
// Set rewrites the device rules whole. If the cgroup refuses a value, the
// old resources are written back and the record is left alone.
func (c *Container) Update(r *specs.LinuxResources) error {
	if c.Status() == StatusStopped {
		return ErrNotRunning
	}
	mgr, err := c.mustCgroup()
	if err != nil {
		return err
	}
	if r == nil {
		return nil
	}
	old, err := c.resources()
	if err != nil {
		return err
	}
	merged, err := cloneResources(old)
	if err != nil {
		return err
	}
	overlay(reflect.ValueOf(merged).Elem(), reflect.ValueOf(r).Elem())
	if r.Devices != nil {
		c.opts.Log.Warn("linux.resources.devices: not changed by update", "id", c.rec.ID)
	}
	merged.Devices = old.Devices
	if err := mgr.Set(merged); err != nil {
		if rerr := mgr.Set(old); rerr != nil {
			c.opts.Log.Warn("restore resources after a failed update", "id", c.rec.ID, "err", rerr)
		}
		return err
	}
	spec, err := c.rec.Config.Spec()
	if err != nil {
		return fmt.Errorf("record resources: %w", err)
	}
	if spec == nil {
		spec = &specs.Spec{}
		c.rec.Config = state.NewConfig(spec)
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	// Config keeps the spec Spec decoded: the change goes into the record.
	spec.Linux.Resources = merged
	if err := c.dir.Write(c.rec); err != nil {
		return fmt.Errorf("record resources: %w", err)
	}
	return nil
}

// resources are the recorded linux.resources, never nil.
func (c *Container) resources() (*specs.LinuxResources, error) {
	spec, err := c.rec.Config.Spec()
	if err != nil {
		return nil, err
	}
	if spec == nil || spec.Linux == nil || spec.Linux.Resources == nil {
		return &specs.LinuxResources{}, nil
	}
	return spec.Linux.Resources, nil
}

// cloneResources deep-copies r, so that laying an update over the copy
// leaves r as the cgroup had it.
func cloneResources(r *specs.LinuxResources) (*specs.LinuxResources, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("copy resources: %w", err)
	}
	var out specs.LinuxResources
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("copy resources: %w", err)
	}
	return &out, nil
}

// overlay copies into the struct dst every field that the struct src sets:
// a non-nil pointer (a struct behind it merged field by field), a non-nil
// slice (replacing), a non-nil map (merged key by key), any other non-zero
// value. Every field of specs.LinuxResources is one of these, so a field
// added to the spec is merged without a change here.
func overlay(dst, src reflect.Value) {
	for i := range src.NumField() {
		s, d := src.Field(i), dst.Field(i)
		switch s.Kind() {
		case reflect.Pointer:
			switch {
			case s.IsNil():
			case s.Elem().Kind() == reflect.Struct && !d.IsNil():
				overlay(d.Elem(), s.Elem())
			default:
				d.Set(s)
			}
		case reflect.Slice:
			if !s.IsNil() {
				d.Set(s)
			}
		case reflect.Map:
			if s.IsNil() {
				continue
			}
			if d.IsNil() {
				d.Set(reflect.MakeMap(s.Type()))
			}
			for it := s.MapRange(); it.Next(); {
				d.SetMapIndex(it.Key(), it.Value())
			}
		default:
			if !s.IsZero() {
				d.Set(s)
			}
		}
	}
}
