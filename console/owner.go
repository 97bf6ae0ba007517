package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
)

// home is the owner's host list, or the admin's fleet dashboard.
func (c *Console) home(w http.ResponseWriter, r *http.Request, v *viewer) {
	if v.Admin() {
		c.dashboard(w, r, v)
		return
	}
	c.hostList(w, r, v)
}

// hostRow is one line of a host list: the service's summary with its
// open findings counted by urgency.
type hostRow struct {
	service.HostSummary
	ByUrgency []urgencyCount
}

type urgencyCount struct {
	Urgency string
	Count   int
}

var urgencies = []patchwatch.Urgency{patchwatch.UrgencyCritical, patchwatch.UrgencyHigh, patchwatch.UrgencyMedium, patchwatch.UrgencyLow}

// hostListPage is a host list's data.
type hostListPage struct {
	Owner, Query       string
	Reboot, Stale      bool
	Rows               []hostRow
	Pager              pager
	ShowOwner, IsAdmin bool
}

// hostList lists the hosts the viewer may see (an admin may filter by
// owner, as GET /api/v1/hosts does), with reboot and stale filters and a
// name search.
func (c *Console) hostList(w http.ResponseWriter, r *http.Request, v *viewer) {
	q := r.URL.Query()
	owner := v.scope()
	if v.Admin() {
		owner = q.Get("owner")
	}
	reboot, _ := strconv.ParseBool(q.Get("reboot_required"))
	stale, _ := strconv.ParseBool(q.Get("stale"))
	name := strings.TrimSpace(q.Get("q"))
	flt := service.HostFilter{Owner: owner, RebootRequired: reboot, StaleAfter: c.opts.StaleAfter}
	// Read a page at a time: the fleet's rows are never all held.
	size := c.opts.PageSize
	asked, _ := strconv.Atoi(q.Get("page"))
	asked = max(asked, 1)
	pageRows, total, err := c.queries.HostSummaryPage(r.Context(), flt, name, stale, (asked-1)*size, size)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	jsonURL := apiURL("/api/v1/hosts", q, "owner", "reboot_required")
	p := pageOf(r, total, size, jsonURL)
	if p.Page != asked && total > 0 {
		// Past the end: the last page.
		if pageRows, total, err = c.queries.HostSummaryPage(r.Context(), flt, name, stale, (p.Page-1)*size, size); err != nil {
			c.fail(w, r, v, err)
			return
		}
		p = pageOf(r, total, size, jsonURL)
	}
	data := hostListPage{Owner: owner, Query: name, Reboot: reboot, Stale: stale, Pager: p, ShowOwner: v.Admin(), IsAdmin: v.Admin()}
	if data.Rows, err = c.withUrgencies(r, pageRows); err != nil {
		c.fail(w, r, v, err)
		return
	}
	title := "My hosts"
	if v.Admin() {
		title = "Hosts"
	}
	c.render(w, r, http.StatusOK, "hosts", v, title, data)
}

// withUrgencies counts the open findings of each row's host by urgency,
// one host query per row of the page.
func (c *Console) withUrgencies(r *http.Request, rows []service.HostSummary) ([]hostRow, error) {
	out := make([]hostRow, 0, len(rows))
	for _, h := range rows {
		fs, err := c.queries.OutstandingAll(r.Context(), service.Filter{Host: h.Name})
		if err != nil {
			return nil, err
		}
		out = append(out, hostRow{HostSummary: h, ByUrgency: countUrgencies(fs)})
	}
	return out, nil
}

func countUrgencies(fs []patchwatch.Finding) []urgencyCount {
	counts := map[patchwatch.Urgency]int{}
	for _, f := range fs {
		if f.Status != patchwatch.StatusPendingReboot {
			counts[f.Urgency]++
		}
	}
	var out []urgencyCount
	for _, u := range urgencies {
		out = append(out, urgencyCount{u.String(), counts[u]})
	}
	return out
}

// hostPage is one host's data.
type hostPage struct {
	Host patchwatch.Host
	// Stale is set when the host has not reported for longer than the
	// configured age.
	Stale    bool
	Open     []patchwatch.Finding
	Silenced []patchwatch.Finding
	Checks   []checkView
	Notice   string
	Problem  string
	// Reboot is set when a fix waits for a reboot or the host says so.
	Reboot      bool
	RebootSince string
	MayFleet    bool
	JSON        string
}

// checkView is a guideline check with what to do about it.
type checkView struct {
	patchwatch.HostCheck
	Advice, Fix string
}

func (c *Console) hostPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	notice := ""
	if id := r.URL.Query().Get("silenced"); id != "" {
		notice = "Silence " + id + " recorded: what it covers is hidden until it expires."
	}
	if id := r.URL.Query().Get("removed"); id != "" {
		notice = "Silence " + id + " removed: what it covered is shown again."
	}
	c.showHost(w, r, v, http.StatusOK, notice, "")
}

// showHost renders a host page the viewer may see, 404 otherwise, as the
// API answers for another owner's host.
func (c *Console) showHost(w http.ResponseWriter, r *http.Request, v *viewer, status int, notice, problem string) {
	name := r.PathValue("name")
	h, err := c.queries.Host(r.Context(), name)
	if err != nil || !v.mayView(h.Owner) {
		c.notFound(w, r)
		return
	}
	findings, err := c.queries.OutstandingAll(r.Context(), service.Filter{Host: h.Name, IncludeSilenced: true})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	checks, err := c.queries.Checks(r.Context(), &h)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	data := hostPage{Host: h, Notice: notice, Problem: problem, MayFleet: v.Admin(), Reboot: h.RebootRequired,
		Stale: c.now().Sub(h.ReportedAt) > c.opts.StaleAfter,
		JSON:  "/api/v1/findings?host=" + url.QueryEscape(h.Name)}
	for _, f := range findings {
		if f.Silenced != nil {
			data.Silenced = append(data.Silenced, f)
			continue
		}
		data.Open = append(data.Open, f)
		data.Reboot = data.Reboot || f.Status == patchwatch.StatusPendingReboot
	}
	if data.Reboot {
		since, err := c.queries.RebootRequiredSince(r.Context(), h.Name)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		if !since.IsZero() {
			data.RebootSince = since.Format(time.RFC3339)
		}
	}
	family := patchwatch.ReleaseFamily(h.Release)
	for _, chk := range checks {
		cv := checkView{HostCheck: chk}
		if g, ok := patchwatch.GuidelineByID(chk.ID); ok {
			cv.Advice, cv.Fix = g.Advice, g.Fix[""]
			if fix, ok := g.Fix[string(family)]; ok {
				cv.Fix = fix
			}
		}
		data.Checks = append(data.Checks, cv)
	}
	// Failing checks first, then unknown, then passing.
	order := map[string]int{"fail": 0, "unknown": 1, "pass": 2}
	slices.SortStableFunc(data.Checks, func(a, b checkView) int { return order[a.Status] - order[b.Status] })
	c.render(w, r, status, "host", v, h.Name, data)
}

// silence adds a silence from a host page's form, through the API's own
// rules (server.AddSilence), and comes back to the host page.
func (c *Console) silence(w http.ResponseWriter, r *http.Request, v *viewer) {
	name := r.PathValue("name")
	h, err := c.queries.Host(r.Context(), name)
	if err != nil || !v.mayView(h.Owner) {
		c.notFound(w, r)
		return
	}
	f := r.PostForm
	req := server.SilenceRequest{Target: f.Get("target"), Value: strings.TrimSpace(f.Get("value")), Scope: f.Get("scope"),
		Reason: strings.TrimSpace(f.Get("reason")), Expires: strings.TrimSpace(f.Get("expires"))}
	switch req.Scope {
	case "", "host":
		req.Scope, req.ScopeValue = "host", h.Name
	case "owner":
		req.ScopeValue = h.Owner
	}
	sl, err := c.api.AddSilence(r.Context(), v.Token, req)
	switch {
	case errors.Is(err, patchwatch.ErrInvalidSilence):
		c.showHost(w, r, v, http.StatusBadRequest, "", "Not silenced: "+err.Error())
		return
	case errors.Is(err, server.ErrForbidden):
		c.showHost(w, r, v, http.StatusForbidden, "", "Not silenced: you may silence only your own hosts, or all of them.")
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	c.log.Info("console silence", "id", sl.ID, "host", h.Name, "by", v.Token.ID)
	http.Redirect(w, r, "/hosts/"+url.PathEscape(h.Name)+"?silenced="+url.QueryEscape(sl.ID), http.StatusSeeOther)
}

// unsilence removes a silence from a host page's form, through the API's
// own rules (server.RemoveSilence), and comes back to the host page.
func (c *Console) unsilence(w http.ResponseWriter, r *http.Request, v *viewer) {
	h, err := c.queries.Host(r.Context(), r.PathValue("name"))
	if err != nil || !v.mayView(h.Owner) {
		c.notFound(w, r)
		return
	}
	id := r.PathValue("id")
	if err := c.api.RemoveSilence(r.Context(), v.Token, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			c.showHost(w, r, v, http.StatusNotFound, "", "No silence "+id+" that you may remove.")
			return
		}
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/hosts/"+url.PathEscape(h.Name)+"?removed="+url.QueryEscape(id), http.StatusSeeOther)
}
