// Package buildinfo says which build of patchwatch is running, from the
// information the Go toolchain embeds in every binary (module version,
// VCS revision and time, Go version).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and revision stand in for the VCS stamp where the build has no
// VCS to read (a container build without .git):
//
//	go build -ldflags "-X github.com/patchwatch/patchwatch/internal/buildinfo.version=v1.2.0
//	  -X github.com/patchwatch/patchwatch/internal/buildinfo.revision=$(git rev-parse HEAD)"
var version, revision string

// Info is one binary's build.
type Info struct {
	// Version is the main module's version: a tag (v1.2.0), a pseudo-version,
	// or "(devel)" for a build from a working tree.
	Version string `json:"version"`
	// Revision and Time are the VCS commit and its time; Modified is set
	// when the working tree had uncommitted changes.
	Revision  string `json:"revision,omitempty"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
}

// Read returns the running binary's build information.
func Read() Info {
	info := Info{Version: "unknown", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info = FromBuildInfo(bi)
	}
	if version != "" {
		info.Version = version
	}
	if revision != "" {
		info.Revision = revision
	}
	return info
}

// FromBuildInfo extracts Info from the toolchain's record.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the one line that `--version` prints after the program name.
func (i Info) String() string {
	s := i.Version
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " (" + rev
		if i.Modified {
			s += "+modified"
		}
		if i.Time != "" {
			s += ", " + i.Time
		}
		s += ")"
	}
	return fmt.Sprintf("%s %s", s, i.GoVersion)
}
