package inventory

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// HostInput is what a hand import gives for one host.
type HostInput struct {
	Name          string
	Owner         string
	OSReleaseName string
	OSRelease     []byte
	// DebianVersion is the content of /etc/debian_version, if given.
	DebianVersion string
	PackagesName  string
	Packages      []byte
	KernelRelease string
	KernelVersion string
	Now           time.Time
}

// BuildHost parses a host's os-release and package list into a Host. It
// returns an error naming the file and line of the first problem; nothing
// is returned half-built.
func BuildHost(in HostInput) (patchwatch.Host, error) {
	osr, err := ParseOSRelease(in.OSReleaseName, in.OSRelease)
	if err != nil {
		return patchwatch.Host{}, err
	}
	osr.DebianVersion = strings.TrimSpace(in.DebianVersion)
	release, family, err := patchwatch.ResolveRelease(osr)
	if err != nil {
		return patchwatch.Host{}, fmt.Errorf("%s: %w", in.OSReleaseName, err)
	}
	pkgs, sourceInfo, err := ParsePackages(in.PackagesName, in.Packages)
	if err != nil {
		return patchwatch.Host{}, err
	}
	slices.SortFunc(pkgs, func(a, b patchwatch.Package) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Arch, b.Arch)
	})
	h := patchwatch.Host{
		Name:          in.Name,
		Owner:         in.Owner,
		OS:            osr,
		Release:       release,
		Family:        family,
		KernelRelease: strings.TrimSpace(in.KernelRelease),
		KernelVersion: strings.TrimSpace(in.KernelVersion),
		Packages:      pkgs,
		SourceInfo:    sourceInfo,
		ReportedAt:    in.Now.UTC(),
	}
	return h, h.Validate()
}
