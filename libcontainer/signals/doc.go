// Package signals converts between signal names and numbers for `tupper kill`
// and the process options: "KILL", "SIGTERM", "9", "RTMIN+3" and back. It does not
// deliver or forward signals; the container package does.
package signals
