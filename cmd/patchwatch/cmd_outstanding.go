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
	table := newFindingsTable(tableInMemory)
	defer table.close()
	if q.remote != nil {
		err = eachListed(ctx, q.remote, "/api/v1/findings", v, table.add)
	} else {
		_, err = q.svc.EachOutstanding(ctx, flt, service.Page{}, table.add)
	}
	if err == nil {
		err = table.writeTo(env.Stdout)
	}
	if err != nil {
		return err
	}
	if *exitCode && table.n > 0 {
		return &ExitError{Code: ExitFindings}
	}
	return nil
}

// tableInMemory is how much of each of the table's spools (rows, details)
// stays in memory before it moves to a temporary file: a host's or an
// owner's listing never touches the disk.
const tableInMemory = 8 << 20

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
