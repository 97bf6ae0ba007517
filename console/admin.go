package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
)

// dashboardPage is the fleet at a glance.
type dashboardPage struct {
	Digest *notify.AdminDigest
	Chart  chart
	Open   int
	Feeds  []feedView
	// Queued and Failed count the outbox; FailedRecent shows the newest failures.
	Queued, Failed int
	FailedRecent   []patchwatch.Delivery
	Compliance     []complianceRow
	Reboot         []notify.RebootHost
	MoreReboot     int
}

type feedView struct {
	patchwatch.FeedStatus
	Stale bool
}

// complianceRow is one guideline's share of passing hosts.
type complianceRow struct {
	ID, Title       string
	Failing, Passes int
	Percent         int
}

// dashboard shows the admin digest's figures (the notifier's query, over
// the service's), the feeds' freshness and the outbox.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, v *viewer) {
	msg, _, err := c.fleet.BuildAdminDashboard(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d := msg.Admin
	data := dashboardPage{Digest: d, Chart: openFindingsChart(d.Chart)}
	for _, u := range d.ByUrgency {
		data.Open += u.Count
	}
	data.Reboot = d.Reboot[:min(len(d.Reboot), 10)]
	data.MoreReboot = len(d.Reboot) - len(data.Reboot)
	failing := map[string]int{}
	for _, g := range d.Guidelines {
		failing[g.ID] = g.Hosts
	}
	if d.ChecksReporting > 0 {
		for _, g := range patchwatch.Guidelines {
			n := failing[g.ID]
			data.Compliance = append(data.Compliance, complianceRow{ID: g.ID, Title: g.Title, Failing: n, Passes: d.ChecksReporting - n,
				Percent: (d.ChecksReporting - n) * 100 / d.ChecksReporting})
		}
	}
	feeds, err := c.ops.FeedStatuses(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	now := c.now()
	for _, f := range feeds {
		data.Feeds = append(data.Feeds, feedView{FeedStatus: f, Stale: f.Stale(now, c.opts.FeedMaxAge)})
	}
	deliveries, err := c.ops.Deliveries(r.Context())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, dl := range deliveries {
		if dl.Failed {
			data.Failed++
			data.FailedRecent = append(data.FailedRecent, dl)
		} else {
			data.Queued++
		}
	}
	slices.SortFunc(data.FailedRecent, func(a, b patchwatch.Delivery) int { return b.CreatedAt.Compare(a.CreatedAt) })
	data.FailedRecent = data.FailedRecent[:min(len(data.FailedRecent), 5)]
	c.render(w, r, http.StatusOK, "dashboard", v, "Fleet", data)
}

// findingListPage is a filtered finding list.
type findingListPage struct {
	Filter   url.Values
	Findings []patchwatch.Finding
	Pager    pager
	IsAdmin  bool
}

// findingList answers GET /api/v1/findings' query as a page: the same
// parameters, the same filter, the same query.
func (c *Console) findingList(w http.ResponseWriter, r *http.Request, v *viewer) {
	q := r.URL.Query()
	owner := v.scope()
	if v.Admin() {
		owner = q.Get("owner")
	} else if o := q.Get("owner"); o != "" && !strings.EqualFold(o, owner) {
		c.render(w, r, http.StatusForbidden, "message", v, "Forbidden", message{"Owners see only their own hosts."})
		return
	}
	flt, err := server.FindingFilter(q, owner)
	if err != nil {
		c.render(w, r, http.StatusBadRequest, "message", v, "Bad filter", message{err.Error()})
		return
	}
	if flt.Host != "" {
		if h, err := c.queries.Host(r.Context(), flt.Host); err != nil || !v.mayView(h.Owner) {
			c.notFound(w, r)
			return
		}
	}
	page, p, err := c.outstandingPage(r, flt, apiURL("/api/v1/findings", q,
		"host", "owner", "advisory", "severity", "urgency", "reboot_required", "include_silenced", "overdue"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, http.StatusOK, "findings", v, "Findings", findingListPage{Filter: q, Findings: page, Pager: p, IsAdmin: v.Admin()})
}

// advisoryPage is one advisory with the hosts it affects.
type advisoryPage struct {
	Advisory patchwatch.Advisory
	Affected []patchwatch.Finding
	Pager    pager
}

// advisoryPage shows an advisory and, as GET /api/v1/advisories/ID, the
// hosts it affects among those the viewer may see.
func (c *Console) advisoryPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	a, err := c.queries.Advisory(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	page, p, err := c.outstandingPage(r, service.Filter{Advisory: a.ID, Owner: v.scope()}, "/api/v1/advisories/"+url.PathEscape(a.ID))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, http.StatusOK, "advisory", v, a.ID, advisoryPage{Advisory: a, Affected: page, Pager: p})
}

// ownerPage is one owner's hosts, for admins.
type ownerPage struct {
	Owner             string
	Rows              []hostRow
	Pager             pager
	Overdue, Outstand int
	Reboot            int
	// ShowOwner is false: every row is this owner's.
	ShowOwner bool
}

func (c *Console) ownerPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	owner := r.PathValue("email")
	rows, err := c.queries.HostSummaries(r.Context(), service.HostFilter{Owner: owner, StaleAfter: c.opts.StaleAfter})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if len(rows) == 0 {
		c.notFound(w, r)
		return
	}
	data := ownerPage{Owner: owner}
	for _, h := range rows {
		data.Overdue += h.Overdue
		data.Outstand += h.Outstanding
		if h.RebootRequired {
			data.Reboot++
		}
	}
	page, p := paginate(r, rows, c.opts.PageSize, "/api/v1/hosts?owner="+url.QueryEscape(owner))
	data.Pager = p
	if data.Rows, err = c.withUrgencies(r, page); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, http.StatusOK, "owner", v, owner, data)
}

// searchPage holds what a search found.
type searchPage struct {
	Query      string
	Hosts      []service.HostSummary
	MoreHosts  int
	Advisories []advisoryHit
	Pager      pager
}

// advisoryHit is an advisory found by its ID or one of its CVEs, with the
// visible hosts it affects.
type advisoryHit struct {
	ID, Title string
	CVEs      []string
	Hosts     int
}

// search finds hosts by name, advisories by ID and both by CVE, among
// what the viewer may see.
func (c *Console) search(w http.ResponseWriter, r *http.Request, v *viewer) {
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	data := searchPage{Query: query}
	if query == "" {
		c.render(w, r, http.StatusOK, "search", v, "Search", data)
		return
	}
	hosts, matches, err := c.queries.Search(r.Context(), v.scope(), query, c.opts.StaleAfter)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	data.Hosts = hosts
	data.MoreHosts = max(0, len(data.Hosts)-c.opts.PageSize)
	data.Hosts = data.Hosts[:min(len(data.Hosts), c.opts.PageSize)]
	all := make([]advisoryHit, 0, len(matches))
	for _, m := range matches {
		all = append(all, advisoryHit{ID: m.ID, CVEs: m.CVEs, Hosts: m.Hosts})
	}
	// An advisory that affects no visible host is still found by its ID.
	if len(all) == 0 {
		if a, err := c.queries.Advisory(r.Context(), query); err == nil {
			all = append(all, advisoryHit{ID: a.ID, Title: a.Title, CVEs: a.CVEs})
		} else if !errors.Is(err, store.ErrNotFound) {
			c.fail(w, r, v, err)
			return
		}
	}
	// The API has no search: each advisory row links to its own JSON.
	data.Advisories, data.Pager = paginate(r, all, c.opts.PageSize, "")
	// Only the shown rows need their titles.
	for i := range data.Advisories {
		h := &data.Advisories[i]
		if h.Title != "" {
			continue
		}
		a, err := c.queries.Advisory(r.Context(), h.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			c.fail(w, r, v, err)
			return
		}
		h.Title = a.Title
	}
	if len(data.Hosts) == 1 && len(all) == 0 {
		http.Redirect(w, r, "/hosts/"+url.PathEscape(data.Hosts[0].Name), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "search", v, "Search", data)
}

// outstandingPage reads the page of the filter's findings that the
// request's page parameter names (a page past the end shows the last one),
// decoding the details of that page alone.
func (c *Console) outstandingPage(r *http.Request, flt service.Filter, jsonURL string) ([]patchwatch.Finding, pager, error) {
	size := c.opts.PageSize
	asked, _ := strconv.Atoi(r.URL.Query().Get("page"))
	asked = max(asked, 1)
	fs, total, err := c.queries.OutstandingPage(r.Context(), flt, (asked-1)*size, size)
	if err != nil {
		return nil, pager{}, err
	}
	p := pageOf(r, total, size, jsonURL)
	if p.Page != asked && total > 0 {
		if fs, total, err = c.queries.OutstandingPage(r.Context(), flt, (p.Page-1)*size, size); err != nil {
			return nil, pager{}, err
		}
		p = pageOf(r, total, size, jsonURL)
	}
	return fs, p, nil
}
