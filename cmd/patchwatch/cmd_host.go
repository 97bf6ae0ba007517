package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/matcher"
)

func runHost(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usageError("usage: patchwatch host import|show ...")
	}
	switch args[0] {
	case "import":
		return runHostImport(ctx, env, args[1:])
	case "show":
		return runHostShow(ctx, env, args[1:])
	}
	return usageError("unknown host command %q (import, show)", args[0])
}

func runHostImport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "host import")
	db := dbFlag(env, fs)
	name := fs.String("name", "", "host `name` (required)")
	owner := fs.String("owner", "", "owner's `email`")
	osRelease := fs.String("os-release", "", "the host's /etc/os-release `file` (required)")
	debianVersion := fs.String("debian-version", "", "the host's /etc/debian_version `file`, optional")
	kernelRelease := fs.String("kernel-release", "", "running kernel as `uname -r` prints it")
	kernelVersion := fs.String("kernel-version", "", "running kernel as `uname -v` prints it (Debian puts the package version there)")
	rebootRequired := fs.Bool("reboot-required", false, "the host has /var/run/reboot-required")
	stream := fs.String("stream", "", "RHEL extended-support stream the host follows: eus, aus, e4s, tus or els (default: the main stream)")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: patchwatch host import --name NAME [--owner EMAIL] --os-release FILE [--kernel-release STR] PACKAGES_FILE")
		fmt.Fprintln(env.Stderr, "PACKAGES_FILE: /var/lib/dpkg/status, or dpkg-query -W -f='${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${Architecture}\\n'")
		fmt.Fprintln(env.Stderr, "  on the RHEL family: "+inventory.RecommendedRPMQuery+" (plain rpm -qa works too, without epochs)")
		fmt.Fprintln(env.Stderr, "  on the RHEL family: "+inventory.RecommendedRPMQuery+" (plain rpm -qa also works, without epochs)")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || *osRelease == "" || fs.NArg() != 1 {
		fs.Usage()
		return usageError("host import needs --name, --os-release and one packages file")
	}
	in := inventory.HostInput{
		Name: *name, Owner: *owner,
		OSReleaseName: *osRelease, PackagesName: fs.Arg(0),
		KernelRelease: *kernelRelease, KernelVersion: *kernelVersion,
		Stream: *stream, Now: env.now(),
	}
	var err error
	if in.OSRelease, err = os.ReadFile(*osRelease); err != nil {
		return err
	}
	if in.Packages, err = os.ReadFile(fs.Arg(0)); err != nil {
		return err
	}
	if *debianVersion != "" {
		b, err := os.ReadFile(*debianVersion)
		if err != nil {
			return err
		}
		in.DebianVersion = string(b)
	}
	h, err := inventory.BuildHost(in)
	if err != nil {
		return err
	}
	h.RebootRequired = *rebootRequired
	s, err := openStore(*db, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.PutHost(ctx, h); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "host %s: %s, %d packages", h.Name, h.Release, len(h.Packages))
	if !h.SourceInfo {
		fmt.Fprint(env.Stdout, " (no source package information: matching by binary name only)")
	}
	if h.Family == patchwatch.FamilyRPM && !h.EpochInfo {
		fmt.Fprint(env.Stdout, " (no epochs: compared as if equal to each fix's)")
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

func runHostShow(ctx context.Context, env *Env, args []string) error {
	fs, format, s, err := queryFlags(env, "host show", args, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	if fs.NArg() != 1 {
		return usageError("usage: patchwatch host show NAME")
	}
	h, err := s.Host(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(env.Stdout, h)
	}
	fmt.Fprintf(env.Stdout, "name:      %s\nowner:     %s\nos:        %s (%s)\nkernel:    %s %s\npackages:  %d\nreported:  %s\n",
		h.Name, h.Owner, h.OS.PrettyName, h.Release, h.KernelRelease, h.KernelVersion, len(h.Packages), h.ReportedAt.Format("2006-01-02 15:04 MST"))
	return nil
}

// hostSummary is one row of `patchwatch hosts`.
type hostSummary struct {
	Name          string `json:"name"`
	Owner         string `json:"owner,omitempty"`
	Release       string `json:"release"`
	Packages      int    `json:"packages"`
	Outstanding   int    `json:"outstanding"`
	PendingReboot int    `json:"pending_reboot"`
	ReportedAt    string `json:"reported_at"`
	SourceInfo    bool   `json:"source_info"`
}

func runHosts(ctx context.Context, env *Env, args []string) error {
	_, format, s, err := queryFlags(env, "hosts", args, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	hosts, err := s.Hosts(ctx)
	if err != nil {
		return err
	}
	rows := make([]hostSummary, 0, len(hosts))
	for i := range hosts {
		h := &hosts[i]
		findings, err := hostFindings(ctx, s, h)
		if err != nil {
			return err
		}
		row := hostSummary{Name: h.Name, Owner: h.Owner, Release: h.Release, Packages: len(h.Packages),
			ReportedAt: h.ReportedAt.Format("2006-01-02T15:04:05Z07:00"), SourceInfo: h.SourceInfo}
		for _, f := range findings {
			if f.Status == patchwatch.StatusPendingReboot {
				row.PendingReboot++
			} else {
				row.Outstanding++
			}
		}
		rows = append(rows, row)
	}
	if format == "json" {
		return writeJSON(env.Stdout, rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tOWNER\tRELEASE\tPACKAGES\tOUTSTANDING\tPENDING REBOOT\tREPORTED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.Name, r.Owner, r.Release, r.Packages, r.Outstanding, r.PendingReboot, r.ReportedAt)
	}
	return tw.Flush()
}

// advisorySource is what matching one host needs from the store.
type advisorySource interface {
	AdvisoriesFor(ctx context.Context, release string, packages []string) ([]patchwatch.Advisory, error)
	HasRelease(ctx context.Context, release string) (bool, error)
	KEV(ctx context.Context, cves []string) (map[string]patchwatch.KEVEntry, error)
	Urgencies(ctx context.Context, release, pkg string) (map[string]string, error)
}

// hostFindings matches one host against the advisories that name any of
// its packages, found through the store's fix index.
func hostFindings(ctx context.Context, s advisorySource, h *patchwatch.Host) ([]patchwatch.Finding, error) {
	names := matcher.LookupNames(h)
	releases := []string{h.Release}
	if rhel := patchwatch.RHSARelease(h.Release); rhel != h.Release {
		releases = append(releases, rhel)
	}
	var advisories []patchwatch.Advisory
	for _, release := range releases {
		found, err := s.AdvisoriesFor(ctx, release, names)
		if err != nil {
			return nil, fmt.Errorf("find advisories for %s: %w", h.Name, err)
		}
		advisories = append(advisories, found...)
	}
	ix := matcher.NewIndex(advisories)
	if own, err := s.HasRelease(ctx, h.Release); err != nil {
		return nil, err
	} else if own {
		ix.MarkRelease(h.Release)
	}
	findings := ix.Match(h)
	var cves []string
	for _, f := range findings {
		cves = append(cves, f.CVEs...)
	}
	kev, err := s.KEV(ctx, cves)
	if err != nil {
		return nil, err
	}
	urgencies := map[string]map[string]string{}
	var lookupErr error
	urgency := func(release, pkg, cve string) string {
		byCVE, ok := urgencies[pkg]
		if !ok {
			byCVE, err = s.Urgencies(ctx, release, pkg)
			if err != nil {
				lookupErr = err
			}
			urgencies[pkg] = byCVE
		}
		return byCVE[cve]
	}
	matcher.Enrich(h, findings, matcher.Context{KEV: kev, Urgency: urgency})
	return findings, lookupErr
}
