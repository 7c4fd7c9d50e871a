package pgtest

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cluster is a throwaway PostgreSQL cluster in a temporary directory,
// reachable only through a Unix socket in that directory.
type cluster struct {
	dir  string              // temporary directory: data/ and the socket
	bin  string              // directory holding initdb and postgres
	cred *syscall.Credential // the user to run as; nil to run as ourselves
	dsn  string              // superuser DSN of the postgres database

	mu     sync.Mutex
	proc   *os.Process   // the postmaster; nil while stopped
	exited chan struct{} // closed when proc has exited
	log    *logTail
}

// serverSettings make the cluster fast and private: no durability (the
// data is thrown away), no TCP, room for many parallel test connections.
var serverSettings = []string{
	"listen_addresses=",
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	"max_connections=300",
	"shared_buffers=32MB",
	"logging_collector=off",
	"log_destination=stderr",
	"lc_messages=C",
	"dynamic_shared_memory_type=mmap", // segments live in the data directory, removed with it
	"timezone=UTC",
}

// Cluster directories are named dirPrefix + random and record the PID of
// the test binary that owns them in ownerFile.
const (
	dirPrefix = "monban-pgtest-"
	ownerFile = "owner.pid"
)

const readyMessage = "database system is ready to accept connections"

// newCluster runs initdb in a new temporary directory and starts the
// server.
func newCluster(ctx context.Context) (*cluster, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin}
	var uid, gid int
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, which PostgreSQL refuses, and there is no unprivileged \"postgres\" user to run it as (%v); create one (useradd --system postgres)", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}

	base := clusterBase()
	removeStale(base)
	c.dir, err = os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, uid, gid); err != nil {
			_ = os.RemoveAll(c.dir)
			return nil, fmt.Errorf("hand the cluster directory to the postgres user: %w", err)
		}
	}
	c.dsn = fmt.Sprintf("host='%s' port=5432 user=postgres dbname=postgres sslmode=disable", c.dir)

	initdb := c.command(filepath.Join(bin, "initdb"), "--pgdata", c.dataDir(), "--username", "postgres",
		"--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, fmt.Errorf("initdb (%s) failed: %v\n%s", initdb.Path, err, out)
	}
	if err := c.start(ctx); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, err
	}
	return c, nil
}

func (c *cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// command prepares a PostgreSQL program to run in the cluster directory,
// as the postgres user when we are root, with C locale messages.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "LANG=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// start runs the postmaster and waits until its log says it accepts
// connections. The postmaster gets SIGQUIT (immediate shutdown) if this
// process dies, so even a test binary killed by -timeout leaves no server
// running.
func (c *cluster) start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return errors.New("postgres is already running")
	}
	args := []string{"-D", c.dataDir(), "-k", c.dir, "-p", "5432"}
	for _, s := range serverSettings {
		args = append(args, "-c", s)
	}
	cmd := c.command(filepath.Join(c.bin, "postgres"), args...)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w

	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// The kernel sends Pdeathsig when the thread that forked the child
		// exits, not the process: keep this goroutine on its thread until
		// the postmaster is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	err = <-started
	w.Close()
	if err != nil {
		r.Close()
		return fmt.Errorf("start postgres: %w", err)
	}

	c.log = newLogTail(r)
	select {
	case <-c.log.ready:
	case <-exited:
		<-c.log.done
		return fmt.Errorf("postgres exited during start-up:\n%s", c.log)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("postgres did not start: %w\n%s", ctx.Err(), c.log)
	}
	c.proc, c.exited = cmd.Process, exited
	return nil
}

// stop shuts the postmaster down at once (SIGQUIT, what pg_ctl stop -m
// immediate sends) and waits for it to exit.
func (c *cluster) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	if err := c.proc.Signal(syscall.SIGQUIT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop postgres: %w", err)
	}
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.proc.Kill()
		<-c.exited
	}
	<-c.log.done // the backends have exited too
	c.proc, c.exited = nil, nil
	return nil
}

func (c *cluster) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proc != nil
}

// destroy stops the server and removes the cluster directory.
func (c *cluster) destroy() error {
	err := c.stop()
	if rmErr := os.RemoveAll(c.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove cluster directory: %w", rmErr))
	}
	return err
}

// findBinDir returns the directory of the newest PostgreSQL server binaries:
// initdb from PATH if it is there (with postgres beside it), otherwise the
// highest version among the usual package locations.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	type candidate struct {
		dir     string
		version float64
	}
	var found []candidate
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"} {
		dirs, _ := filepath.Glob(pattern)
		for _, dir := range dirs {
			if !isExecutable(filepath.Join(dir, "initdb")) || !isExecutable(filepath.Join(dir, "postgres")) {
				continue
			}
			name := strings.TrimPrefix(filepath.Base(filepath.Dir(dir)), "pgsql-")
			v, err := strconv.ParseFloat(name, 64)
			if err != nil {
				continue
			}
			found = append(found, candidate{dir, v})
		}
	}
	if len(found) == 0 {
		return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found in PATH, /usr/lib/postgresql/*/bin or /usr/pgsql-*/bin")
	}
	best := slices.MaxFunc(found, func(a, b candidate) int { return cmp.Compare(a.version, b.version) })
	return best.dir, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// clusterBase returns where to create the cluster directory. A memory
// file system makes initdb and CREATE DATABASE several times faster, so
// /dev/shm is used when it has room (container defaults of 64 MiB do
// not); otherwise the temporary directory, unless its path is too long
// for a Unix socket (sun_path holds 107 bytes, and the directory name and
// "/.s.PGSQL.5432" are appended), in which case /tmp.
func clusterBase() string {
	const shm, minFree = "/dev/shm", 1 << 30
	var st syscall.Statfs_t
	if err := syscall.Statfs(shm, &st); err == nil && uint64(st.Bavail)*uint64(st.Bsize) >= minFree {
		if f, err := os.CreateTemp(shm, "monban-pgtest-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return shm
		}
	}
	if base := os.TempDir(); len(base) <= 60 {
		return base
	}
	return "/tmp"
}

// removeStale removes cluster directories left behind by test binaries
// that were killed before they could clean up (their servers died with
// them).
func removeStale(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or still being created
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}

// logTail drains the server's log, keeping its last lines for error
// messages, and reports when the server is ready.
type logTail struct {
	ready chan struct{} // closed once the ready message was logged
	done  chan struct{} // closed when the log ends (every server process exited)

	mu    sync.Mutex
	lines []string
}

const logTailLines = 60

func newLogTail(r io.ReadCloser) *logTail {
	t := &logTail{ready: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		isReady := false
		for sc.Scan() {
			line := sc.Text()
			t.mu.Lock()
			t.lines = append(t.lines, line)
			if len(t.lines) > logTailLines {
				t.lines = slices.Delete(t.lines, 0, len(t.lines)-logTailLines)
			}
			t.mu.Unlock()
			if !isReady && strings.Contains(line, readyMessage) {
				isReady = true
				close(t.ready)
			}
		}
		_, _ = io.Copy(io.Discard, r) // a line too long for the scanner
	}()
	return t
}

// String returns the last lines of the log, indented.
func (t *logTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return "\t" + strings.Join(t.lines, "\n\t")
}
