package app

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	for _, tc := range []struct {
		name string
		in   BuildInfo
		info *debug.BuildInfo
		want BuildInfo
	}{
		{"recorded-by-the-toolchain", BuildInfo{}, vcs("abc123", "false"),
			BuildInfo{Version: "v1.4.0", Commit: "abc123", GoVersion: "go1.26.8"}},
		{"dirty-tree", BuildInfo{}, vcs("abc123", "true"),
			BuildInfo{Version: "v1.4.0", Commit: "abc123-dirty", GoVersion: "go1.26.8"}},
		{"ldflags-override-wins", BuildInfo{Version: "v2.0.0-rc1", Commit: "feed"}, vcs("abc123", "true"),
			BuildInfo{Version: "v2.0.0-rc1", Commit: "feed", GoVersion: "go1.26.8"}},
		{"no-vcs", BuildInfo{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			BuildInfo{Version: "(devel)", GoVersion: "go1.26.8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromBuildInfo(tc.in, tc.info); got != tc.want {
				t.Fatalf("fromBuildInfo = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBuildIsNeverEmpty(t *testing.T) {
	b := Build()
	if b.Version == "" || b.Commit == "" || !strings.HasPrefix(b.GoVersion, "go") {
		t.Fatalf("Build() = %+v: every field must be set", b)
	}
}
