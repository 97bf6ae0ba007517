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
	// Stream selects a RHEL extended-support stream: eus, aus, e4s, tus
	// or els; empty means the main stream.
	Stream string
	Now    time.Time
}

// rhelStream returns the release key of a RHEL host on an extended stream,
// which is tied to the minor release ("rhel-eus:9.2").
func rhelStream(osr patchwatch.OSRelease, stream string) (string, error) {
	if osr.ID != "rhel" {
		return "", fmt.Errorf("stream %s: only RHEL has extended-support streams, this host is %s", stream, osr.ID)
	}
	switch stream {
	case "eus", "aus", "e4s", "tus", "els":
	default:
		return "", fmt.Errorf("unknown RHEL stream %q (eus, aus, e4s, tus, els)", stream)
	}
	version := osr.VersionID
	if stream == "els" {
		version, _, _ = strings.Cut(version, ".")
	} else if !strings.Contains(version, ".") {
		return "", fmt.Errorf("stream %s needs the minor release in VERSION_ID, got %q", stream, osr.VersionID)
	}
	return patchwatch.ReleaseKey("rhel-"+stream, version), nil
}

// BuildHost parses a host's os-release and package list into a Host. It
// returns an error naming the file and line of the first problem; nothing
// is returned half-built.
func BuildHost(in HostInput) (patchwatch.Host, error) {
	sbom, isSBOM, err := hostSBOM(&in)
	if err != nil {
		return patchwatch.Host{}, err
	}
	osr, err := ParseOSRelease(in.OSReleaseName, in.OSRelease)
	if err != nil {
		return patchwatch.Host{}, err
	}
	osr.DebianVersion = strings.TrimSpace(in.DebianVersion)
	release, family, err := patchwatch.ResolveRelease(osr)
	if err != nil {
		return patchwatch.Host{}, fmt.Errorf("%s: %w", in.OSReleaseName, err)
	}
	var pkgs []patchwatch.Package
	var sourceInfo, epochInfo, moduleInfo bool
	if isSBOM {
		if sbom.Family != family {
			return patchwatch.Host{}, fmt.Errorf("%s: %s packages on a %s host", in.PackagesName, sbom.Family, osr.ID)
		}
		pkgs, sourceInfo, epochInfo = sbom.Packages, sbom.SourceInfo, sbom.EpochInfo
		if in.Stream != "" {
			if release, err = rhelStream(osr, in.Stream); err != nil {
				return patchwatch.Host{}, err
			}
		}
	} else if family == patchwatch.FamilyRPM {
		list, err := ParseRPMPackages(in.PackagesName, in.Packages)
		if err != nil {
			return patchwatch.Host{}, err
		}
		pkgs, sourceInfo, epochInfo, moduleInfo = list.Packages, list.SourceInfo, list.EpochInfo, list.ModuleInfo
		if in.Stream != "" {
			if release, err = rhelStream(osr, in.Stream); err != nil {
				return patchwatch.Host{}, err
			}
		}
	} else {
		if in.Stream != "" {
			return patchwatch.Host{}, fmt.Errorf("a stream (%s) applies only to RHEL hosts", in.Stream)
		}
		if pkgs, sourceInfo, err = ParsePackages(in.PackagesName, in.Packages); err != nil {
			return patchwatch.Host{}, err
		}
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
		EpochInfo:     epochInfo,
		ModuleInfo:    moduleInfo,
		ReportedAt:    in.Now.UTC(),
	}
	return h, ValidateHost(&h)
}

// hostSBOM parses the package list when it is an image SBOM; without an
// os-release, the distribution the SBOM names stands in for it.
func hostSBOM(in *HostInput) (SBOM, bool, error) {
	if _, ok := DetectSBOM(in.Packages); !ok {
		return SBOM{}, false, nil
	}
	sb, err := ParseSBOM(in.PackagesName, in.Packages)
	if err != nil {
		return SBOM{}, true, err
	}
	if len(in.OSRelease) == 0 {
		if sb.OS.ID == "" || sb.OS.VersionID == "" {
			return SBOM{}, true, fmt.Errorf("%s: the document names no distribution release: give the host's os-release", in.PackagesName)
		}
		in.OSReleaseName = in.PackagesName + " (its operating system)"
		in.OSRelease = fmt.Appendf(nil, "ID=%s\nVERSION_ID=%q\n", sb.OS.ID, sb.OS.VersionID)
	}
	return sb, true, nil
}
