package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// pageNames are the page templates; each is parsed with the layout and
// the shared partials into its own set.
var pageNames = []string{"login", "link", "logout", "message", "hosts", "host", "findings", "advisory", "owner", "search", "dashboard"}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse console template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

var templateFuncs = template.FuncMap{
	"join":     strings.Join,
	"pathEsc":  url.PathEscape,
	"queryEsc": url.QueryEscape,
	// when writes a time as a UTC date and hour, or "never".
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	// whenText reads an RFC 3339 time from the summaries and writes it as when does.
	"whenText": func(s string) string {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil || t.IsZero() {
			return s
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.DateOnly)
	},
	"statusText": func(s patchwatch.Status) string {
		switch s {
		case patchwatch.StatusPendingReboot:
			return "installed; reboot to finish"
		case patchwatch.StatusSubscription:
			return "fix needs a subscription"
		case patchwatch.StatusNoFix:
			return "no fix yet"
		case patchwatch.StatusUnknownVersion:
			return "version not comparable"
		}
		return "update available"
	},
	"silenceForm":     silenceFormFor,
	"unsilenceForm":   unsilenceFormFor,
	"list_urgencies":  func() []string { return urgencyOrder },
	"list_severities": func() []string { return []string{"critical", "high", "medium", "low", "negligible"} },
}

// silenceForm is the data of a host page's form that silences a finding
// or disables a check.
type silenceForm struct {
	Host, Owner, CSRF, Target, Value string
	Fleet                            bool
}

func silenceFormFor(l layout, target, value string) silenceForm {
	page := l.Data.(hostPage)
	return silenceForm{Host: page.Host.Name, Owner: page.Host.Owner, CSRF: l.CSRF, Target: target, Value: value, Fleet: page.MayFleet}
}

// unsilenceForm is the data of a button that removes a silence.
type unsilenceForm struct {
	Host, CSRF, ID, Scope string
	May                   bool
}

func unsilenceFormFor(l layout, sl *patchwatch.Silence) unsilenceForm {
	return unsilenceForm{Host: l.Data.(hostPage).Host.Name, CSRF: l.CSRF, ID: sl.ID, Scope: sl.Scope, May: l.Viewer.MayRemove(sl)}
}
