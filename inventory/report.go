package inventory

import (
	"bytes"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchwatch/patchwatch"
)

// ReportSchema names version 1 of the report document (docs/report.md,
// docs/report.schema.json).
const ReportSchema = "patchwatch.report/v1"

// Report is what a VM's agent sends: who it is, what it runs, and whether
// it needs a reboot.
type Report struct {
	Schema    string          `json:"schema"`
	Host      ReportHost      `json:"host"`
	Owner     string          `json:"owner,omitempty"`
	OSRelease ReportOSRelease `json:"os_release"`
	Kernel    ReportKernel    `json:"kernel"`
	BootTime  time.Time       `json:"boot_time,omitzero"`
	Reboot    ReportReboot    `json:"reboot"`
	Format    string          `json:"package_format"` // "deb" or "rpm"
	Packages  []ReportPackage `json:"packages"`
	Agent     string          `json:"agent,omitempty"`
	Collected time.Time       `json:"collected_at,omitzero"`
	// Checks are the security-guideline checks the agent ran.
	Checks []patchwatch.CheckResult `json:"checks,omitempty"`
}

// MaxReportChecks bounds the checks of one report.
const MaxReportChecks = 64

// ReportHost identifies the VM.
type ReportHost struct {
	Hostname     string `json:"hostname"`
	InstanceID   string `json:"instance_id,omitempty"`   // OpenStack instance UUID
	InstanceName string `json:"instance_name,omitempty"` // OpenStack server name
	ProjectID    string `json:"project_id,omitempty"`
}

// ReportOSRelease carries the os-release fields matching needs.
type ReportOSRelease struct {
	ID              string `json:"id"`
	VersionID       string `json:"version_id,omitempty"`
	VersionCodename string `json:"version_codename,omitempty"`
	PrettyName      string `json:"pretty_name,omitempty"`
	DebianVersion   string `json:"debian_version,omitempty"`
}

// ReportKernel is the running kernel: `uname -r` and `uname -v`.
type ReportKernel struct {
	Release string `json:"release,omitempty"`
	Version string `json:"version,omitempty"`
}

// ReportReboot carries the distribution's own reboot signals.
type ReportReboot struct {
	// Required is /var/run/reboot-required, or `needs-restarting -r`
	// exiting 1.
	Required bool `json:"required"`
	// Packages lists /var/run/reboot-required.pkgs.
	Packages []string `json:"packages,omitempty"`
	// Source says which signal was read.
	Source string `json:"source,omitempty"`
}

// ReportPackage is one installed package. Epoch is for rpm; an rpm
// package's Version is VERSION-RELEASE.
type ReportPackage struct {
	Name          string `json:"name"`
	Epoch         *int   `json:"epoch,omitempty"`
	Version       string `json:"version"`
	Arch          string `json:"arch,omitempty"`
	SourceName    string `json:"source_name,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	Module        string `json:"module,omitempty"`
}

// DecodeReport reads a report document strictly (with github.com/goccy/go-json,
// which decodes the 1,500-package reports of the intake about twice as fast
// as encoding/json, in the same strict mode; the fuzz target covers it): unknown fields, invalid
// UTF-8, a wrong schema, oversized fields, too many or duplicate packages
// are errors that name the problem. r must be bounded by the caller (the
// API's body limit and body budget, the import's file limit): the whole
// document is checked as UTF-8 before decoding.
func DecodeReport(r io.Reader) (Report, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Report{}, fmt.Errorf("read report: %w", err)
	}
	if !utf8.Valid(data) {
		return Report{}, errors.New("report is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return Report{}, fmt.Errorf("decode report: %w", err)
	}
	if dec.More() {
		return Report{}, errors.New("decode report: trailing data after the document")
	}
	return rep, rep.Validate()
}

// Validate checks a decoded report.
func (r *Report) Validate() error {
	if r.Schema != ReportSchema {
		return fmt.Errorf("schema %q: this server reads %q", r.Schema, ReportSchema)
	}
	if strings.TrimSpace(r.Host.Hostname) == "" {
		return errors.New("host.hostname is missing")
	}
	for name, v := range map[string]string{"host.hostname": r.Host.Hostname, "host.instance_id": r.Host.InstanceID, "host.instance_name": r.Host.InstanceName,
		"owner": r.Owner, "os_release.id": r.OSRelease.ID, "kernel.release": r.Kernel.Release, "kernel.version": r.Kernel.Version} {
		if len(v) > maxField {
			return fmt.Errorf("%s is longer than %d bytes", name, maxField)
		}
	}
	if r.Format != "deb" && r.Format != "rpm" {
		return fmt.Errorf("package_format %q is not deb or rpm", r.Format)
	}
	if len(r.Packages) == 0 {
		return errors.New("no packages")
	}
	if err := validateChecks(r.Checks); err != nil {
		return err
	}
	if len(r.Packages) > MaxReportPackages {
		return fmt.Errorf("%w: %d packages, more than %d", ErrTooLarge, len(r.Packages), MaxReportPackages)
	}
	set := packageSet{checkOnly: true, seen: make(map[[3]string]bool, len(r.Packages))}
	for i, p := range r.Packages {
		pkg := patchwatch.Package{Name: p.Name, Version: p.Version, Arch: p.Arch, SourceName: p.SourceName, SourceVersion: p.SourceVersion, Module: p.Module}
		if err := set.add(pkg); err != nil {
			return fmt.Errorf("packages[%d]: %w", i, err)
		}
	}
	return nil
}

// Name returns the host name a report is filed under: the OpenStack
// server name when given, else the hostname.
func (r *Report) Name() string {
	if r.Host.InstanceName != "" {
		return r.Host.InstanceName
	}
	return r.Host.Hostname
}

// HostFromReport turns a validated report into a Host. Versions are
// checked with the family's rules; a line that does not parse is an error.
func HostFromReport(r *Report, now time.Time) (patchwatch.Host, error) {
	osr := patchwatch.OSRelease{ID: r.OSRelease.ID, VersionID: r.OSRelease.VersionID, VersionCodename: r.OSRelease.VersionCodename,
		PrettyName: r.OSRelease.PrettyName, DebianVersion: r.OSRelease.DebianVersion}
	release, family, err := patchwatch.ResolveRelease(osr)
	if err != nil {
		return patchwatch.Host{}, fmt.Errorf("os_release: %w", err)
	}
	if (family == patchwatch.FamilyRPM) != (r.Format == "rpm") {
		return patchwatch.Host{}, fmt.Errorf("package_format %s does not fit %s", r.Format, osr.ID)
	}
	h := patchwatch.Host{
		Name: r.Name(), Owner: r.Owner, OS: osr, Release: release, Family: family,
		InstanceID: r.Host.InstanceID, Project: r.Host.ProjectID,
		KernelRelease: r.Kernel.Release, KernelVersion: r.Kernel.Version,
		RebootRequired: r.Reboot.Required, ReportedAt: now.UTC(), Checks: r.Checks,
		SourceInfo: true, EpochInfo: true, ModuleInfo: family == patchwatch.FamilyRPM,
	}
	for i, p := range r.Packages {
		pkg := patchwatch.Package{Name: p.Name, Version: p.Version, Arch: p.Arch, SourceName: p.SourceName, SourceVersion: p.SourceVersion, Module: p.Module}
		if family == patchwatch.FamilyRPM {
			if p.Epoch == nil {
				h.EpochInfo = false
			} else {
				pkg.Version = fmt.Sprintf("%d:%s", *p.Epoch, p.Version)
				if pkg.SourceVersion != "" {
					pkg.SourceVersion = fmt.Sprintf("%d:%s", *p.Epoch, p.SourceVersion)
				}
			}
		} else if err := checkVersion(p.Version); err != nil {
			return patchwatch.Host{}, fmt.Errorf("packages[%d] %s: %w", i, p.Name, err)
		}
		if pkg.SourceName == "" {
			h.SourceInfo = false
			pkg.SourceName, pkg.SourceVersion = "", ""
		} else if pkg.SourceVersion == "" {
			pkg.SourceVersion = pkg.Version
		}
		h.Packages = append(h.Packages, pkg)
	}
	return h, ValidateHost(&h)
}

func validateChecks(checks []patchwatch.CheckResult) error {
	if len(checks) > MaxReportChecks {
		return fmt.Errorf("%d checks: more than %d", len(checks), MaxReportChecks)
	}
	seen := map[string]bool{}
	for i, c := range checks {
		switch {
		case c.ID == "" || len(c.ID) > 64:
			return fmt.Errorf("checks[%d]: id is missing or longer than 64 bytes", i)
		case seen[c.ID]:
			return fmt.Errorf("checks[%d]: duplicate check %q", i, c.ID)
		case c.Status != patchwatch.CheckPass && c.Status != patchwatch.CheckFail && c.Status != patchwatch.CheckUnknown:
			return fmt.Errorf("checks[%d] (%s): status %q is not pass, fail or unknown", i, c.ID, c.Status)
		case len(c.Evidence) > 2*maxField || len(c.Items) > 256:
			return fmt.Errorf("checks[%d] (%s): evidence or items too long", i, c.ID)
		case len(c.State) > 64 || len(c.Command) > maxField:
			return fmt.Errorf("checks[%d] (%s): state or command too long", i, c.ID)
		}
		seen[c.ID] = true
		for _, item := range c.Items {
			if len(item) > maxField {
				return fmt.Errorf("checks[%d] (%s): an item is longer than %d bytes", i, c.ID, maxField)
			}
		}
	}
	return nil
}
