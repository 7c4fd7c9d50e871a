package slapdtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBinary names a slapd binary to use instead of DefaultBinary; slapadd
// is taken from the same directory.
const EnvBinary = "MONBAN_SLAPD"

// DefaultBinary is where the Debian package slapd installs the server.
const DefaultBinary = "/usr/sbin/slapd"

// Options shape the directory. The zero value serves DefaultUsers and
// DefaultGroups over plain LDAP.
type Options struct {
	// Users and Groups replace the defaults when either is non-nil.
	Users  []User
	Groups []Group
	// TLS adds an LDAPS listener and StartTLS on the plain one, with a
	// certificate for 127.0.0.1 and localhost from a generated CA
	// (CAFile).
	TLS bool
}

// Server is one running slapd.
type Server struct {
	t        testing.TB
	bin      string
	dir      string
	ldapAddr string // 127.0.0.1:port
	tlsAddr  string // 127.0.0.1:port; empty without TLS
	caFile   string

	mu      sync.Mutex
	cmd     *exec.Cmd
	stopped chan struct{}
}

// BinaryPath is the slapd the tests run.
func BinaryPath() string {
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	return DefaultBinary
}

// Start writes the configuration and the directory, starts slapd on free
// loopback ports and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := BinaryPath()
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("OpenLDAP slapd not found at %s (%v); install it with: DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils (or set %s)", bin, err, EnvBinary)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	users, groups := opts.Users, opts.Groups
	if users == nil && groups == nil {
		users, groups = DefaultUsers(), DefaultGroups()
	}
	if err := s.setUp(users, groups, opts.TLS); err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
	// A free port may be taken by another process before slapd binds
	// it; then slapd exits at once and is started on other ports.
	for attempt := 1; ; attempt++ {
		s.ldapAddr = freeAddr(t)
		if opts.TLS {
			s.tlsAddr = freeAddr(t)
		}
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 3 {
			t.Fatalf("slapdtest: %v", err)
		}
	}
}

// setUp writes slapd.conf, the certificates and loads the directory with
// slapadd.
func (s *Server) setUp(users []User, groups []Group, withTLS bool) error {
	var tlsConf string
	if withTLS {
		ca, err := newAuthority("monban slapdtest CA")
		if err != nil {
			return fmt.Errorf("generate CA: %w", err)
		}
		cert, key, err := ca.issueServer()
		if err != nil {
			return fmt.Errorf("issue server certificate: %w", err)
		}
		s.caFile = filepath.Join(s.dir, "ca.pem")
		for name, data := range map[string][]byte{"ca.pem": ca.pem, "server.pem": cert, "server.key": key} {
			if err := os.WriteFile(filepath.Join(s.dir, name), data, 0o600); err != nil {
				return err
			}
		}
		tlsConf = fmt.Sprintf("TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n",
			s.caFile, filepath.Join(s.dir, "server.pem"), filepath.Join(s.dir, "server.key"))
	}
	db := filepath.Join(s.dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		return err
	}
	rootHash, err := ssha(RootPassword)
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
%[2]s
database mdb
maxsize 16777216
suffix "%[3]s"
rootdn "%[4]s"
rootpw %[5]s
directory %[6]s
access to attrs=userPassword
	by self write
	by anonymous auth
	by * none
access to *
	by users read
	by * none
`, s.dir, tlsConf, Suffix, RootDN, rootHash, db)
	if err := os.WriteFile(s.confFile(), []byte(conf), 0o600); err != nil {
		return err
	}
	data, err := ldif(users, groups)
	if err != nil {
		return err
	}
	ldifFile := filepath.Join(s.dir, "directory.ldif")
	if err := os.WriteFile(ldifFile, []byte(data), 0o600); err != nil {
		return err
	}
	slapadd := exec.Command(filepath.Join(filepath.Dir(s.bin), "slapadd"), "-f", s.confFile(), "-l", ldifFile, "-q")
	slapadd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	if out, err := slapadd.CombinedOutput(); err != nil {
		return fmt.Errorf("slapadd failed: %v\n%s", err, out)
	}
	return nil
}

func (s *Server) confFile() string { return filepath.Join(s.dir, "slapd.conf") }

// URL is the plain LDAP listener (StartTLS is offered on it with TLS).
func (s *Server) URL() string { return "ldap://" + s.ldapAddr }

// LDAPSURL is the LDAPS listener; empty without Options.TLS.
func (s *Server) LDAPSURL() string {
	if s.tlsAddr == "" {
		return ""
	}
	return "ldaps://" + s.tlsAddr
}

// CAFile is the PEM file of the CA that issued the server certificate;
// empty without Options.TLS.
func (s *Server) CAFile() string { return s.caFile }

// Start starts the stopped server again on the same ports.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("slapdtest: %v", err)
	}
}

// start runs slapd in the foreground and waits until it accepts
// connections. slapd gets SIGKILL if this process dies, so a test binary
// killed by -timeout leaves no server behind.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("slapd is already running")
	}
	urls := "ldap://" + s.ldapAddr + "/"
	if s.tlsAddr != "" {
		urls += " ldaps://" + s.tlsAddr + "/"
	}
	// -d 0 keeps slapd in the foreground without debug output; its
	// errors still reach standard error.
	cmd := exec.Command(s.bin, "-d", "0", "-f", s.confFile(), "-h", urls)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	log := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = log, log
	started := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		// Pdeathsig fires when the forking thread exits: keep this
		// goroutine on its thread until slapd is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(stopped)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if dialable(s.ldapAddr) && (s.tlsAddr == "" || dialable(s.tlsAddr)) {
			s.cmd, s.stopped = cmd, stopped
			return nil
		}
		select {
		case <-stopped:
			return fmt.Errorf("slapd exited while starting:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-stopped
			return fmt.Errorf("slapd did not listen on %s within 30s:\n%s", s.ldapAddr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (idempotent) and waits for it to exit; the
// directory is kept for Start.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.stopped
	s.cmd, s.stopped = nil, nil
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("slapdtest: find a free port: %v", err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// syncBuffer collects slapd's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
