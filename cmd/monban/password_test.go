package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what is written to ptm is typed
// at the terminal pts.
func openPTY(t *testing.T) (ptm, pts *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptm.Close() })
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return ptm, pts
}

// TestPasswordPromptDecision: --password-stdin prompts only when stdin is
// a terminal (issue #13 item 15); a pipe, a file or a buffer is read as
// its first line.
func TestPasswordPromptDecision(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	file, err := os.CreateTemp(t.TempDir(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	_, pts := openPTY(t)
	for _, tc := range []struct {
		name   string
		stdin  any
		prompt bool
	}{
		{"buffer", strings.NewReader("x\n"), false},
		{"pipe", pr, false},
		{"file", file, false},
		{"terminal", pts, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := tc.stdin.(interface{ Read([]byte) (int, error) })
			if _, tty := terminalFD(r); tty != tc.prompt {
				t.Fatalf("terminalFD says terminal=%v, want %v", tty, tc.prompt)
			}
		})
	}
}

// TestPasswordFromPipe: not a terminal, the first line is the password
// and nothing is prompted.
func TestPasswordFromPipe(t *testing.T) {
	var stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader("purple elephants dance at noon\nignored\n"), stderr: &stderr}
	got, err := c.readNewPassword()
	if err != nil || got != "purple elephants dance at noon" {
		t.Fatalf("readNewPassword = %q, %v", got, err)
	}
	if stderr.Len() != 0 {
		t.Fatalf("prompted on a pipe: %q", stderr.String())
	}
}

// TestPasswordPromptOnTerminal types a password at a real pseudo-terminal:
// it is prompted for twice and never echoed.
func TestPasswordPromptOnTerminal(t *testing.T) {
	ptm, pts := openPTY(t)
	const secret = "purple elephants dance at noon"
	// Typed ahead: the terminal keeps the input until it is read. Echo is
	// on until ReadPassword turns it off, so type only after each prompt.
	var stderr syncBuffer
	c := &cli{stdin: pts, stderr: &stderr}
	type result struct {
		pw  string
		err error
	}
	done := make(chan result, 1)
	go func() { pw, err := c.readNewPassword(); done <- result{pw, err} }()
	echoed := make(chan string, 1)
	go func() { // everything the terminal shows
		var b bytes.Buffer
		buf := make([]byte, 256)
		for {
			n, err := ptm.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				echoed <- b.String()
				return
			}
		}
	}()
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "Password: ") })
	typeWhenSilent(t, pts, ptm, secret+"\n")
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "Repeat password: ") })
	typeWhenSilent(t, pts, ptm, secret+"\n")
	r := <-done
	if r.err != nil || r.pw != secret {
		t.Fatalf("readNewPassword = %q, %v", r.pw, r.err)
	}
	pts.Close()
	ptm.Close()
	if shown := <-echoed; strings.Contains(shown, "elephants") {
		t.Fatalf("the password was echoed: %q", shown)
	}
}

// typeWhenSilent types s at the terminal once its echo is off (the
// prompt's ReadPassword has started), so nothing typed is echoed.
func typeWhenSilent(t *testing.T, pts, ptm *os.File, s string) {
	t.Helper()
	waitFor(t, func() bool {
		st, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
		return err == nil && st.Lflag&unix.ECHO == 0
	})
	if _, err := ptm.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond, a bounded number of times (not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

func TestPromptPassword(t *testing.T) {
	lines := func(ls ...string) func() ([]byte, error) {
		return func() ([]byte, error) {
			if len(ls) == 0 {
				return nil, errors.New("EOF")
			}
			l := ls[0]
			ls = ls[1:]
			return []byte(l), nil
		}
	}
	for _, tc := range []struct {
		name    string
		read    func() ([]byte, error)
		want    string
		wantErr string
	}{
		{"typed-twice", lines("a b c d e f g h", "a b c d e f g h"), "a b c d e f g h", ""},
		{"differ", lines("a b c d e f g h", "a b c d e f g x"), "", "the two passwords differ"},
		{"empty", lines("", ""), "", "no password typed"},
		{"not-utf8", lines("\xff\xfe", "\xff\xfe"), "", "not valid UTF-8"},
		{"closed", lines(), "", "read password from the terminal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			got, err := promptPassword(&w, tc.read)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("promptPassword = %q, %v; want an error saying %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("promptPassword = %q, %v; want %q", got, err, tc.want)
			}
			if !strings.Contains(w.String(), "Password: ") || !strings.Contains(w.String(), "Repeat password: ") {
				t.Fatalf("prompts: %q", w.String())
			}
		})
	}
}
