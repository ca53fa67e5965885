package container

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

type procStat struct {
	state     byte
	startTime uint64
}

// readProcStat reads the state and start time of a process from
// /proc/PID/stat. The command name in parentheses may hold spaces and
// parentheses itself, so fields are counted from the last ')'.
func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(data)
}

func parseProcStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return procStat{}, fmt.Errorf("parse /proc stat: no command field")
	}
	fields := bytes.Fields(data[i+2:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return procStat{}, fmt.Errorf("parse /proc stat: %d fields", len(fields))
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat start time: %w", err)
	}
	return procStat{state: fields[0][0], startTime: start}, nil
}
