package main

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var ds []time.Duration
		for _, x := range v {
			ds = append(ds, time.Duration(x)*time.Millisecond)
		}
		return ds
	}
	for _, tc := range []struct {
		in   []time.Duration
		q    float64
		want float64
	}{
		{nil, 0.5, 0},
		{ms(7), 0.9, 7},
		{ms(5, 1, 3), 0.5, 3},
		{ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), 0.5, 5},
		{ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), 0.9, 9},
		{ms(4, 3, 2, 1), 1, 4},
		{ms(5, 4, 3, 2, 1), 0.3, 2}, // rank ceil(1.5) = 2
	} {
		if got := quantile(tc.in, tc.q); got != tc.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tc.in, tc.q, got, tc.want)
		}
	}
}
