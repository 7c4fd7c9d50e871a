package mailpit

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Version is the mailpit release the tests use.
const Version = "v1.33.1"

// EnvBinary names a mailpit binary to use instead of BinaryPath's.
const EnvBinary = "MONBAN_MAILPIT"

// BinaryPath is where .ci/run installs mailpit:
// GOBIN=$(dirname BinaryPath) go install github.com/axllent/mailpit@Version.
func BinaryPath() string {
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "monban", "mailpit-"+Version, "mailpit")
}

// Server is one running mailpit.
type Server struct {
	t       testing.TB
	bin     string
	db      string
	smtp    string // host:port
	api     string // http://host:port
	cmd     *exec.Cmd
	stopped chan struct{}
}

// Start starts mailpit on free loopback ports, keeping its messages in a
// file under t.TempDir() so they survive Stop and Start, and stops it when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := BinaryPath()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("mailpit %s not found at %s (%v); build it with: GOBIN=%s go install github.com/axllent/mailpit@%s (or run .ci/run)",
			Version, bin, err, filepath.Dir(bin), Version)
	}
	s := &Server{t: t, bin: bin, db: filepath.Join(t.TempDir(), "mailpit.db"),
		smtp: freeAddr(t), api: "http://" + freeAddr(t)}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// SMTPURL is the smtp_url of the server (plain SMTP on loopback).
func (s *Server) SMTPURL() string { return "smtp://" + s.smtp + "?starttls=off" }

// Start starts the (stopped) server again on the same ports and waits
// until it answers.
func (s *Server) Start() {
	s.t.Helper()
	listen := strings.TrimPrefix(s.api, "http://")
	s.cmd = exec.Command(s.bin, "--smtp", s.smtp, "--listen", listen, "--database", s.db,
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--disable-version-check", "--quiet")
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start mailpit: %v", err)
	}
	s.stopped = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.stopped)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.smtp, time.Second)
		if err == nil {
			c.Close()
			if _, err := s.list(); err == nil {
				return
			}
		}
		select {
		case <-s.stopped:
			s.t.Fatalf("mailpit exited while starting")
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("mailpit did not answer on %s within 30s", s.smtp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server (idempotent); its messages are kept for Start.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.stopped:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.stopped
}

// Message is one received message.
type Message struct {
	ID        string // mailpit's
	MessageID string // the Message-ID header, without brackets
	Subject   string
	To        []string
	Text      string
	HTML      string
}

type summary struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	To        []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

func (s *Server) list() ([]summary, error) {
	var out struct {
		Messages []summary `json:"messages"`
	}
	if err := s.get("/api/v1/messages?limit=1000", &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

func (s *Server) get(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.api+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Messages returns every message received, with bodies, newest first.
func (s *Server) Messages() []Message {
	s.t.Helper()
	sums, err := s.list()
	if err != nil {
		s.t.Fatalf("mailpit messages: %v", err)
	}
	out := make([]Message, 0, len(sums))
	for _, m := range sums {
		var full struct {
			Text string `json:"Text"`
			HTML string `json:"HTML"`
		}
		if err := s.get("/api/v1/message/"+url.PathEscape(m.ID), &full); err != nil {
			s.t.Fatalf("mailpit message %s: %v", m.ID, err)
		}
		msg := Message{ID: m.ID, MessageID: m.MessageID, Subject: m.Subject, Text: full.Text, HTML: full.HTML}
		for _, to := range m.To {
			msg.To = append(msg.To, to.Address)
		}
		out = append(out, msg)
	}
	return out
}

// To returns the messages sent to addr, newest first.
func (s *Server) To(addr string) []Message {
	s.t.Helper()
	var out []Message
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
