package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"
)

// terminalFD returns the file descriptor of r and whether it is a
// terminal: --password-stdin prompts there instead of reading a line.
func terminalFD(r io.Reader) (int, bool) {
	f, ok := r.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// readNewPassword reads the password of --password-stdin. From a pipe or
// a file it is the first line (readPassword); from a terminal it is
// typed twice after prompts on stderr, with echo off, so it appears
// neither on the screen nor in the terminal's scrollback.
func (c *cli) readNewPassword() (string, error) {
	fd, tty := terminalFD(c.stdin)
	if !tty {
		return readPassword(c.stdin)
	}
	return promptPassword(c.stderr, func() ([]byte, error) { return term.ReadPassword(fd) })
}

// promptPassword asks for a password twice through read (which reads one
// line with echo off) and returns it when both agree and it is one line
// of valid text.
func promptPassword(w io.Writer, read func() ([]byte, error)) (string, error) {
	ask := func(prompt string) (string, error) {
		fmt.Fprint(w, prompt)
		b, err := read()
		fmt.Fprintln(w) // the Enter typed was not echoed
		if err != nil {
			return "", fmt.Errorf("read password from the terminal: %w", err)
		}
		return string(b), nil
	}
	pw, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("no password typed")
	}
	if pw, err = readPassword(strings.NewReader(pw + "\n")); err != nil {
		return "", err
	}
	again, err := ask("Repeat password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords differ")
	}
	return pw, nil
}
