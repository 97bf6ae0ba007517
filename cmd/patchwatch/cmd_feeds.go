package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/patchwatch/patchwatch/server"
)

// runFeeds lists each advisory source's freshness: when it was last tried
// and last succeeded, why it last failed, what it has stored, and how far
// its first backfill has come.
func runFeeds(ctx context.Context, env *Env, args []string) error {
	q, err := queryFlags(env, "feeds", args, nil)
	if err != nil {
		return err
	}
	defer q.close()
	if q.fs.NArg() > 0 {
		return usageError("feeds takes no arguments, not %q", q.fs.Arg(0))
	}
	var rows []server.FeedRow
	if q.remote != nil {
		err = q.remote.get(ctx, "/api/v1/feeds", nil, &rows)
	} else {
		statuses, serr := q.s.FeedStatuses(ctx)
		rows, err = server.FeedRows(statuses, env.now()), serr
	}
	if err != nil {
		return err
	}
	if q.format == "json" {
		return writeJSON(env.Stdout, rows)
	}
	return writeFeeds(env.Stdout, rows, env.now())
}

func writeFeeds(w io.Writer, rows []server.FeedRow, now time.Time) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "No feed has been polled yet: run patchwatch poll --once, or patchwatch serve.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tLAST ATTEMPT\tLAST SUCCESS\tADVISORIES\tNEWEST\tBACKFILL\tSTATUS")
	for _, r := range rows {
		status := "ok"
		switch {
		case r.LastError != "" && r.Stale:
			status = "STALE: " + oneLine(r.LastError, 120)
		case r.LastError != "":
			status = "failing: " + oneLine(r.LastError, 120)
		case r.Stale:
			status = "STALE"
		}
		backfill := r.Backfill
		if backfill == "" {
			backfill = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Feed, ago(r.LastAttempt, now), ago(r.LastSuccess, now),
			r.Advisories, day(r.NewestPublished), backfill, status)
	}
	return tw.Flush()
}

// ago renders a time as UTC with how long ago it was; "never" when zero.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	var rel string
	switch {
	case d < time.Minute:
		rel = "just now"
	case d < time.Hour:
		rel = fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		rel = fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		rel = fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
	return t.UTC().Format("2006-01-02 15:04") + " (" + rel + ")"
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}
