package pgproc

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// TestProcesses: the readings of a process tree this test makes itself
// (this process and a child it starts), and what a process that does not
// exist reads as.
func TestProcesses(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	// Spend 100 ms of CPU (as getrusage counts it, however long that
	// takes on a loaded machine); /proc must see as much, less the two
	// clock ticks of rounding its two readings allow.
	const spent, rounding = 100 * time.Millisecond, 2 * clockTick
	before, beforeProc, beforeTree := Self(), CPU(os.Getpid(), false), TreeCPU(os.Getpid())
	for deadline := time.Now().Add(time.Minute); Self()-before < spent; {
		if time.Now().After(deadline) {
			t.Fatal("100 ms of CPU not spent in a minute")
		}
	}

	children, err := Children(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ppid, ok := Parent(child.Process.Pid)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a child is listed under its parent", slices.Contains(children, child.Process.Pid)},
		{"a child's parent is this process", ok && ppid == os.Getpid()},
		{"CPU from /proc counts what getrusage does", CPU(os.Getpid(), false)-beforeProc >= spent-rounding},
		{"TreeCPU counts it too", TreeCPU(os.Getpid())-beforeTree >= spent-rounding},
		{"no process: no CPU", CPU(1<<30, true) == 0},
		{"no process: no parent", func() bool { _, ok := Parent(1 << 30); return !ok }()},
		{"no root: no tree", TreeCPU(0) == 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Fail()
			}
		})
	}
}
