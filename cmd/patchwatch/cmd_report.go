package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/patchwatch/patchwatch"
)

// ttpRow is one group of `patchwatch report time-to-patch`.
type ttpRow struct {
	Group    string  `json:"group"`
	Resolved int     `json:"resolved"`
	Open     int     `json:"open"`
	Overdue  int     `json:"overdue"`
	Median   float64 `json:"median_days"`
	P90      float64 `json:"p90_days"`
	Mean     float64 `json:"mean_days"`
	// OldestOpen is the age in days of the oldest open finding.
	OldestOpen float64 `json:"oldest_open_days"`
}

func runReport(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "time-to-patch" {
		return usageError("usage: patchwatch report time-to-patch [--by host|owner|urgency]")
	}
	var by *string
	q, err := queryFlags(env, "report time-to-patch", args[1:], func(fs *flag.FlagSet) {
		by = fs.String("by", "urgency", "group by host, owner or urgency")
	})
	if err != nil {
		return err
	}
	defer q.s.Close()
	if *by != "host" && *by != "owner" && *by != "urgency" {
		return usageError("--by must be host, owner or urgency")
	}
	records, err := q.s.FindingRecords(ctx, "")
	if err != nil {
		return err
	}
	rows := timeToPatch(records, *by, q.ev.rules, env.now())
	if q.format == "json" {
		return writeJSON(env.Stdout, rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tRESOLVED\tMEDIAN DAYS\tP90 DAYS\tMEAN DAYS\tOPEN\tOVERDUE\tOLDEST OPEN DAYS\n", *by)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%d\t%d\t%.1f\n", r.Group, r.Resolved, r.Median, r.P90, r.Mean, r.Open, r.Overdue, r.OldestOpen)
	}
	return tw.Flush()
}

// timeToPatch groups finding records and measures, for resolved ones, the
// days from first seen to resolved, and for open ones their age.
func timeToPatch(records []patchwatch.FindingRecord, by string, rules patchwatch.UrgencyRules, now time.Time) []ttpRow {
	type acc struct {
		days []float64
		row  ttpRow
	}
	groups := map[string]*acc{}
	for _, r := range records {
		key := r.Urgency.String()
		switch by {
		case "host":
			key = r.Host
		case "owner":
			key = r.Owner
			if key == "" {
				key = "(no owner)"
			}
		}
		a := groups[key]
		if a == nil {
			a = &acc{row: ttpRow{Group: key}}
			groups[key] = a
		}
		if r.Open() {
			a.row.Open++
			a.row.OldestOpen = max(a.row.OldestOpen, now.Sub(r.FirstSeen).Hours()/24)
			if now.After(rules.Deadline(r.Urgency, r.FirstSeen)) {
				a.row.Overdue++
			}
			continue
		}
		a.row.Resolved++
		a.days = append(a.days, r.ResolvedAt.Sub(r.FirstSeen).Hours()/24)
	}
	rows := make([]ttpRow, 0, len(groups))
	for _, a := range groups {
		if n := len(a.days); n > 0 {
			slices.Sort(a.days)
			sum := 0.0
			for _, d := range a.days {
				sum += d
			}
			a.row.Mean = sum / float64(n)
			a.row.Median = percentile(a.days, 0.5)
			a.row.P90 = percentile(a.days, 0.9)
		}
		rows = append(rows, a.row)
	}
	slices.SortFunc(rows, func(x, y ttpRow) int {
		if by == "urgency" {
			ux, _ := patchwatch.ParseUrgency(x.Group)
			uy, _ := patchwatch.ParseUrgency(y.Group)
			return int(uy) - int(ux)
		}
		if x.Group < y.Group {
			return -1
		}
		if x.Group > y.Group {
			return 1
		}
		return 0
	})
	return rows
}

// percentile of sorted values, nearest-rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
