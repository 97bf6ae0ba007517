package inventory

import (
	"errors"
	"fmt"

	"github.com/patchwatch/patchwatch"
)

// Limits on any inventory, whatever its format (agent report, Vuls body,
// hand-imported package list), so that a hostile one is refused whole and
// a parser stops at the limit instead of holding a million packages.
const (
	MaxReportPackages = 50000
	maxField          = 1024
)

// ErrTooLarge wraps the errors of an inventory over MaxReportPackages.
var ErrTooLarge = errors.New("inventory too large")

// packageSet collects a host's packages through the one check every
// inventory path shares: the count limit, required fields, field sizes,
// and no package listed twice.
type packageSet struct {
	pkgs []patchwatch.Package
	seen map[[3]string]bool
	n    int
	// checkOnly sets validate a list held elsewhere without copying it.
	checkOnly bool
}

func (s *packageSet) add(p patchwatch.Package) error {
	if s.n >= MaxReportPackages {
		return fmt.Errorf("%w: more than %d packages", ErrTooLarge, MaxReportPackages)
	}
	if err := checkPackage(p); err != nil {
		return err
	}
	if s.seen == nil {
		s.seen = map[[3]string]bool{}
	}
	k := [3]string{p.Name, p.Version, p.Arch}
	if s.seen[k] {
		return fmt.Errorf("%s %s %s listed twice", p.Name, p.Version, p.Arch)
	}
	s.seen[k] = true
	s.n++
	if !s.checkOnly {
		s.pkgs = append(s.pkgs, p)
	}
	return nil
}

func checkPackage(p patchwatch.Package) error {
	if p.Name == "" || p.Version == "" {
		return errors.New("name and version are required")
	}
	if len(p.Name)+len(p.Version)+len(p.Arch)+len(p.SourceName)+len(p.SourceVersion)+len(p.Module) > maxField {
		return fmt.Errorf("package %.40q: fields longer than %d bytes", p.Name, maxField)
	}
	return nil
}

// ValidateHost is the validation every inventory passes before it is
// stored: the host's own fields (patchwatch.Host.Validate), the sizes of
// its identifying fields, its checks, and its packages through the
// shared package check.
func ValidateHost(h *patchwatch.Host) error {
	if err := h.Validate(); err != nil {
		return err
	}
	for name, v := range map[string]string{"name": h.Name, "owner": h.Owner, "project": h.Project, "instance_id": h.InstanceID,
		"kernel_release": h.KernelRelease, "kernel_version": h.KernelVersion, "os.id": h.OS.ID, "os.version_id": h.OS.VersionID,
		"os.version_codename": h.OS.VersionCodename, "os.pretty_name": h.OS.PrettyName, "os.debian_version": h.OS.DebianVersion} {
		if len(v) > maxField {
			return fmt.Errorf("host %.40q: %s is longer than %d bytes", h.Name, name, maxField)
		}
	}
	if err := validateChecks(h.Checks); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	set := packageSet{checkOnly: true, seen: make(map[[3]string]bool, len(h.Packages))}
	for i, p := range h.Packages {
		if err := set.add(p); err != nil {
			return fmt.Errorf("host %s: packages[%d]: %w", h.Name, i, err)
		}
	}
	return nil
}
