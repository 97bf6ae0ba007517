package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
	"golang.org/x/sync/errgroup"
)

// Message is what one message says, before rendering.
type Message struct {
	Kind      string // alert, reminder, owner-digest, admin-digest, test
	Owner     string
	Project   string
	Subject   string
	Intro     string
	Hosts     []HostSection
	Resolved  []Resolved
	Admin     *AdminDigest
	Generated time.Time
	// LoginURL is a one-time console sign-in link, in owner alerts when
	// enabled.
	LoginURL string
}

// HostSection is one host in an owner's message.
type HostSection struct {
	Name        string
	Release     string
	Reboot      bool
	RebootSince string
	// RebootNote says how live patching bears on the reboot
	// (patchwatch.RebootNote): it can wait, or it cannot.
	RebootNote string
	Findings   []patchwatch.Finding
	// Commands are the finding commands, each once, in urgency order,
	// then the host's own check fixes (stale-libraries' restart line),
	// which come after the updates they complete.
	Commands []string
	// Checks are the security-guideline checks the host fails, with what
	// to do about them.
	Checks []CheckAdvice
	// CheckCommands are the failing checks' host-specific fixes, added to
	// Commands by finishSection.
	CheckCommands []string
	// URL is the host's page in the web console, when its address is set.
	URL string
}

// CheckAdvice is a failing check told in plain words: the guideline, the
// evidence the agent found, and the command that fixes it.
type CheckAdvice struct {
	ID, Title, Advice, Fix, Evidence string
	Items                            []string
}

func checkAdvice(c patchwatch.HostCheck, family patchwatch.Family) CheckAdvice {
	a := CheckAdvice{ID: c.ID, Title: c.ID, Evidence: c.Evidence, Items: c.Items}
	if g, ok := patchwatch.GuidelineByID(c.ID); ok {
		a.Title, a.Advice = g.Title, g.Advice
	}
	a.Fix = patchwatch.CheckFix(c.CheckResult, family)
	if len(a.Items) > 20 {
		a.Items = append(a.Items[:20:20], fmt.Sprintf("and %d more", len(c.Items)-20))
	}
	return a
}

// Resolved is a finding that was fixed.
type Resolved struct{ Host, Advisory string }

// ownerAlert builds the immediate message for an owner's grouped events,
// and the findings it tells about; nil when nothing qualifies.
func (n *Notifier) ownerAlert(ctx context.Context, owner string, events []patchwatch.NotifyEvent, now time.Time) (*Message, map[[2]string]time.Time, error) {
	hosts := map[string][]string{}
	checks := map[string][]string{}
	var resolved []Resolved
	for _, e := range events {
		switch e.Kind {
		case patchwatch.EventCheckFailed:
			checks[e.Host] = append(checks[e.Host], e.Advisory)
		case patchwatch.EventOpened, patchwatch.EventReopened, patchwatch.EventUrgencyRaised:
			if e.Urgency >= n.cfg.MinUrgency {
				hosts[e.Host] = append(hosts[e.Host], e.Advisory)
			}
		case patchwatch.EventPendingReboot:
			hosts[e.Host] = append(hosts[e.Host], e.Advisory)
		case patchwatch.EventResolved:
			if n.cfg.NotifyResolved {
				resolved = append(resolved, Resolved{e.Host, e.Advisory})
			}
		}
	}
	if len(hosts) == 0 && len(checks) == 0 && len(resolved) == 0 {
		return nil, nil, nil
	}
	msg, err := n.ownerMessage(ctx, "alert", owner, hosts, checks, resolved, now)
	if err != nil || msg == nil {
		return msg, nil, err
	}
	if n.cfg.LoginLink != nil && len(msg.Hosts) > 0 {
		// A link that cannot be made leaves the alert without one: the
		// alert matters more than the shortcut.
		if msg.LoginURL, err = n.cfg.LoginLink(ctx, owner); err != nil {
			n.log.Warn("make console sign-in link", "owner", owner, "err", err)
			msg.LoginURL = ""
		}
	}
	notified := map[[2]string]time.Time{}
	for _, h := range msg.Hosts {
		for _, f := range h.Findings {
			notified[[2]string{h.Name, f.Advisory}] = now
		}
	}
	return msg, notified, nil
}

// ownerMessage builds a message about the given advisories and checks on
// an owner's hosts, from their current findings and check results
// (silenced ones, and checks that pass by now, left out).
func (n *Notifier) ownerMessage(ctx context.Context, kind, owner string, hosts, checks map[string][]string, resolved []Resolved, now time.Time) (*Message, error) {
	msg := &Message{Kind: kind, Owner: owner, Resolved: resolved, Generated: now}
	names := make([]string, 0, len(hosts)+len(checks))
	for h := range hosts {
		names = append(names, h)
	}
	for h := range checks {
		if _, ok := hosts[h]; !ok {
			names = append(names, h)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		rec, err := n.fleet.HostRecord(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed since
		}
		if err != nil {
			return nil, err
		}
		h := patchwatch.Host{Name: rec.Name, Owner: rec.Owner, Project: rec.Project, Release: rec.Release, Family: rec.Family,
			SourceInfo: rec.SourceInfo, RebootRequired: rec.RebootRequired, ReportedAt: rec.ReportedAt, Checks: rec.Checks}
		msg.Project = h.Project
		findings, err := n.fleet.OutstandingOf(ctx, &rec)
		if err != nil {
			return nil, err
		}
		section := HostSection{Name: h.Name, Release: h.Release, Reboot: h.RebootRequired, RebootNote: patchwatch.RebootNote(h.Checks)}
		if n.cfg.ConsoleURL != "" {
			section.URL = strings.TrimSuffix(n.cfg.ConsoleURL, "/") + "/hosts/" + url.PathEscape(h.Name)
		}
		for _, f := range findings {
			if f.Silenced == nil && slices.Contains(hosts[name], f.Advisory) {
				section.Findings = append(section.Findings, f)
			}
		}
		if len(checks[name]) > 0 {
			results, err := n.fleet.Checks(ctx, &h)
			if err != nil {
				return nil, err
			}
			for _, c := range results {
				if c.Status == patchwatch.CheckFail && c.Silenced == nil && slices.Contains(checks[name], c.ID) {
					section.Checks = append(section.Checks, checkAdvice(c, h.Family))
					if c.Command != "" {
						section.CheckCommands = append(section.CheckCommands, c.Command)
					}
				}
			}
		}
		if len(section.Findings) > 0 || len(section.Checks) > 0 {
			msg.Hosts = append(msg.Hosts, finishSection(section))
		}
	}
	if len(msg.Hosts) == 0 && len(msg.Resolved) == 0 {
		return nil, nil
	}
	msg.Subject, msg.Intro = subject(msg)
	return msg, nil
}

func finishSection(s HostSection) HostSection {
	for _, f := range s.Findings {
		if f.Status == patchwatch.StatusPendingReboot || f.RebootHint {
			s.Reboot = true
		}
		if f.Command != "" && !slices.Contains(s.Commands, f.Command) {
			s.Commands = append(s.Commands, f.Command)
		}
	}
	for _, c := range s.CheckCommands {
		if !slices.Contains(s.Commands, c) {
			s.Commands = append(s.Commands, c)
		}
	}
	if !s.Reboot {
		s.RebootNote = ""
	}
	return s
}

func subject(m *Message) (string, string) {
	count, checks, top := 0, 0, patchwatch.Urgency(0)
	var hosts []string
	for _, h := range m.Hosts {
		hosts = append(hosts, h.Name)
		checks += len(h.Checks)
		for _, f := range h.Findings {
			count++
			top = max(top, f.Urgency)
		}
	}
	where := strings.Join(hosts, ", ")
	if len(hosts) > 3 {
		where = fmt.Sprintf("%s and %d more hosts", strings.Join(hosts[:3], ", "), len(hosts)-3)
	}
	switch m.Kind {
	case "reminder":
		return fmt.Sprintf("[patchwatch] reminder: %d open security updates (%s) on %s", count, top, where),
			"These security updates are still missing. Please install them before their deadline."
	case "owner-digest":
		if checks > 0 {
			return fmt.Sprintf("[patchwatch] your machines: %d outstanding security updates, %s to fix", count, settings(checks)),
				"Everything outstanding on your machines, most urgent first."
		}
		return fmt.Sprintf("[patchwatch] your machines: %d outstanding security updates", count),
			"Everything outstanding on your machines, most urgent first."
	case "test":
		return "[patchwatch] test message", "This is a test of patchwatch's notifications. Nothing needs doing."
	}
	if count == 0 && checks > 0 {
		return fmt.Sprintf("[patchwatch] %s to fix on %s", settings(checks), where),
			"Your machines do not follow some of the cloud's security guidelines. Here is what to change."
	}
	if count == 0 {
		return fmt.Sprintf("[patchwatch] %d security findings resolved", len(m.Resolved)), "These findings are resolved. Thank you."
	}
	if checks > 0 {
		return fmt.Sprintf("[patchwatch] %d %s security updates needed on %s, %s to fix", count, top, where, settings(checks)),
			"Your machines are missing security updates and do not follow some of the cloud's security guidelines. Here is what to install and change, and whether to reboot."
	}
	return fmt.Sprintf("[patchwatch] %d %s security updates needed on %s", count, top, where),
		"Your machines are missing security updates. Here is what to install, and whether to reboot."
}

func settings(n int) string {
	if n == 1 {
		return "1 security setting"
	}
	return fmt.Sprintf("%d security settings", n)
}

// OwnerDigest builds the digest of everything outstanding on an owner's hosts.
func (n *Notifier) OwnerDigest(ctx context.Context, owner string) (*Message, error) {
	findings, err := n.fleet.OutstandingAll(ctx, service.Filter{Owner: owner})
	if err != nil {
		return nil, err
	}
	hosts := map[string][]string{}
	for _, f := range findings {
		hosts[f.Host] = append(hosts[f.Host], f.Advisory)
	}
	rows, err := n.fleet.HostSummaries(ctx, service.HostFilter{Owner: owner})
	if err != nil {
		return nil, err
	}
	checks := map[string][]string{}
	for _, r := range rows {
		if len(r.FailingChecks) > 0 {
			checks[r.Name] = r.FailingChecks
		}
	}
	if len(hosts) == 0 && len(checks) == 0 {
		return nil, nil
	}
	return n.ownerMessage(ctx, "owner-digest", owner, hosts, checks, nil, n.now())
}

// AdminDigest is the fleet at a glance.
type AdminDigest struct {
	Hosts, Reporting int
	Stale            []string
	ByUrgency        []UrgencyCount
	OverdueByOwner   []OwnerCount
	Reboot           []RebootHost
	TopAdvisories    []AdvisoryCount
	// Attention lists the hosts that need attention most (attentionHosts
	// of them): by overdue findings, then critical, then high ones.
	Attention   []AttentionHost
	TimeToPatch []service.TimeToPatchRow
	// Change compares open findings with the previous digest.
	Change      []UrgencyCount
	Unreachable []string
	Chart       []ChartDay
	// Guidelines counts, per security guideline, the hosts that fail its
	// check (disabled checks left out), and per owner.
	Guidelines []GuidelineCount
	// ChecksReporting is how many hosts reported check results.
	ChecksReporting int
	// StaleFeeds are the advisory sources with no successful poll round
	// for more than patchwatch.FeedStaleAfter: findings may be missing.
	StaleFeeds []StaleFeed
	// Compliance is the share of hosts complying with each guideline over
	// the last digests' days (ComplianceDays).
	Compliance     []ComplianceRow
	ComplianceDays []string
}

// StaleFeed is an advisory source that has not succeeded for too long.
type StaleFeed struct {
	Feed string
	// LastSuccess is "never" or a UTC time; LastError the last failure.
	LastSuccess string
	LastError   string
}

// staleFeeds lists the feeds that have not succeeded for too long at now.
func staleFeeds(statuses []patchwatch.FeedStatus, now time.Time) []StaleFeed {
	var out []StaleFeed
	for _, st := range statuses {
		if !st.Stale(now, patchwatch.FeedStaleAfter) {
			continue
		}
		last := "never"
		if !st.LastSuccess.IsZero() {
			last = st.LastSuccess.UTC().Format("2006-01-02 15:04 UTC")
		}
		out = append(out, StaleFeed{Feed: st.Feed, LastSuccess: last, LastError: st.LastError})
	}
	return out
}

// GuidelineCount is how many hosts fail one guideline's check.
type GuidelineCount struct {
	ID, Title string
	Hosts     int
	Owners    []OwnerCount
}

// UrgencyCount is a count of findings of one urgency.
type UrgencyCount struct {
	Urgency string
	Count   int
}

// OwnerCount is a count of findings of one owner.
type OwnerCount struct {
	Owner string
	Count int
}

// attentionHosts is how many hosts the admin digest lists as needing
// attention most.
const attentionHosts = 20

// AttentionHost is a host that needs attention, with its counts of open
// findings that are overdue, critical and high.
type AttentionHost struct {
	Host, Owner             string
	Overdue, Critical, High int
}

// RebootHost is a host waiting for a reboot.
type RebootHost struct{ Host, Owner, Since, Note string }

// AdvisoryCount is an advisory and how many hosts it affects.
type AdvisoryCount struct {
	ID, Title string
	Hosts     int
}

// ChartDay is one day of the open-findings chart; Bars holds the width
// in percent of each urgency's bar for the HTML chart.
type ChartDay struct {
	Date   string
	Counts map[string]int
	Total  int
	Width  int
}

var urgencyOrder = []string{"critical", "high", "medium", "low"}

// snapshot is one day of open findings by urgency, and of compliance:
// per guideline, the percentage of the hosts reporting that check that
// pass it (disabled checks count as passing).
type snapshot struct {
	Date       string         `json:"date"`
	Counts     map[string]int `json:"counts"`
	Compliance map[string]int `json:"compliance,omitempty"`
}

// ComplianceRow is one guideline's share of complying hosts, over the
// digests' days (oldest first), in percent; -1 where no host reported it.
type ComplianceRow struct {
	ID, Title string
	Shares    []int
	// Now is the latest share.
	Now int
}

// BuildAdminDigest gathers the fleet's figures, and the snapshot history
// with today's added (for the chart and the change).
func (n *Notifier) BuildAdminDigest(ctx context.Context) (*Message, []byte, error) {
	return n.buildAdminDigest(ctx, true)
}

// BuildAdminDashboard is BuildAdminDigest without the time-to-patch
// report, which walks every finding record ever stored and which the
// console's dashboard does not show (it links to the report instead).
func (n *Notifier) BuildAdminDashboard(ctx context.Context) (*Message, []byte, error) {
	return n.buildAdminDigest(ctx, false)
}

func (n *Notifier) buildAdminDigest(ctx context.Context, withTimeToPatch bool) (*Message, []byte, error) {
	now := n.now()
	// The host records (summaries and figures, one walk) and the finding
	// records (time to patch) are read side by side: the digest costs the
	// longer of the two rather than their sum.
	var (
		rows        []service.HostSummary
		overview    service.FleetOverview
		timeToPatch []service.TimeToPatchRow
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		rows, overview, err = n.fleet.SummariesOverview(gctx, service.HostFilter{StaleAfter: 48 * time.Hour}, attentionHosts)
		return err
	})
	if withTimeToPatch {
		g.Go(func() (err error) {
			timeToPatch, err = n.fleet.TimeToPatch(gctx, "urgency")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	d := &AdminDigest{Hosts: len(rows), TimeToPatch: timeToPatch}
	for _, r := range rows {
		if r.Stale {
			d.Stale = append(d.Stale, r.Name)
		} else {
			d.Reporting++
		}
		if r.RebootRequired {
			d.Reboot = append(d.Reboot, RebootHost{Host: r.Name, Owner: r.Owner, Since: r.RebootRequiredSince, Note: r.RebootNote})
		}
	}
	d.Guidelines, d.ChecksReporting = guidelineCounts(rows)
	statuses, err := n.st.FeedStatuses(ctx)
	if err != nil {
		return nil, nil, err
	}
	d.StaleFeeds = staleFeeds(statuses, now)
	counts := map[string]int{}
	for u, c := range overview.ByUrgency {
		counts[u.String()] = c
	}
	for _, u := range urgencyOrder {
		d.ByUrgency = append(d.ByUrgency, UrgencyCount{u, counts[u]})
	}
	for o, c := range overview.OverdueByOwner {
		if o == "" {
			o = "(no owner)"
		}
		d.OverdueByOwner = append(d.OverdueByOwner, OwnerCount{o, c})
	}
	slices.SortFunc(d.OverdueByOwner, func(a, b OwnerCount) int { return cmp.Or(b.Count-a.Count, strings.Compare(a.Owner, b.Owner)) })
	for _, a := range overview.TopAdvisories[:min(10, len(overview.TopAdvisories))] {
		d.TopAdvisories = append(d.TopAdvisories, AdvisoryCount{ID: a.ID, Title: a.Title, Hosts: a.Hosts})
	}
	for _, h := range overview.Attention {
		owner := h.Owner
		if owner == "" {
			owner = "(no owner)"
		}
		d.Attention = append(d.Attention, AttentionHost{Host: h.Host, Owner: owner, Overdue: h.Overdue, Critical: h.Critical, High: h.High})
	}
	seenUnreachable := map[string]bool{}
	for _, r := range rows {
		if !n.Reachable(r.Owner, "") && !seenUnreachable[r.Owner] {
			seenUnreachable[r.Owner] = true
			name := r.Owner
			if name == "" {
				name = "(no owner) " + r.Name
			}
			d.Unreachable = append(d.Unreachable, name)
		}
	}
	slices.Sort(d.Unreachable)
	// History: the previous snapshots, today's replacing one of the same day.
	var history []snapshot
	if raw, err := n.st.NotifyMeta(ctx, "snapshots"); err == nil && raw != nil {
		_ = json.Unmarshal(raw, &history)
	}
	today := snapshot{Date: now.UTC().Format("2006-01-02"), Counts: counts, Compliance: compliance(rows)}
	if k := len(history); k > 0 && history[k-1].Date != today.Date {
		prev := history[k-1]
		for _, u := range urgencyOrder {
			d.Change = append(d.Change, UrgencyCount{u, counts[u] - prev.Counts[u]})
		}
	}
	history = slices.DeleteFunc(history, func(s snapshot) bool { return s.Date == today.Date })
	history = append(history, today)
	if len(history) > 30 {
		history = history[len(history)-30:]
	}
	peak := 1
	for _, s := range history {
		total := 0
		for _, c := range s.Counts {
			total += c
		}
		peak = max(peak, total)
	}
	for _, s := range history[max(0, len(history)-14):] {
		total := 0
		for _, c := range s.Counts {
			total += c
		}
		d.Chart = append(d.Chart, ChartDay{Date: s.Date, Counts: s.Counts, Total: total, Width: total * 100 / peak})
	}
	d.ComplianceDays, d.Compliance = complianceRows(history[max(0, len(history)-14):])
	raw, _ := json.Marshal(history)
	open := 0
	for _, c := range counts {
		open += c
	}
	subject := fmt.Sprintf("[patchwatch] fleet digest: %d hosts, %d open findings, %d overdue", d.Hosts, open, sumOwners(d.OverdueByOwner))
	if k := len(d.StaleFeeds); k > 0 {
		subject += fmt.Sprintf("; %d stale feeds", k)
	}
	msg := &Message{Kind: "admin-digest", Admin: d, Generated: now, Subject: subject, Intro: "The fleet at a glance."}
	return msg, raw, nil
}

// guidelineCounts counts failing hosts per guideline and owner, in the
// guidelines' order, leaving out guidelines that no host fails.
func guidelineCounts(rows []service.HostSummary) ([]GuidelineCount, int) {
	reporting := 0
	byOwner := map[string]map[string]int{}
	for _, r := range rows {
		if r.Checks > 0 {
			reporting++
		}
		owner := r.Owner
		if owner == "" {
			owner = "(no owner)"
		}
		for _, id := range r.FailingChecks {
			if byOwner[id] == nil {
				byOwner[id] = map[string]int{}
			}
			byOwner[id][owner]++
		}
	}
	var out []GuidelineCount
	for _, g := range patchwatch.Guidelines {
		owners := byOwner[g.ID]
		if len(owners) == 0 {
			continue
		}
		gc := GuidelineCount{ID: g.ID, Title: g.Title}
		for o, c := range owners {
			gc.Hosts += c
			gc.Owners = append(gc.Owners, OwnerCount{o, c})
		}
		slices.SortFunc(gc.Owners, func(a, b OwnerCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Owner, b.Owner)
		})
		out = append(out, gc)
	}
	return out, reporting
}

// compliance returns, per guideline, the percentage of the hosts that
// report its check and do not fail it.
func compliance(rows []service.HostSummary) map[string]int {
	reporting, failing := map[string]int{}, map[string]int{}
	for _, r := range rows {
		if r.Stale {
			continue
		}
		for id, status := range r.CheckStatus {
			if status == patchwatch.CheckUnknown {
				continue // could not tell: neither complies nor fails
			}
			reporting[id]++
			if status == patchwatch.CheckFail {
				failing[id]++
			}
		}
	}
	out := map[string]int{}
	for id, n := range reporting {
		out[id] = (n - failing[id]) * 100 / n
	}
	return out
}

// complianceRows turns the snapshots into one row per guideline.
func complianceRows(history []snapshot) ([]string, []ComplianceRow) {
	var days []string
	for _, s := range history {
		days = append(days, s.Date)
	}
	var rows []ComplianceRow
	for _, g := range patchwatch.Guidelines {
		row := ComplianceRow{ID: g.ID, Title: g.Title, Now: -1}
		seen := false
		for _, s := range history {
			share, ok := s.Compliance[g.ID]
			if !ok {
				share = -1
			}
			seen = seen || ok
			row.Shares = append(row.Shares, share)
			row.Now = share
		}
		if seen {
			rows = append(rows, row)
		}
	}
	return days, rows
}

func sumOwners(cs []OwnerCount) int {
	n := 0
	for _, c := range cs {
		n += c.Count
	}
	return n
}

// digests queues the owner and admin digests when they are due.
func (n *Notifier) digests(ctx context.Context, now time.Time, batch *store.NotifyBatch) error {
	for _, kind := range []string{"owner-digest", "admin-digest"} {
		every := n.cfg.OwnerDigest
		if kind == "admin-digest" {
			every = n.cfg.AdminDigest
		}
		if every == "" {
			continue
		}
		key := "next:" + kind
		raw, err := n.st.NotifyMeta(ctx, key)
		if err != nil {
			return err
		}
		var next time.Time
		if raw != nil {
			next.UnmarshalText(raw)
		}
		if next.IsZero() {
			next = nextDigest(now, every, n.cfg.DigestHour)
			batch.Meta[key], _ = next.MarshalText()
			continue
		}
		if now.Before(next) {
			continue
		}
		following, _ := nextDigest(now, every, n.cfg.DigestHour).MarshalText()
		batch.Meta[key] = following
		if err := n.queueDigest(ctx, kind, now, batch); err != nil {
			return err
		}
	}
	return nil
}

func (n *Notifier) queueDigest(ctx context.Context, kind string, now time.Time, batch *store.NotifyBatch) error {
	if kind == "admin-digest" {
		msg, history, err := n.BuildAdminDigest(ctx)
		if err != nil {
			return err
		}
		batch.Meta["snapshots"] = history
		batch.Deliveries = append(batch.Deliveries, n.adminDeliveries(n.render(msg), now)...)
		return nil
	}
	rows, err := n.fleet.HostSummaries(ctx, service.HostFilter{})
	if err != nil {
		return err
	}
	owners := map[string]bool{}
	for _, r := range rows {
		if r.Outstanding > 0 || r.PendingReboot > 0 || len(r.FailingChecks) > 0 {
			owners[r.Owner] = true
		}
	}
	for owner := range owners {
		msg, err := n.OwnerDigest(ctx, owner)
		if err != nil {
			return err
		}
		if msg == nil {
			continue
		}
		if !n.Reachable(owner, msg.Project) {
			continue
		}
		batch.Deliveries = append(batch.Deliveries, n.deliveries("owner-digest", owner, msg.Project, n.render(msg), now)...)
	}
	return nil
}

// adminDeliveries addresses a rendered message to the admins.
func (n *Notifier) adminDeliveries(m rendered, now time.Time) []patchwatch.Delivery {
	var out []patchwatch.Delivery
	add := func(channel, target string) {
		if target == "" || n.senders[channel] == nil {
			return
		}
		d := patchwatch.Delivery{ID: newID("msg"), Kind: "admin-digest", Channel: channel, Target: target, Subject: m.Subject, Text: m.Text, CreatedAt: now, NextAt: now}
		if channel == "email" {
			d.HTML = m.HTML
		} else {
			d.Blocks = m.Blocks
		}
		out = append(out, d)
	}
	for _, e := range strings.Split(n.cfg.Admins.Email, ",") {
		add("email", strings.TrimSpace(e))
	}
	add("slack", n.cfg.Admins.SlackChannel)
	if n.cfg.Admins.SlackUserEmail != "" {
		add("slack", "user:"+n.cfg.Admins.SlackUserEmail)
	}
	return out
}

// nextDigest returns the next digest time after now: daily at hour UTC,
// or weekly on Mondays.
func nextDigest(now time.Time, every string, hour int) time.Time {
	t := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, time.UTC)
	for !t.After(now) || every == "weekly" && t.Weekday() != time.Monday {
		t = t.Add(24 * time.Hour)
	}
	return t
}
