package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/buildinfo"
	"github.com/patchwatch/patchwatch/service"
)

// reportFormats and rejectReasons are every label value the intake
// counters take; they start at zero so that rate() and increase() work
// from the first scrape.
var (
	reportFormats = []string{"json", "vuls"}
	rejectReasons = []string{"auth", "malformed", "conflict", "too_large", "content_type", "rate_limited", "invalid", "wrong_host"}
)

type metrics struct {
	reports  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	polls    *prometheus.CounterVec
	hosts    prometheus.Gauge
	findings *prometheus.GaugeVec
	checks   *prometheus.GaugeVec

	buildInfo        *prometheus.GaugeVec
	feedLastSuccess  *prometheus.GaugeVec
	feedLastAttempt  *prometheus.GaugeVec
	feedAdvisories   *prometheus.GaugeVec
	feedNewest       *prometheus.GaugeVec
	feedPollDuration *prometheus.HistogramVec
	outboxPending    prometheus.Gauge
	outboxRetrying   prometheus.Gauge
	outboxFailed     prometheus.Gauge
	hostsStale       prometheus.Gauge
	// reevaluationDone and reevaluationTotal are the full re-evaluation's
	// progress: hosts done of the hosts it walks (the last pass's when
	// none runs).
	reevaluationDone  prometheus.Gauge
	reevaluationTotal prometheus.Gauge
	// compliance is the share of hosts that follow each guideline; its
	// history is Prometheus's.
	compliance *prometheus.GaugeVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patchwatch_reports_received_total", Help: "Host reports accepted and stored, by format.",
		}, []string{"format"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patchwatch_reports_rejected_total", Help: "Requests to the intake API that were refused, by reason.",
		}, []string{"reason"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patchwatch_polls_total", Help: "Feed poll rounds, by feed and result (ok, error).",
		}, []string{"feed", "result"}),
		hosts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "patchwatch_hosts", Help: "Hosts known.",
		}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "patchwatch_findings_open", Help: "Open findings, by urgency.",
		}, []string{"urgency"}),
		checks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "patchwatch_hosts_failing_check", Help: "Hosts that fail a security-guideline check (disabled checks not counted), by check.",
		}, []string{"check"}),
		compliance: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "patchwatch_guideline_compliance_ratio", Help: "Share (0 to 1) of the hosts with a verdict on a security-guideline check that follow it (disabled counts as following; unknown is left out), by check.",
		}, []string{"check"}),
	}
	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "patchwatch_build_info", Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "revision", "goversion"})
	m.feedLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "patchwatch_feed_last_success_timestamp_seconds", Help: "Unix time of the last successful poll round of each feed.",
	}, []string{"feed"})
	m.feedLastAttempt = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "patchwatch_feed_last_attempt_timestamp_seconds", Help: "Unix time of the last poll round of each feed, successful or not.",
	}, []string{"feed"})
	m.feedAdvisories = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "patchwatch_feed_advisories", Help: "Advisories stored from each feed (KEV: catalog entries).",
	}, []string{"feed"})
	m.feedNewest = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "patchwatch_feed_newest_advisory_timestamp_seconds", Help: "Publication time of the newest stored advisory of each feed.",
	}, []string{"feed"})
	m.feedPollDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "patchwatch_feed_poll_duration_seconds", Help: "Duration of each feed's poll rounds (the first, backfilling, round included).",
		Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600},
	}, []string{"feed"})
	m.outboxPending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "patchwatch_outbox_pending", Help: "Notifications waiting in the outbox to be sent or retried.",
	})
	m.outboxRetrying = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "patchwatch_outbox_retrying", Help: "Notifications in the outbox whose last attempt failed and that wait for a retry.",
	})
	m.outboxFailed = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "patchwatch_outbox_failed", Help: "Notifications whose delivery failed for good (see patchwatch notifications list --failed).",
	})
	m.hostsStale = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "patchwatch_hosts_stale", Help: "Hosts that have not reported for longer than server.stale_after.",
	})
	m.reevaluationDone = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "patchwatch_reevaluation_hosts_done", Help: "Hosts the running full re-evaluation has stored (the last pass's count when none runs).",
	})
	m.reevaluationTotal = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "patchwatch_reevaluation_hosts_total", Help: "Hosts the running (or last) full re-evaluation walks.",
	})
	info := buildinfo.Read()
	m.buildInfo.WithLabelValues(info.Version, info.Revision, info.GoVersion).Set(1)
	for _, f := range reportFormats {
		m.reports.WithLabelValues(f)
	}
	for _, r := range rejectReasons {
		m.rejected.WithLabelValues(r)
	}
	reg.MustRegister(m.reports, m.rejected, m.polls, m.hosts, m.findings, m.checks, m.compliance,
		m.buildInfo, m.feedLastSuccess, m.feedLastAttempt, m.feedAdvisories, m.feedNewest, m.feedPollDuration,
		m.outboxPending, m.outboxRetrying, m.outboxFailed, m.hostsStale, m.reevaluationDone, m.reevaluationTotal,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Metrics lets the rest of the process report what the API cannot see.
type Metrics struct{ m *metrics }

// Poll records one poll round of a feed.
func (m *Metrics) Poll(feed string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.m.polls.WithLabelValues(feed, result).Inc()
}

// FeedStatus records the end of a feed's poll round: its result counted in
// patchwatch_polls_total, its duration, and the feed gauges.
func (m *Metrics) FeedStatus(st patchwatch.FeedStatus, err error) {
	m.Poll(st.Feed, err)
	m.m.feedPollDuration.WithLabelValues(st.Feed).Observe(st.LastDuration.Seconds())
	m.Feeds([]patchwatch.FeedStatus{st})
}

// Feeds sets the feed gauges from stored statuses (at start, before the
// first round ends, and after each round).
func (m *Metrics) Feeds(statuses []patchwatch.FeedStatus) {
	for _, st := range statuses {
		setTime(m.m.feedLastSuccess.WithLabelValues(st.Feed), st.LastSuccess)
		setTime(m.m.feedLastAttempt.WithLabelValues(st.Feed), st.LastAttempt)
		setTime(m.m.feedNewest.WithLabelValues(st.Feed), st.NewestPublished)
		m.m.feedAdvisories.WithLabelValues(st.Feed).Set(float64(st.Advisories))
	}
}

// setTime sets a timestamp gauge; a zero time (never) is 0, which alert
// rules read as "long ago".
func setTime(g prometheus.Gauge, t time.Time) {
	if t.IsZero() {
		g.Set(0)
		return
	}
	g.Set(float64(t.UnixNano()) / 1e9)
}

// OutboxCounts is the outbox in numbers.
type OutboxCounts struct {
	// Pending deliveries wait to be sent, Retrying ones among them after a
	// failed attempt; Failed ones failed for good.
	Pending, Retrying, Failed int
}

// Outbox sets the outbox gauges.
func (m *Metrics) Outbox(c OutboxCounts) {
	m.m.outboxPending.Set(float64(c.Pending))
	m.m.outboxRetrying.Set(float64(c.Retrying))
	m.m.outboxFailed.Set(float64(c.Failed))
}

// Fleet sets the host, open-finding and failing-check gauges.
func (m *Metrics) Fleet(c service.FleetCounts) {
	m.m.hosts.Set(float64(c.Hosts))
	m.m.hostsStale.Set(float64(c.Stale))
	m.m.reevaluationDone.Set(float64(c.Reevaluation.HostsDone))
	m.m.reevaluationTotal.Set(float64(c.Reevaluation.HostsTotal))
	for _, u := range []patchwatch.Urgency{patchwatch.UrgencyLow, patchwatch.UrgencyMedium, patchwatch.UrgencyHigh, patchwatch.UrgencyCritical} {
		m.m.findings.WithLabelValues(u.String()).Set(float64(c.Open[u]))
	}
	for _, g := range patchwatch.Guidelines {
		m.m.checks.WithLabelValues(g.ID).Set(float64(c.FailingChecks[g.ID]))
		if n := c.JudgedChecks[g.ID]; n > 0 {
			m.m.compliance.WithLabelValues(g.ID).Set(float64(n-c.FailingChecks[g.ID]) / float64(n))
		} else {
			m.m.compliance.DeleteLabelValues(g.ID)
		}
	}
}
