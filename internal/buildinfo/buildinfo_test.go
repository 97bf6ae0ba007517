package buildinfo_test

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch/internal/buildinfo"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"tagged", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: "false"},
		}}, "v1.2.0 (0123456789ab, 2026-11-30T10:00:00Z) go1.26.0"},
		{"dirty tree", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"},
		}}, "(devel) (abc+modified) go1.26.0"},
		{"no module version", debug.BuildInfo{GoVersion: "go1.26.0"}, "(devel) go1.26.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buildinfo.FromBuildInfo(&tt.bi).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadInTest(t *testing.T) {
	if info := buildinfo.Read(); !strings.HasPrefix(info.GoVersion, "go") {
		t.Errorf("Read() = %+v", info)
	}
}
