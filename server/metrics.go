package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
)

type metrics struct {
	reports  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	polls    *prometheus.CounterVec
	hosts    prometheus.Gauge
	findings *prometheus.GaugeVec
	checks   *prometheus.GaugeVec
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
	reg.MustRegister(m.reports, m.rejected, m.polls, m.hosts, m.findings, m.checks, m.compliance,
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

// Fleet sets the host, open-finding and failing-check gauges.
func (m *Metrics) Fleet(c service.FleetCounts) {
	m.m.hosts.Set(float64(c.Hosts))
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
