package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/store"
)

// Filter selects findings.
type Filter struct {
	Host, Owner, Advisory string
	MinSeverity           patchwatch.Severity
	MinUrgency            patchwatch.Urgency
	IncludeSilenced       bool
	OverdueOnly           bool
	// RebootRequired keeps only findings waiting for a reboot.
	RebootRequired bool
}

// keep reports whether f passes the filter's finding-level conditions.
func (flt *Filter) keep(f *patchwatch.Finding) bool {
	return f.Severity >= flt.MinSeverity && f.Urgency >= flt.MinUrgency &&
		(f.Silenced == nil || flt.IncludeSilenced) && (f.Overdue || !flt.OverdueOnly) &&
		(flt.Advisory == "" || strings.EqualFold(f.Advisory, flt.Advisory)) &&
		(!flt.RebootRequired || f.Status == patchwatch.StatusPendingReboot)
}

// OutstandingAll returns the findings that pass the filter, most urgent
// first, over one host, one owner's hosts or the fleet.
func (e *Service) OutstandingAll(ctx context.Context, flt Filter) ([]patchwatch.Finding, error) {
	findings := []patchwatch.Finding{}
	_, err := e.EachOutstanding(ctx, flt, Page{}, func(f *patchwatch.Finding) error {
		findings = append(findings, *f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return findings, nil
}

// Page selects one page of a listing: the items after Cursor (as returned
// with the previous page; "" for the first), at most Limit of them (0: all).
type Page struct {
	Cursor string
	Limit  int
}

// manyHosts is where walking one owner's host records beats reading
// those of an advisory's hosts.
const manyHosts = 512

// ErrBadCursor is returned for a cursor this service did not hand out.
var ErrBadCursor = errors.New("invalid cursor")

// EachOutstanding calls fn with each finding that passes the filter, most
// urgent first, from the stored findings: it sorts the host records'
// briefs and reads the details in that order a chunk at a time, so memory
// grows with the number of findings listed, not with their size. Each
// finding handed to fn is its own, never touched again (a listing may
// encode it later). It returns the cursor of the next page when the page
// was full.
func (e *Service) EachOutstanding(ctx context.Context, flt Filter, page Page, fn func(*patchwatch.Finding) error) (string, error) {
	var after *matcher.Order
	if page.Cursor != "" {
		k, err := decodeCursor(page.Cursor)
		if err != nil {
			return "", err
		}
		after = &k
	}
	v, l, keys, err := e.outstandingKeys(ctx, &flt, after)
	if err != nil {
		return "", err
	}
	next := ""
	if page.Limit > 0 && len(keys) > page.Limit {
		keys = keys[:page.Limit]
		next = encodeCursor(l.order(&keys[len(keys)-1]))
	}
	return next, e.eachDetail(ctx, v, l, &flt, keys, fn)
}

// OutstandingPage returns the findings that pass the filter from the
// offset-th (most urgent first), at most limit of them (0: all), and how
// many pass in all. The count comes from the host records' briefs; only
// the page's finding details are read.
func (e *Service) OutstandingPage(ctx context.Context, flt Filter, offset, limit int) ([]patchwatch.Finding, int, error) {
	v, l, keys, err := e.outstandingKeys(ctx, &flt, nil)
	if err != nil {
		return nil, 0, err
	}
	total := len(keys)
	keys = keys[min(max(offset, 0), total):]
	if limit > 0 {
		keys = keys[:min(limit, len(keys))]
	}
	findings := []patchwatch.Finding{}
	err = e.eachDetail(ctx, v, l, &flt, keys, func(f *patchwatch.Finding) error {
		findings = append(findings, *f)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return findings, total, nil
}

// outstandingKeys returns the briefs that pass the filter, after the
// cursor's key when there is one, in the order of SortFindings.
func (e *Service) outstandingKeys(ctx context.Context, flt *Filter, after *matcher.Order) (*view, *listing, []outKey, error) {
	v, err := e.newView(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	l := newListing()
	var keys []outKey
	collect := func(r *patchwatch.HostRecord) error {
		if flt.Owner != "" && !strings.EqualFold(r.Owner, flt.Owner) {
			return nil
		}
		host, listed := uint32(0), false
		for i := range r.Findings {
			b := &r.Findings[i]
			if !v.passes(flt, b, r) {
				continue
			}
			if !listed {
				host, listed = l.addHost(r), true
			}
			k := l.key(v, b, host)
			if after != nil && l.order(&k).Compare(*after) <= 0 {
				continue
			}
			keys = append(keys, k)
		}
		return nil
	}
	if err := e.eachCandidate(ctx, flt, collect); err != nil {
		return nil, nil, nil, err
	}
	l.sort(keys)
	return v, l, keys, nil
}

// eachCandidate calls fn with the host records that may hold findings
// passing the filter: one host, the hosts of one advisory, those with a
// high or critical finding, or the fleet (of one owner).
func (e *Service) eachCandidate(ctx context.Context, flt *Filter, fn func(*patchwatch.HostRecord) error) error {
	switch {
	case flt.Host != "":
		r, err := e.s.HostRecord(ctx, flt.Host)
		if err != nil {
			return err
		}
		return fn(&r)
	case flt.Advisory != "":
		hosts, err := e.s.HostsWithAdvisories(ctx, []string{flt.Advisory})
		if err == nil && len(hosts) == 0 && strings.ToUpper(flt.Advisory) != flt.Advisory {
			hosts, err = e.s.HostsWithAdvisories(ctx, []string{strings.ToUpper(flt.Advisory)})
		}
		if err != nil {
			return err
		}
		return e.eachRecordOf(ctx, flt.Owner, hosts, fn)
	case flt.Owner == "" && flt.MinUrgency >= patchwatch.UrgencyHigh:
		// Time raises only low findings (to medium): a finding high or
		// critical now was stored so, and the urgency index has its host.
		var urgencies []patchwatch.Urgency
		for u := flt.MinUrgency; u <= patchwatch.UrgencyCritical; u++ {
			urgencies = append(urgencies, u)
		}
		hosts, err := e.s.HostsWithUrgency(ctx, urgencies)
		if err != nil {
			return err
		}
		return e.eachRecordOf(ctx, "", hosts, fn)
	default:
		return e.s.EachHostRecord(ctx, flt.Owner, "", fn)
	}
}

// eachRecordOf calls fn with the records of the named hosts (in name
// order) that may be owner's, when set: read in one go, or, when there
// are many, through a walk of owner's records.
func (e *Service) eachRecordOf(ctx context.Context, owner string, hosts []string, fn func(*patchwatch.HostRecord) error) error {
	if owner == "" || len(hosts) <= manyHosts {
		return e.s.EachHostRecordOf(ctx, hosts, fn)
	}
	affected := make(map[string]bool, len(hosts))
	for _, name := range hosts {
		affected[name] = true
	}
	return e.s.EachHostRecord(ctx, owner, "", func(r *patchwatch.HostRecord) error {
		if !affected[r.Name] {
			return nil
		}
		return fn(r)
	})
}

// eachDetail reads the details of the listed findings a chunk at a time
// and calls fn with each that still passes the filter once decorated.
func (e *Service) eachDetail(ctx context.Context, v *view, l *listing, flt *Filter, keys []outKey, fn func(*patchwatch.Finding) error) error {
	const chunk = 512
	ask := make([]store.HostAdvisory, 0, min(chunk, len(keys)))
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		ask = ask[:0]
		for i := range part {
			ask = append(ask, store.HostAdvisory{Host: l.hosts[part[i].host].name, Advisory: l.advisories[part[i].advisory]})
		}
		details, err := e.s.FindingDetails(ctx, ask)
		if err != nil {
			return err
		}
		j := 0
		for i := range part {
			if j == len(details) {
				break
			}
			k, f := &part[i], &details[j]
			host := &l.hosts[k.host]
			if f.Host != host.name || f.Advisory != l.advisories[k.advisory] {
				continue // resolved since the briefs were read
			}
			j++
			v.decorateAt(f, k.firstSeenTime(), host.owner, host.checks)
			if !flt.keep(f) {
				continue
			}
			if err := fn(f); err != nil {
				return err
			}
		}
	}
	return nil
}

func encodeCursor(v any) string {
	data, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeCursor(s string) (matcher.Order, error) {
	var k matcher.Order
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(data, &k)
	}
	if err != nil {
		return k, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	return k, nil
}

// view is what decorating stored findings at read time needs: the rules,
// the time, and the silences in force.
type view struct {
	rules    patchwatch.UrgencyRules
	now      time.Time
	silences []patchwatch.Silence
}

func (e *Service) newView(ctx context.Context) (*view, error) {
	all, err := e.s.Silences(ctx)
	if err != nil {
		return nil, err
	}
	v := &view{rules: e.rules, now: e.now()}
	for _, sl := range all {
		if sl.Active(v.now) {
			v.silences = append(v.silences, sl)
		}
	}
	return v, nil
}

// silence returns the first silence in force that covers f.
func (v *view) silence(f *patchwatch.Finding, owner string) *patchwatch.Silence {
	for i := range v.silences {
		if v.silences[i].Matches(f, owner) {
			return &v.silences[i]
		}
	}
	return nil
}

// decorate completes a stored finding at read time; b is its brief (nil
// when unknown: first seen now).
func (v *view) decorate(f *patchwatch.Finding, b *patchwatch.FindingBrief, owner string, checks []patchwatch.CheckResult) {
	var firstSeen time.Time
	if b != nil {
		firstSeen = b.FirstSeen
	}
	v.decorateAt(f, firstSeen, owner, checks)
}

// decorateAt gives a stored finding its urgency and reasons at now (the
// fix's age counts), first-seen time, deadline, overdue flag and silence.
func (v *view) decorateAt(f *patchwatch.Finding, firstSeen time.Time, owner string, checks []patchwatch.CheckResult) {
	v.rules.AssessFinding(f, checks, v.now)
	f.FirstSeen = firstSeen
	if f.FirstSeen.IsZero() {
		f.FirstSeen = v.now
	}
	f.Deadline = v.rules.Deadline(f.Urgency, f.FirstSeen)
	f.Overdue = v.now.After(f.Deadline)
	f.Silenced = v.silence(f, owner)
}

// passes applies the filter to a brief, as keep does to a finding.
func (v *view) passes(flt *Filter, b *patchwatch.FindingBrief, r *patchwatch.HostRecord) bool {
	u := b.UrgencyAt(v.rules, v.now)
	if b.Severity < flt.MinSeverity || u < flt.MinUrgency ||
		flt.Advisory != "" && !strings.EqualFold(b.Advisory, flt.Advisory) ||
		flt.RebootRequired && b.Status != patchwatch.StatusPendingReboot {
		return false
	}
	if flt.OverdueOnly && !v.overdue(b, u) {
		return false
	}
	if !flt.IncludeSilenced && len(v.silences) > 0 {
		stub := b.Stub(r.Name)
		if v.silence(&stub, r.Owner) != nil {
			return false
		}
	}
	return true
}

func (v *view) overdue(b *patchwatch.FindingBrief, u patchwatch.Urgency) bool {
	first := b.FirstSeen
	if first.IsZero() {
		first = v.now
	}
	return v.now.After(v.rules.Deadline(u, first))
}

// HostSummary is one row of the fleet at a glance.
type HostSummary struct {
	Name          string `json:"name"`
	Owner         string `json:"owner,omitempty"`
	Release       string `json:"release"`
	Packages      int    `json:"packages"`
	Outstanding   int    `json:"outstanding"`
	Overdue       int    `json:"overdue"`
	PendingReboot int    `json:"pending_reboot"`
	// RebootRequired is set when a fix waits for a reboot or the
	// distribution's reboot flag is up; RebootRequiredSince says since when.
	RebootRequired      bool   `json:"reboot_required"`
	RebootRequiredSince string `json:"reboot_required_since,omitempty"`
	// RebootNote says how the host's live patches bear on a reboot it
	// needs now or after its next kernel update: it can wait for a
	// maintenance window, or coverage ended and it cannot.
	RebootNote string `json:"reboot_note,omitempty"`
	ReportedAt string `json:"reported_at"`
	// Stale is set when the host has not reported for longer than the
	// configured age.
	Stale      bool `json:"stale,omitempty"`
	SourceInfo bool `json:"source_info"`
	// FailingChecks are the security-guideline checks that fail and are
	// not disabled; Checks counts the checks the host reported.
	FailingChecks []string `json:"failing_checks,omitempty"`
	Checks        int      `json:"checks"`
	// CheckStatus maps each reported check to pass, fail, unknown or
	// disabled (a silence covers it).
	CheckStatus map[string]string `json:"check_status,omitempty"`
}

// HostFilter selects hosts.
type HostFilter struct {
	Owner          string
	RebootRequired bool
	// StaleAfter flags hosts whose last report is older; 0 disables.
	StaleAfter time.Duration
}

// HostSummaryPage returns, of the hosts that pass the filter and whose
// name contains nameContains (case-insensitive) and, with staleOnly, that
// are stale, at most limit from the offset-th, and how many there are in
// all. Only the rows returned are kept in memory.
func (e *Service) HostSummaryPage(ctx context.Context, flt HostFilter, nameContains string, staleOnly bool, offset, limit int) ([]HostSummary, int, error) {
	v, err := e.newView(ctx)
	if err != nil {
		return nil, 0, err
	}
	needle := strings.ToLower(nameContains)
	rows := []HostSummary{}
	total := 0
	err = e.s.EachHostRecord(ctx, flt.Owner, "", func(r *patchwatch.HostRecord) error {
		if needle != "" && !strings.Contains(strings.ToLower(r.Name), needle) {
			return nil
		}
		if staleOnly && (flt.StaleAfter <= 0 || v.now.Sub(r.ReportedAt) <= flt.StaleAfter) {
			return nil
		}
		if flt.RebootRequired && !v.rebootRequired(r) {
			return nil
		}
		if total >= offset && total < offset+limit {
			rows = append(rows, v.summary(r, flt.StaleAfter))
		}
		total++
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return rows, total, nil
}

// rebootRequired reports whether a host needs a reboot: its distribution
// says so, or a fix waits for one (a silenced finding aside).
func (v *view) rebootRequired(r *patchwatch.HostRecord) bool {
	if r.RebootRequired {
		return true
	}
	for i := range r.Findings {
		b := &r.Findings[i]
		if b.Status != patchwatch.StatusPendingReboot {
			continue
		}
		if len(v.silences) > 0 {
			stub := b.Stub(r.Name)
			if v.silence(&stub, r.Owner) != nil {
				continue
			}
		}
		return true
	}
	return false
}

// HostSummaries returns the hosts that pass the filter with their counts.
func (e *Service) HostSummaries(ctx context.Context, flt HostFilter) ([]HostSummary, error) {
	rows := []HostSummary{}
	_, err := e.EachHostSummary(ctx, flt, Page{}, func(row *HostSummary) error {
		rows = append(rows, *row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// EachHostSummary calls fn with each host that passes the filter, in name
// order, from the stored host records. With a page limit it stops after
// that many and returns the cursor of the next page (a host name).
func (e *Service) EachHostSummary(ctx context.Context, flt HostFilter, page Page, fn func(*HostSummary) error) (string, error) {
	v, err := e.newView(ctx)
	if err != nil {
		return "", err
	}
	n, last, next := 0, "", ""
	err = e.s.EachHostRecord(ctx, flt.Owner, page.Cursor, func(r *patchwatch.HostRecord) error {
		row := v.summary(r, flt.StaleAfter)
		if flt.RebootRequired && !row.RebootRequired {
			return nil
		}
		if page.Limit > 0 && n == page.Limit {
			next = last // a further row exists
			return store.ErrStop
		}
		n++
		last = row.Name
		return fn(&row)
	})
	return next, err
}

// summary is one host's row at read time.
func (v *view) summary(r *patchwatch.HostRecord, staleAfter time.Duration) HostSummary {
	row := HostSummary{Name: r.Name, Owner: r.Owner, Release: r.Release, Packages: r.Packages,
		ReportedAt: r.ReportedAt.Format(time.RFC3339), SourceInfo: r.SourceInfo, RebootRequired: v.rebootRequired(r),
		Stale:  staleAfter > 0 && v.now.Sub(r.ReportedAt) > staleAfter,
		Checks: len(r.Checks)}
	if len(r.Checks) > 0 {
		h := patchwatch.Host{Name: r.Name, Owner: r.Owner, Checks: r.Checks}
		checks := patchwatch.HostChecks(&h, v.silences, v.now)
		row.FailingChecks = patchwatch.FailingChecks(checks)
		row.CheckStatus = make(map[string]string, len(checks))
		for _, c := range checks {
			row.CheckStatus[c.ID] = c.Status
			if c.Silenced != nil {
				row.CheckStatus[c.ID] = "disabled"
			}
		}
	}
	for i := range r.Findings {
		b := &r.Findings[i]
		if len(v.silences) > 0 {
			stub := b.Stub(r.Name)
			if v.silence(&stub, r.Owner) != nil {
				continue
			}
		}
		if b.Status == patchwatch.StatusPendingReboot {
			row.PendingReboot++
		} else {
			row.Outstanding++
		}
		if v.overdue(b, b.UrgencyAt(v.rules, v.now)) {
			row.Overdue++
		}
	}
	row.RebootNote = patchwatch.RebootNote(r.Checks)
	if row.RebootRequired && !r.RebootSince.IsZero() {
		row.RebootRequiredSince = r.RebootSince.Format(time.RFC3339)
	}
	return row
}

// recordWalker is implemented by stores that can hand over the whole
// history of finding records one at a time.
type recordWalker interface {
	EachFindingRecord(ctx context.Context, fn func(*patchwatch.FindingRecord) error) error
}

// eachFindingRecord calls fn with every stored finding record, streamed
// where the store can.
func (e *Service) eachFindingRecord(ctx context.Context, fn func(*patchwatch.FindingRecord) error) error {
	if w, ok := e.s.(recordWalker); ok {
		return w.EachFindingRecord(ctx, fn)
	}
	records, err := e.s.FindingRecords(ctx, "")
	if err != nil {
		return err
	}
	for i := range records {
		if err := fn(&records[i]); err != nil {
			return err
		}
	}
	return nil
}

// TimeToPatchRow is one group of the time-to-patch report.
type TimeToPatchRow struct {
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

// TimeToPatch groups the finding records by host, owner or urgency and
// measures, for resolved ones, the days from first seen to resolved, and
// for open ones their age.
func (e *Service) TimeToPatch(ctx context.Context, by string) ([]TimeToPatchRow, error) {
	now := e.now()
	type acc struct {
		days []float64
		row  TimeToPatchRow
	}
	groups := map[string]*acc{}
	add := func(r *patchwatch.FindingRecord) error {
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
			a = &acc{row: TimeToPatchRow{Group: key}}
			groups[key] = a
		}
		if r.Open() {
			a.row.Open++
			a.row.OldestOpen = max(a.row.OldestOpen, now.Sub(r.FirstSeen).Hours()/24)
			if now.After(e.rules.Deadline(r.Urgency, r.FirstSeen)) {
				a.row.Overdue++
			}
			return nil
		}
		a.row.Resolved++
		a.days = append(a.days, r.ResolvedAt.Sub(r.FirstSeen).Hours()/24)
		return nil
	}
	if err := e.eachFindingRecord(ctx, add); err != nil {
		return nil, err
	}
	rows := make([]TimeToPatchRow, 0, len(groups))
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
	slices.SortFunc(rows, func(x, y TimeToPatchRow) int {
		if by == "urgency" {
			ux, _ := patchwatch.ParseUrgency(x.Group)
			uy, _ := patchwatch.ParseUrgency(y.Group)
			return int(uy) - int(ux)
		}
		return strings.Compare(x.Group, y.Group)
	})
	return rows, nil
}

// percentile of sorted values, nearest-rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// AdvisoryMatch is an advisory open on the hosts listed, with its CVEs
// and the number of those hosts.
type AdvisoryMatch struct {
	ID    string
	CVEs  []string
	Hosts int
}

// MatchAdvisories returns the advisories of the open findings, of one
// owner's hosts or the fleet (silenced ones left out, as in the default
// listing), whose ID or one of whose CVEs contains needle (any case):
// those open on most hosts first, then in the order of their most urgent
// finding. It reads the host records' briefs alone.
func (e *Service) MatchAdvisories(ctx context.Context, owner, needle string) ([]AdvisoryMatch, error) {
	return e.search(ctx, owner, needle, nil)
}

// Search returns, in one walk of the host records (of one owner when owner
// is set), the hosts whose name contains needle (any case), with their
// summaries, and the advisories MatchAdvisories finds.
func (e *Service) Search(ctx context.Context, owner, needle string, staleAfter time.Duration) ([]HostSummary, []AdvisoryMatch, error) {
	var hosts []HostSummary
	lower := strings.ToLower(needle)
	matches, err := e.search(ctx, owner, needle, func(v *view, r *patchwatch.HostRecord) {
		if strings.Contains(strings.ToLower(r.Name), lower) {
			hosts = append(hosts, v.summary(r, staleAfter))
		}
	})
	return hosts, matches, err
}

// search is MatchAdvisories that also hands each record it walks to also
// (when not nil).
func (e *Service) search(ctx context.Context, owner, needle string, also func(*view, *patchwatch.HostRecord)) ([]AdvisoryMatch, error) {
	v, err := e.newView(ctx)
	if err != nil {
		return nil, err
	}
	needle = strings.ToLower(needle)
	type hit struct {
		AdvisoryMatch
		first outKey
	}
	hits := map[string]*hit{}
	l := newListing()
	flt := Filter{Owner: owner}
	err = e.s.EachHostRecord(ctx, owner, "", func(r *patchwatch.HostRecord) error {
		if owner != "" && !strings.EqualFold(r.Owner, owner) {
			return nil
		}
		if also != nil {
			also(v, r)
		}
		host, listed := uint32(0), false
		for i := range r.Findings {
			b := &r.Findings[i]
			if !strings.Contains(strings.ToLower(b.Advisory), needle) && !slices.ContainsFunc(b.CVEs, func(cve string) bool {
				return strings.Contains(strings.ToLower(cve), needle)
			}) {
				continue
			}
			if !v.passes(&flt, b, r) {
				continue
			}
			if !listed {
				host, listed = l.addHost(r), true
			}
			k := l.key(v, b, host)
			h := hits[b.Advisory]
			if h == nil {
				h = &hit{AdvisoryMatch: AdvisoryMatch{ID: b.Advisory}, first: k}
				hits[b.Advisory] = h
			}
			if h.Hosts == 0 || l.compare(&k, &h.first) < 0 {
				h.first, h.CVEs = k, b.CVEs
			}
			h.Hosts++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := make([]*hit, 0, len(hits))
	for _, h := range hits {
		all = append(all, h)
	}
	slices.SortFunc(all, func(a, b *hit) int {
		if a.Hosts != b.Hosts {
			return b.Hosts - a.Hosts
		}
		return l.compare(&a.first, &b.first)
	})
	out := make([]AdvisoryMatch, len(all))
	for i, h := range all {
		out[i] = h.AdvisoryMatch
	}
	return out, nil
}
