package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/service"
)

func runHost(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usageError("usage: patchwatch host import|show|remove ...")
	}
	switch args[0] {
	case "import":
		return runHostImport(ctx, env, args[1:])
	case "show":
		return runHostShow(ctx, env, args[1:])
	case "remove":
		return runHostRemove(ctx, env, args[1:])
	}
	return usageError("unknown host command %q (import, show, remove)", args[0])
}

func runHostImport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "host import")
	db := dbFlag(env, fs)
	name := fs.String("name", "", "host `name` (required)")
	owner := fs.String("owner", "", "owner's `email`")
	osRelease := fs.String("os-release", "", "the host's /etc/os-release `file` (required)")
	debianVersion := fs.String("debian-version", "", "the host's /etc/debian_version `file`, optional")
	kernelRelease := fs.String("kernel-release", "", "running kernel, as \"uname -r\" prints it")
	kernelVersion := fs.String("kernel-version", "", "running kernel, as \"uname -v\" prints it (Debian puts the package version there)")
	rebootRequired := fs.Bool("reboot-required", false, "the host has /var/run/reboot-required")
	configPath := fs.String("config", "", "YAML configuration `file` (urgency rules)")
	stream := fs.String("stream", "", "RHEL extended-support stream the host follows: eus, aus, e4s, tus or els (default: the main stream)")
	report := fs.String("report", "", "an agent report `file` (patchwatch-agent collect), instead of --os-release and a packages file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var h patchwatch.Host
	if *report != "" {
		if fs.NArg() != 0 || *osRelease != "" {
			return usageError("host import --report takes no --os-release and no packages file")
		}
		data, err := readInventoryFile(*report)
		if err != nil {
			return err
		}
		rep, err := inventory.DecodeReport(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", *report, err)
		}
		if h, err = inventory.HostFromReport(&rep, env.now()); err != nil {
			return fmt.Errorf("%s: %w", *report, err)
		}
		if *name != "" {
			h.Name = *name
		}
		if *owner != "" {
			h.Owner = *owner
		}
		if *rebootRequired {
			h.RebootRequired = true
		}
		if err := inventory.ValidateHost(&h); err != nil {
			return err
		}
		return putHost(ctx, env, *db, *configPath, h)
	}
	if *name == "" || fs.NArg() != 1 {
		return usageError("host import needs --name, --os-release and one packages file, or --report")
	}
	in := inventory.HostInput{
		Name: *name, Owner: *owner,
		OSReleaseName: *osRelease, PackagesName: fs.Arg(0),
		KernelRelease: *kernelRelease, KernelVersion: *kernelVersion,
		Stream: *stream, Now: env.now(),
	}
	var err error
	if in.Packages, err = readInventoryFile(fs.Arg(0)); err != nil {
		return err
	}
	if *osRelease != "" {
		if in.OSRelease, err = readInventoryFile(*osRelease); err != nil {
			return err
		}
	} else if _, sbom := inventory.DetectSBOM(in.Packages); !sbom {
		// Only an image SBOM names its distribution itself.
		return usageError("host import needs --os-release (only a CycloneDX, SPDX or syft SBOM may go without)")
	}
	if *debianVersion != "" {
		b, err := readInventoryFile(*debianVersion)
		if err != nil {
			return err
		}
		in.DebianVersion = string(b)
	}
	h, err = inventory.BuildHost(in)
	if err != nil {
		return err
	}
	h.RebootRequired = *rebootRequired
	return putHost(ctx, env, *db, *configPath, h)
}

// maxInventoryFile bounds a hand-imported file: twice the API's body
// limit, far above the largest real package list (a few MiB).
const maxInventoryFile = 64 << 20

// readInventoryFile reads a file of a hand import within maxInventoryFile.
func readInventoryFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInventoryFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxInventoryFile {
		return nil, fmt.Errorf("%s: larger than %d MiB, not an inventory", path, maxInventoryFile>>20)
	}
	return data, nil
}

func putHost(ctx context.Context, env *Env, db, configPath string, h patchwatch.Host) error {
	s, err := openCLIStore(ctx, env, db, configPath, false)
	if err != nil {
		return err
	}
	defer s.Close()
	svc, err := newService(env, s, configPath)
	if err != nil {
		return err
	}
	if _, err := svc.PutHost(ctx, h); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "host %s: %s, %d packages", h.Name, h.Release, len(h.Packages))
	if !h.SourceInfo {
		fmt.Fprint(env.Stdout, " (no source package information: binaries matched by name, through the advisories' binary lists and the learnt binary → source map)")
	}
	if h.Family == patchwatch.FamilyRPM && !h.EpochInfo {
		fmt.Fprint(env.Stdout, " (no epochs: compared as if equal to each fix's)")
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

func runHostShow(ctx context.Context, env *Env, args []string) error {
	q, err := queryFlags(env, "host show", args, nil)
	if err != nil {
		return err
	}
	defer q.close()
	if q.fs.NArg() != 1 {
		return usageError("usage: patchwatch host show NAME")
	}
	var h patchwatch.Host
	if q.remote != nil {
		err = q.remote.get(ctx, "/api/v1/hosts/"+url.PathEscape(q.fs.Arg(0)), nil, &h)
	} else {
		h, err = q.s.Host(ctx, q.fs.Arg(0))
	}
	if err != nil {
		return err
	}
	if q.format == "json" {
		return writeJSON(env.Stdout, h)
	}
	var checks []patchwatch.HostCheck
	if q.remote != nil {
		err = q.remote.get(ctx, "/api/v1/hosts/"+url.PathEscape(h.Name)+"/checks", nil, &checks)
	} else {
		checks, err = q.svc.Checks(ctx, &h)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "name:      %s\nowner:     %s\nos:        %s (%s)\nkernel:    %s %s\npackages:  %d\nreported:  %s\n",
		h.Name, h.Owner, h.OS.PrettyName, h.Release, h.KernelRelease, h.KernelVersion, len(h.Packages), h.ReportedAt.Format("2006-01-02 15:04 MST"))
	if len(checks) == 0 {
		fmt.Fprintln(env.Stdout, "checks:    none reported (the agent reports them)")
		return nil
	}
	fmt.Fprintln(env.Stdout, "\nsecurity-guideline checks:")
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, c := range checks {
		status := c.Status
		if c.Silenced != nil {
			status += " (disabled: " + c.Silenced.Reason + ", until " + c.Silenced.Expires.Format("2006-01-02") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.ID, status, c.Evidence)
		if len(c.Items) > 0 {
			fmt.Fprintf(tw, "  \t\treview: %s\n", strings.Join(c.Items, ", "))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range checks {
		if c.Status != patchwatch.CheckFail || c.Silenced != nil {
			continue
		}
		if g, ok := patchwatch.GuidelineByID(c.ID); ok {
			fmt.Fprintf(env.Stdout, "\n%s: %s\n  fix: %s\n", g.Title, g.Advice, patchwatch.CheckFix(c.CheckResult, h.Family))
		}
	}
	return nil
}

func runHosts(ctx context.Context, env *Env, args []string) error {
	var rebootOnly, checks *bool
	var owner *string
	var staleAfter *time.Duration
	q, err := queryFlags(env, "hosts", args, func(fs *flag.FlagSet) {
		checks = fs.Bool("checks", false, "show the security-guideline checks each host fails")
		rebootOnly = fs.Bool("reboot-required", false, "only hosts that need a reboot, with since when")
		owner = fs.String("owner", "", "only hosts of this owner")
		staleAfter = fs.Duration("stale-after", 48*time.Hour, "flag hosts that have not reported for this long (the server's server.stale_after in remote mode)")
	})
	if err != nil {
		return err
	}
	defer q.close()
	var rows []service.HostSummary
	if q.remote != nil {
		err = eachListed(ctx, q.remote, "/api/v1/hosts", url.Values{"owner": {*owner}, "reboot_required": {strconv.FormatBool(*rebootOnly)}}, func(r *service.HostSummary) error {
			rows = append(rows, *r)
			return nil
		})
	} else {
		rows, err = q.svc.HostSummaries(ctx, service.HostFilter{Owner: *owner, RebootRequired: *rebootOnly, StaleAfter: *staleAfter})
	}
	if err != nil {
		return err
	}
	if *checks {
		return writeHostChecks(env.Stdout, q.format, rows)
	}
	return writeHosts(env.Stdout, q.format, rows)
}

// writeHostChecks shows the fleet's standing per guideline: one column per
// check, "fail" where a host fails it (disabled checks do not count).
func writeHostChecks(w io.Writer, format string, rows []service.HostSummary) error {
	if format == "json" {
		// The keys mean what they mean in `hosts --format json`: checks is
		// how many checks the host reported, check_status each one's result.
		type row struct {
			Name          string            `json:"name"`
			Owner         string            `json:"owner,omitempty"`
			FailingChecks []string          `json:"failing_checks"`
			Checks        int               `json:"checks"`
			CheckStatus   map[string]string `json:"check_status"`
		}
		out := make([]row, 0, len(rows))
		for _, r := range rows {
			status := r.CheckStatus
			if status == nil {
				status = map[string]string{}
			}
			out = append(out, row{r.Name, r.Owner, append([]string{}, r.FailingChecks...), r.Checks, status})
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "HOST\tOWNER\tFAILING")
	for _, g := range patchwatch.Guidelines {
		fmt.Fprint(tw, "\t"+g.ID)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d", r.Name, r.Owner, len(r.FailingChecks))
		for _, g := range patchwatch.Guidelines {
			cell := r.CheckStatus[g.ID]
			switch cell {
			case "":
				cell = "-"
			case patchwatch.CheckFail:
				cell = "FAIL"
			}
			fmt.Fprint(tw, "\t"+cell)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func writeHosts(w io.Writer, format string, rows []service.HostSummary) error {
	if format == "json" {
		return writeJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tOWNER\tRELEASE\tPACKAGES\tOUTSTANDING\tOVERDUE\tREBOOT\tREPORTED")
	for _, r := range rows {
		reboot := "-"
		if r.RebootRequired {
			reboot = "required"
			if r.RebootRequiredSince != "" {
				reboot += " since " + r.RebootRequiredSince
			}
		}
		reported := r.ReportedAt
		if r.Stale {
			reported += " (stale)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.Name, r.Owner, r.Release, r.Packages, r.Outstanding, r.Overdue, reboot, reported)
	}
	return tw.Flush()
}

func runHostRemove(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "host remove")
	db := dbFlag(env, fs)
	configPath := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("usage: patchwatch host remove NAME")
	}
	s, err := openCLIStore(ctx, env, *db, *configPath, false)
	if err != nil {
		return err
	}
	defer s.Close()
	events, err := s.RemoveHost(ctx, fs.Arg(0), env.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "host %s removed; %d open findings resolved\n", fs.Arg(0), len(events))
	return nil
}
