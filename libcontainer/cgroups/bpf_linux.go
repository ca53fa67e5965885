package cgroups

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bpf(2) calls that put a device program on a cgroup. The attribute
// structs mirror the members of union bpf_attr (linux/bpf.h) each command
// reads; the kernel wants the rest of the union zero.

type bpfProgLoad struct {
	progType    uint32
	insnCnt     uint32
	insns       uint64
	license     uint64
	logLevel    uint32
	logSize     uint32
	logBuf      uint64
	kernVersion uint32
	progFlags   uint32
	progName    [16]byte
}

type bpfProgAttach struct {
	targetFD    uint32
	attachBPFFD uint32
	attachType  uint32
	attachFlags uint32
}

type bpfProgQuery struct {
	targetFD    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     uint64
	progCnt     uint32
	_           uint32
}

type bpfGetFDByID struct {
	id, nextID, openFlags uint32
}

func bpf(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// attachDeviceProgram loads code as a BPF_PROG_TYPE_CGROUP_DEVICE program
// and attaches it to the cgroup dir, then detaches the programs that were
// there before (those of an earlier Set), so that for a moment both are in
// force, never neither. BPF_F_ALLOW_MULTI leaves the container free to
// attach programs of its own to its child cgroups (systemd does), which
// then apply on top of this one.
func attachDeviceProgram(dir string, code []byte) error {
	cg, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(cg)

	old, err := attachedPrograms(cg)
	if err != nil {
		return err
	}

	prog, err := loadDeviceProgram(code, nil)
	if err != nil {
		// Load again with the verifier's log, which says why.
		logBuf := make([]byte, 256<<10)
		if _, lerr := loadDeviceProgram(code, logBuf); lerr != nil && cstrLen(logBuf) > 0 {
			return fmt.Errorf("load device program: %w: %s", err, logBuf[:cstrLen(logBuf)])
		}
		return fmt.Errorf("load device program: %w", err)
	}
	defer unix.Close(prog)

	attach := bpfProgAttach{
		targetFD:    uint32(cg),
		attachBPFFD: uint32(prog),
		attachType:  unix.BPF_CGROUP_DEVICE,
		attachFlags: unix.BPF_F_ALLOW_MULTI,
	}
	if _, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attach), unsafe.Sizeof(attach)); err != nil {
		return fmt.Errorf("attach device program to %s: %w", dir, err)
	}

	var errs []error
	for _, id := range old {
		errs = append(errs, detachProgram(cg, id))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach old device program from %s: %w", dir, err)
	}
	return nil
}

func loadDeviceProgram(code, logBuf []byte) (int, error) {
	license := []byte("Apache-2.0\x00")
	load := bpfProgLoad{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(code) / 8),
		insns:    uint64(uintptr(unsafe.Pointer(&code[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	if len(logBuf) > 0 {
		load.logLevel = 1
		load.logSize = uint32(len(logBuf))
		load.logBuf = uint64(uintptr(unsafe.Pointer(&logBuf[0])))
	}
	copy(load.progName[:], "tupper_devices")
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&load), unsafe.Sizeof(load))
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	runtime.KeepAlive(logBuf)
	return fd, err
}

// attachedPrograms lists the ids of the device programs attached to the
// cgroup itself (not inherited).
func attachedPrograms(cg int) ([]uint32, error) {
	ids := make([]uint32, 64)
	q := bpfProgQuery{
		targetFD:   uint32(cg),
		attachType: unix.BPF_CGROUP_DEVICE,
		progIDs:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
		progCnt:    uint32(len(ids)),
	}
	if _, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&q), unsafe.Sizeof(q)); err != nil {
		return nil, fmt.Errorf("query device programs: %w", err)
	}
	runtime.KeepAlive(ids)
	return ids[:q.progCnt], nil
}

func detachProgram(cg int, id uint32) error {
	get := bpfGetFDByID{id: id}
	fd, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&get), unsafe.Sizeof(get))
	if err == unix.ENOENT {
		return nil // already gone
	}
	if err != nil {
		return fmt.Errorf("program %d: %w", id, err)
	}
	defer unix.Close(fd)
	detach := bpfProgAttach{targetFD: uint32(cg), attachBPFFD: uint32(fd), attachType: unix.BPF_CGROUP_DEVICE}
	if _, err := bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&detach), unsafe.Sizeof(detach)); err != nil && err != unix.ENOENT {
		return fmt.Errorf("program %d: %w", id, err)
	}
	return nil
}

func cstrLen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
