package patchwatch

import (
	"errors"
	"fmt"
	"time"
)

// Family is a distribution family, which decides the version rules and the
// package manager commands.
type Family string

// Distribution families.
const (
	FamilyDebian Family = "deb" // Debian and Ubuntu: dpkg version rules, apt
	FamilyRPM    Family = "rpm" // RHEL and its rebuilds: rpmvercmp rules, dnf
)

// Package is one installed binary package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	// SourceName and SourceVersion name the source package the binary was
	// built from; empty when the inventory did not carry them. For Debian
	// binNMUs the source version differs from the binary version.
	SourceName    string `json:"source_name,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	// Module is the rpm module stream ("ruby:2.7") of a modular package,
	// when the inventory carried %{MODULARITYLABEL}.
	Module string `json:"module,omitempty"`
}

// Source returns the package's source name and version, falling back to the
// binary's own when the inventory has no source information.
func (p Package) Source() (name, version string) {
	name, version = p.SourceName, p.SourceVersion
	if name == "" {
		name = p.Name
	}
	if version == "" {
		version = p.Version
	}
	return name, version
}

// OSRelease is what /etc/os-release says about a host.
type OSRelease struct {
	ID              string `json:"id"`
	VersionID       string `json:"version_id,omitempty"`
	VersionCodename string `json:"version_codename,omitempty"`
	PrettyName      string `json:"pretty_name,omitempty"`
	// DebianVersion is /etc/debian_version where it was given.
	DebianVersion string `json:"debian_version,omitempty"`
}

// Host is a machine with its latest inventory.
type Host struct {
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"`
	// InstanceID and Project identify an OpenStack VM when it reported them.
	InstanceID string    `json:"instance_id,omitempty"`
	Project    string    `json:"project,omitempty"`
	OS         OSRelease `json:"os"`
	// Release is the release key derived from OS, such as "ubuntu:22.04".
	Release string `json:"release"`
	Family  Family `json:"family"`
	// KernelRelease is `uname -r`; KernelVersion is `uname -v`.
	KernelRelease string    `json:"kernel_release,omitempty"`
	KernelVersion string    `json:"kernel_version,omitempty"`
	Packages      []Package `json:"packages"`
	// SourceInfo is false when the inventory lacked source package names,
	// so matching could only go by binary name.
	SourceInfo bool `json:"source_info"`
	// EpochInfo is false for rpm inventories without epochs (plain
	// `rpm -qa`), whose comparisons then assume the fix's epoch.
	EpochInfo bool `json:"epoch_info,omitempty"`
	// ModuleInfo is false for rpm inventories without module labels.
	ModuleInfo bool `json:"module_info,omitempty"`
	// RebootRequired is the distribution's own reboot flag
	// (/var/run/reboot-required) where it was reported.
	RebootRequired bool      `json:"reboot_required,omitempty"`
	ReportedAt     time.Time `json:"reported_at"`
	// Checks are the security-guideline checks of the last agent report.
	Checks []CheckResult `json:"checks,omitempty"`
	// PackageCount, when not 0, is how many packages the host has while
	// Packages holds only some: the full re-evaluation reads only those
	// whose verdict can change the host's findings. Never stored or sent.
	PackageCount int `json:"-"`
}

// ErrInvalidHost is returned by Host.Validate.
var ErrInvalidHost = errors.New("invalid host")

// Validate reports whether the host can be stored and matched.
func (h *Host) Validate() error {
	switch {
	case h.Name == "":
		return fmt.Errorf("%w: missing name", ErrInvalidHost)
	case h.Release == "":
		return fmt.Errorf("%w %s: missing release", ErrInvalidHost, h.Name)
	case h.Family != FamilyDebian && h.Family != FamilyRPM:
		return fmt.Errorf("%w %s: unknown family %q", ErrInvalidHost, h.Name, h.Family)
	}
	for i, p := range h.Packages {
		if p.Name == "" || p.Version == "" {
			return fmt.Errorf("%w %s: package %d lacks name or version", ErrInvalidHost, h.Name, i)
		}
	}
	return nil
}
