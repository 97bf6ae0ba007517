package console

import (
	"fmt"

	"github.com/patchwatch/patchwatch/notify"
)

// chart is an SVG bar chart of open findings per day, stacked by urgency,
// laid out on the server so that it needs no script.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Ticks         []chartTick
	Legend        []chartLegend
	// Summary says in words what the chart shows, for screen readers.
	Summary string
}

type chartBar struct {
	X, Width, LabelX, LabelY int
	Label, Title             string
	Segments                 []chartSegment
}

type chartSegment struct {
	Y, Height int
	Fill      string
	Title     string
}

type chartTick struct {
	Y     int
	Label string
}

type chartLegend struct {
	X     int
	Fill  string
	Label string
}

// urgencyFills are the chart's colours, the notifier's palette.
var urgencyFills = map[string]string{"critical": "#b00", "high": "#d60", "medium": "#a80", "low": "#777"}

const (
	chartWidth  = 640
	chartHeight = 240
	chartLeft   = 44 // room for the axis labels
	chartTop    = 28 // room for the legend
	chartBottom = 24 // room for the dates
)

// openFindingsChart draws the digest's daily snapshots (oldest first).
func openFindingsChart(days []notify.ChartDay) chart {
	ch := chart{Width: chartWidth, Height: chartHeight}
	for i, u := range urgencyOrder {
		ch.Legend = append(ch.Legend, chartLegend{X: chartLeft + i*100, Fill: urgencyFills[u], Label: u})
	}
	peak := 1
	for _, d := range days {
		peak = max(peak, d.Total)
	}
	peak = niceCeiling(peak)
	plot := chartHeight - chartTop - chartBottom
	for i := 0; i <= 4; i++ {
		value := peak * i / 4
		ch.Ticks = append(ch.Ticks, chartTick{Y: chartTop + plot - plot*i/4, Label: fmt.Sprint(value)})
	}
	if len(days) == 0 {
		ch.Summary = "No snapshots yet."
		return ch
	}
	slot := (chartWidth - chartLeft) / max(len(days), 7)
	barWidth := max(slot*3/4, 2)
	for i, d := range days {
		x := chartLeft + i*slot + (slot-barWidth)/2
		b := chartBar{X: x, Width: barWidth, LabelX: x + barWidth/2, LabelY: chartHeight - 8,
			Title: fmt.Sprintf("%s: %d open", d.Date, d.Total)}
		if len(d.Date) == 10 && (i%max(1, len(days)/7) == 0 || i == len(days)-1) {
			b.Label = d.Date[5:]
		}
		y := chartTop + plot
		for _, u := range urgencyOrder {
			n := d.Counts[u]
			if n == 0 {
				continue
			}
			hgt := max(plot*n/peak, 1)
			y -= hgt
			b.Segments = append(b.Segments, chartSegment{Y: y, Height: hgt, Fill: urgencyFills[u], Title: fmt.Sprintf("%s %s: %d", d.Date, u, n)})
		}
		ch.Bars = append(ch.Bars, b)
	}
	last := days[len(days)-1]
	ch.Summary = fmt.Sprintf("Open findings on %d days; on %s: %d (critical %d, high %d, medium %d, low %d).", len(days), last.Date, last.Total,
		last.Counts["critical"], last.Counts["high"], last.Counts["medium"], last.Counts["low"])
	return ch
}

var urgencyOrder = []string{"critical", "high", "medium", "low"}

// niceCeiling rounds a chart's top up to 1, 2 or 5 times a power of ten,
// so the axis reads in round numbers.
func niceCeiling(n int) int {
	for step := 1; ; step *= 10 {
		for _, m := range []int{1, 2, 5} {
			if step*m*4 >= n && (step*m*4)%4 == 0 {
				return step * m * 4
			}
		}
	}
}
