package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/jsonarray"
	"github.com/patchwatch/patchwatch/service"
)

func runOutstanding(ctx context.Context, env *Env, args []string) error {
	var host, owner, minSeverity, minUrgency *string
	var exitCode, includeSilenced, overdueOnly *bool
	q, err := queryFlags(env, "outstanding", args, func(fs *flag.FlagSet) {
		host = fs.String("host", "", "only this host")
		owner = fs.String("owner", "", "only hosts of this owner")
		minSeverity = fs.String("min-severity", "", "only findings at or above this severity (negligible, low, medium, high, critical)")
		minUrgency = fs.String("min-urgency", "", "only findings at or above this urgency (low, medium, high, critical)")
		includeSilenced = fs.Bool("include-silenced", false, "also list findings hidden by a silence, marked as such")
		overdueOnly = fs.Bool("overdue", false, "only findings past their deadline")
		exitCode = fs.Bool("exit-code", false, "exit with status 3 when any finding is listed")
	})
	if err != nil {
		return err
	}
	defer q.close()
	var floor patchwatch.Severity
	if *minSeverity != "" {
		var ok bool
		if floor, ok = patchwatch.ParseSeverity(*minSeverity); !ok {
			return usageError("--min-severity: unknown severity %q", *minSeverity)
		}
	}
	var urgencyFloor patchwatch.Urgency
	if *minUrgency != "" {
		if urgencyFloor, err = patchwatch.ParseUrgency(*minUrgency); err != nil {
			return usageError("--min-urgency: %v", err)
		}
	}
	flt := service.Filter{Host: *host, Owner: *owner, MinSeverity: floor, MinUrgency: urgencyFloor,
		IncludeSilenced: *includeSilenced, OverdueOnly: *overdueOnly}
	v := url.Values{"include_silenced": {strconv.FormatBool(*includeSilenced)}, "overdue": {strconv.FormatBool(*overdueOnly)}}
	for k, val := range map[string]string{"host": *host, "owner": *owner, "severity": *minSeverity, "urgency": *minUrgency} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if q.format == "json" {
		// The whole fleet's findings stream out as they are read (or, in
		// remote mode, as the server's listing arrives).
		out := bufio.NewWriterSize(env.Stdout, 64<<10)
		// Encoded on every core, written in order.
		list := jsonarray.NewParallel(out, runtime.GOMAXPROCS(0))
		add := func(f *patchwatch.Finding) error { return list.Add(f) }
		var err error
		if q.remote != nil {
			err = eachListed(ctx, q.remote, "/api/v1/findings", v, add)
		} else {
			_, err = q.svc.EachOutstanding(ctx, flt, service.Page{}, add)
		}
		if cerr := list.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
		if *exitCode && list.Len() > 0 {
			return &ExitError{Code: ExitFindings}
		}
		return nil
	}
	var findings []patchwatch.Finding
	if q.remote != nil {
		err = eachListed(ctx, q.remote, "/api/v1/findings", v, func(f *patchwatch.Finding) error {
			findings = append(findings, *f)
			return nil
		})
	} else {
		findings, err = q.svc.OutstandingAll(ctx, flt)
	}
	if err != nil {
		return err
	}
	if q.format == "json" {
		err = writeJSON(env.Stdout, findings)
	} else {
		err = writeFindingsTable(env.Stdout, findings)
	}
	if err != nil {
		return err
	}
	if *exitCode && len(findings) > 0 {
		return &ExitError{Code: ExitFindings}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeFindingsTable(w io.Writer, findings []patchwatch.Finding) error {
	if len(findings) == 0 {
		_, err := fmt.Fprintln(w, "No outstanding advisories.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tADVISORY\tURGENCY\tSEVERITY\tDEADLINE\tSTATUS\tTITLE")
	for _, f := range findings {
		status := string(f.Status)
		if f.Subscription != "" {
			status += " (" + f.Subscription + ")"
		}
		if f.Silenced != nil {
			status += " [silenced]"
		}
		deadline := f.Deadline.Format("2006-01-02")
		if f.Overdue {
			deadline += " OVERDUE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Host, f.Advisory, f.Urgency, f.Severity, deadline, status, oneLine(f.Title, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range findings {
		fmt.Fprintf(w, "\n%s on %s: %s\n", f.Advisory, f.Host, oneLine(f.Title, 100))
		fmt.Fprintf(w, "  urgency %s: %s\n", f.Urgency, strings.Join(f.UrgencyReasons, "; "))
		if f.Silenced != nil {
			fmt.Fprintf(w, "  silenced by %s until %s: %s\n", f.Silenced.ID, f.Silenced.Expires.Format("2006-01-02"), f.Silenced.Reason)
		}
		for _, p := range f.Packages {
			via := ""
			if p.Source != "" {
				via = " (source " + p.Source + ")"
			}
			fmt.Fprintf(w, "  %s %s -> %s%s\n", p.Name, p.Installed, p.Fixed, via)
		}
		if f.Command != "" {
			fmt.Fprintf(w, "  fix: %s\n", f.Command)
		}
		if f.Status == patchwatch.StatusSubscription {
			fmt.Fprintf(w, "  note: the fix is published only through %s\n", f.Subscription)
		}
		if f.RebootHint && f.Status != patchwatch.StatusPendingReboot {
			fmt.Fprintln(w, "  reboot: required after the update")
		}
		for _, n := range f.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		if f.URL != "" {
			fmt.Fprintf(w, "  %s\n", f.URL)
		}
	}
	return nil
}

func runAdvisory(ctx context.Context, env *Env, args []string) error {
	q, err := queryFlags(env, "advisory", args, nil)
	if err != nil {
		return err
	}
	defer q.close()
	if q.fs.NArg() != 1 {
		return usageError("usage: patchwatch advisory ID")
	}
	var a patchwatch.Advisory
	var affected []patchwatch.Finding
	if q.remote != nil {
		var resp struct {
			Advisory patchwatch.Advisory  `json:"advisory"`
			Affected []patchwatch.Finding `json:"affected_hosts"`
		}
		err = q.remote.get(ctx, "/api/v1/advisories/"+url.PathEscape(strings.TrimSpace(q.fs.Arg(0))), nil, &resp)
		a, affected = resp.Advisory, resp.Affected
	} else {
		if a, err = q.s.Advisory(ctx, strings.TrimSpace(q.fs.Arg(0))); err == nil {
			affected, err = q.svc.OutstandingAll(ctx, service.Filter{Advisory: a.ID})
		}
	}
	if err != nil {
		return err
	}
	if q.format == "json" {
		return writeJSON(env.Stdout, struct {
			Advisory patchwatch.Advisory  `json:"advisory"`
			Affected []patchwatch.Finding `json:"affected_hosts"`
		}{a, affected})
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s: %s\n", a.ID, a.Title)
	fmt.Fprintf(w, "source:     %s\npublished:  %s\nmodified:   %s\nseverity:   %s\n", a.Source, a.Published.Format("2006-01-02"), a.Modified.Format("2006-01-02"), a.Severity)
	if len(a.CVEs) > 0 {
		fmt.Fprintf(w, "cves:       %s\n", strings.Join(a.CVEs, " "))
	}
	if a.URL != "" {
		fmt.Fprintf(w, "url:        %s\n", a.URL)
	}
	if a.RebootHint {
		fmt.Fprintln(w, "reboot:     needed after updating")
	}
	fmt.Fprintln(w, "\nfixes:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range a.Fixes {
		fixed := f.FixedVersion
		if fixed == "" {
			fixed = "(no fix yet)"
		}
		fmt.Fprintf(tw, "  %s\t%s (%s)\t%s\t%s\n", f.Release, f.Package, f.Kind, fixed, f.Subscription)
	}
	tw.Flush()
	fmt.Fprintf(w, "\naffected hosts: %d\n", len(affected))
	for _, f := range affected {
		fmt.Fprintf(w, "  %s (%s)\n", f.Host, f.Status)
	}
	return nil
}
