// Package pgproc reads what tests and benchmarks need to know of a
// PostgreSQL server's processes from Linux's /proc: the postmaster's
// children (its backends and auxiliary processes) and the CPU time the
// whole tree spent; and the CPU time of the calling process, the client
// side of the same measurement. Elsewhere than Linux the times are 0 and
// Children fails.
package pgproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times: USER_HZ, 100 on
// every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// stat returns the fields of /proc/<pid>/stat after "pid (comm)" (comm
// may hold spaces and parentheses): state is field 0, ppid 1, utime 11,
// stime 12, cutime 13, cstime 14 (proc(5) fields 3–17).
func stat(path string) ([]string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(s[i+1:])
	return f, len(f) >= 15
}

func statOf(pid int) ([]string, bool) { return stat("/proc/" + strconv.Itoa(pid) + "/stat") }

// Parent returns the parent process ID of pid; false when pid is gone or
// /proc is unavailable.
func Parent(pid int) (int, bool) {
	f, ok := statOf(pid)
	if !ok {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// Children lists the processes whose parent is ppid.
func Children(ppid int) ([]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err == nil && len(stats) == 0 {
		err = errors.New("no processes found")
	}
	if err != nil {
		return nil, fmt.Errorf("list processes in /proc: %w", err)
	}
	parent := strconv.Itoa(ppid)
	var pids []int
	for _, path := range stats {
		f, ok := stat(path)
		if !ok || f[1] != parent {
			continue // exited meanwhile, or another parent's
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// CPU returns the user+system CPU time of pid; withChildren adds that of
// its children it has waited for (cutime, cstime). 0 when unavailable.
func CPU(pid int, withChildren bool) time.Duration {
	f, ok := statOf(pid)
	if !ok {
		return 0
	}
	n := 2
	if withChildren {
		n = 4
	}
	var ticks int64
	for _, s := range f[11 : 11+n] {
		v, _ := strconv.ParseInt(s, 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * clockTick
}

// TreeCPU is the CPU time of a postmaster and its backends: the
// postmaster's own time and that of children it reaped, plus every live
// child's. A backend that exits between two readings moves from the
// second term to the first, so differences stay right. 0 for root <= 0.
func TreeCPU(root int) time.Duration {
	if root <= 0 {
		return 0
	}
	total := CPU(root, true)
	children, _ := Children(root)
	for _, pid := range children {
		total += CPU(pid, false)
	}
	return total
}

// Self is the user+system CPU time of the calling process (getrusage).
func Self() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
