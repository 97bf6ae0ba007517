package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/patchwatch/patchwatch/service"
)

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
	defer q.close()
	if *by != "host" && *by != "owner" && *by != "urgency" {
		return usageError("--by must be host, owner or urgency")
	}
	var rows []service.TimeToPatchRow
	if q.remote != nil {
		err = q.remote.get(ctx, "/api/v1/reports/time-to-patch", url.Values{"by": {*by}}, &rows)
	} else {
		rows, err = q.svc.TimeToPatch(ctx, *by)
	}
	if err != nil {
		return err
	}
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
