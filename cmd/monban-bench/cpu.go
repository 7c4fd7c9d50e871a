package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times: USER_HZ, 100 on
// every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procCPU returns the user+system CPU time of pid from /proc/<pid>/stat;
// withChildren adds the times of its waited-for children (cutime,
// cstime). 0 when unavailable (not Linux, process gone).
func procCPU(pid int, withChildren bool) time.Duration {
	f, ok := statFields(pid)
	if !ok {
		return 0
	}
	// After "pid (comm)": state is field 0, utime 11, stime 12, cutime
	// 13, cstime 14 (proc(5) fields 14–17).
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

// statFields returns the fields of /proc/<pid>/stat after the command
// name (which may contain spaces).
func statFields(pid int) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
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

// treeCPU is the CPU time of a PostgreSQL postmaster and its backends:
// the postmaster's own time and that of children it reaped, plus every
// live child's. A backend that exits between two readings moves from the
// second term to the first, so differences stay right.
func treeCPU(root int) time.Duration {
	if root <= 0 {
		return 0
	}
	total := procCPU(root, true)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return total
	}
	parent := strconv.Itoa(root)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if f, ok := statFields(pid); ok && f[1] == parent {
			total += procCPU(pid, false)
		}
	}
	return total
}

// cpuMeter measures the server's and the database's CPU over a scenario.
type cpuMeter struct {
	pid, pgPid int
	srv, pg    time.Duration
}

func startCPU(pid, pgPid int) cpuMeter {
	return cpuMeter{pid: pid, pgPid: pgPid, srv: procCPU(pid, false), pg: treeCPU(pgPid)}
}

// since returns the CPU time the server and PostgreSQL spent since the
// meter started (0 for what is not measured).
func (m cpuMeter) since() (srv, pg time.Duration) {
	if m.pid > 0 {
		srv = procCPU(m.pid, false) - m.srv
	}
	if m.pgPid > 0 {
		pg = treeCPU(m.pgPid) - m.pg
	}
	return srv, pg
}

// perIteration is d per iteration in milliseconds (0 without iterations).
func perIteration(d time.Duration, iterations int) float64 {
	if iterations == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(iterations)
}
