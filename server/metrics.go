package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patchwatch/patchwatch"
)

type metrics struct {
	reports  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	polls    *prometheus.CounterVec
	hosts    prometheus.Gauge
	findings *prometheus.GaugeVec
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
	}
	reg.MustRegister(m.reports, m.rejected, m.polls, m.hosts, m.findings,
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

// Fleet sets the host and open-finding gauges.
func (m *Metrics) Fleet(hosts int, openByUrgency map[patchwatch.Urgency]int) {
	m.m.hosts.Set(float64(hosts))
	for _, u := range []patchwatch.Urgency{patchwatch.UrgencyLow, patchwatch.UrgencyMedium, patchwatch.UrgencyHigh, patchwatch.UrgencyCritical} {
		m.m.findings.WithLabelValues(u.String()).Set(float64(openByUrgency[u]))
	}
}
