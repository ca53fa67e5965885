package cgroups

import "errors"

func (m *v1Manager) Stats() (*Stats, error) { return nil, errors.New("stats: not implemented yet") }
func (m *v2Manager) Stats() (*Stats, error) { return nil, errors.New("stats: not implemented yet") }
