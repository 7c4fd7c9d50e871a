// Package mailpit runs a real SMTP server for tests: the mailpit binary
// (github.com/axllent/mailpit, pinned at Version), started by the test
// itself, whose HTTP API reads the messages back. .ci/run builds the binary
// into BinaryPath; MONBAN_MAILPIT may name another copy. A test that needs
// it and cannot find it fails, saying how to build it: mail tests are never
// skipped silently.
package mailpit
