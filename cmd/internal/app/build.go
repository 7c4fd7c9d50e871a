package app

import (
	"runtime"
	"runtime/debug"
)

// version and commit override what the Go toolchain recorded in the
// binary, for builds without VCS information (a source tarball,
// -buildvcs=false) or with a release name of their own:
//
//	go build -ldflags "-X github.com/monban-idp/monban/cmd/internal/app.version=v1.2.0 \
//	  -X github.com/monban-idp/monban/cmd/internal/app.commit=$(git rev-parse HEAD)" ./cmd/monban
//
// The Makefile's build target sets both from git.
var version, commit string

// BuildInfo says which build of monban is running: `monban version` prints
// it and /metrics reports it as monban_build_info.
type BuildInfo struct {
	// Version is the -ldflags version, else the main module's version as
	// the Go toolchain recorded it (a tag, a pseudo-version, or "(devel)").
	Version string
	// Commit is the -ldflags commit, else the VCS revision recorded at
	// build time with "-dirty" when the tree had changes; "unknown"
	// without either.
	Commit string
	// GoVersion is the Go release that built the binary.
	GoVersion string
}

// Build returns the running binary's build information.
func Build() BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		b = fromBuildInfo(b, info)
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// fromBuildInfo fills what b lacks from the toolchain's record.
func fromBuildInfo(b BuildInfo, info *debug.BuildInfo) BuildInfo {
	if b.Version == "" {
		b.Version = info.Main.Version
	}
	if info.GoVersion != "" {
		b.GoVersion = info.GoVersion
	}
	if b.Commit != "" {
		return b
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	b.Commit = rev
	return b
}
