package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// quantile returns the nearest-rank q-quantile of ds in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	i = max(0, min(i, len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}

func report(w io.Writer, rts []*runtime, wrapper *runtime, n int, mode string) {
	var overhead, overheadP90 float64
	if wrapper != nil {
		overhead, overheadP90 = quantile(wrapper.samples, 0.5), quantile(wrapper.samples, 0.9)
	}
	median := map[string]float64{}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "runtime\tmedian ms\tp90 ms\tnote\t\n")
	for _, rt := range rts {
		m, p := quantile(rt.samples, 0.5), quantile(rt.samples, 0.9)
		note := ""
		if rt.name == "crun" && wrapper != nil {
			m, p = m-overhead, p-overheadP90
			note = fmt.Sprintf("minus %.2f ms (p90 %.2f) of unshare+umount wrapper", overhead, overheadP90)
		}
		median[rt.name] = m
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\t\n", rt.name, m, p, note)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d sequential `%s` of /bin/true per runtime, alternating\n", n, mode)
	for _, other := range []string{"baseline", "runc", "crun"} {
		if median[other] > 0 {
			fmt.Fprintf(w, "tupper/%s: %.2f\n", other, median["tupper"]/median[other])
		}
	}
	if c := median["crun"]; mode == "exec" && c > 0 {
		verdict := "MISSED"
		if median["tupper"] < c {
			verdict = "met"
		}
		fmt.Fprintf(w, "target tupper exec < crun exec (%.2f ms): %s\n", c, verdict)
	}
	if r := median["runc"]; mode == "run" && r > 0 {
		verdict := "MISSED"
		if median["tupper"] < r/3 {
			verdict = "met"
		}
		fmt.Fprintf(w, "target tupper < runc/3 (%.2f ms): %s\n", r/3, verdict)
	}
}
