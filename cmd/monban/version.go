package main

import "github.com/monban-idp/monban/cmd/internal/app"

// version prints which build of monban this is ("monban version" and
// "monban --version"): the version, the VCS commit and the Go release,
// one "key: value" line each, as /metrics reports them in
// monban_build_info.
func (c *cli) version(args []string) error {
	fs := c.newFlagSet("version", "")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	b := app.Build()
	c.printf("version: %s\ncommit: %s\ngo: %s\n", b.Version, b.Commit, b.GoVersion)
	return nil
}
