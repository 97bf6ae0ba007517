package notify

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"os"
	"strings"
	texttemplate "text/template"

	"github.com/slack-go/slack"

	"github.com/patchwatch/patchwatch"
)

//go:embed templates
var embedded embed.FS

type templates struct {
	ownerText, adminText *texttemplate.Template
	ownerHTML, adminHTML *htmltemplate.Template
}

var funcs = map[string]any{
	"join": strings.Join,
	"bar":  func(width int) string { return strings.Repeat("#", width/2) },
	"urgencyColor": func(u patchwatch.Urgency) string {
		return urgencyColors[u.String()]
	},
	"urgencyColorName": func(u string) string { return urgencyColors[u] },
}

var urgencyColors = map[string]string{"critical": "#b00", "high": "#d60", "medium": "#a80", "low": "#666"}

// loadTemplates reads the embedded templates, replaced by the files named
// in overrides (owner.txt, owner.html, admin.txt, admin.html).
func loadTemplates(overrides map[string]string) (*templates, error) {
	read := func(name string) (string, error) {
		if path := overrides[name]; path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("template %s: %w", name, err)
			}
			return string(b), nil
		}
		b, err := embedded.ReadFile("templates/" + name)
		return string(b), err
	}
	for name := range overrides {
		switch name {
		case "owner.txt", "owner.html", "admin.txt", "admin.html":
		default:
			return nil, fmt.Errorf("unknown template %q (owner.txt, owner.html, admin.txt, admin.html)", name)
		}
	}
	var t templates
	for _, x := range []struct {
		name string
		dst  **texttemplate.Template
	}{{"owner.txt", &t.ownerText}, {"admin.txt", &t.adminText}} {
		src, err := read(x.name)
		if err != nil {
			return nil, err
		}
		if *x.dst, err = texttemplate.New(x.name).Funcs(funcs).Parse(src); err != nil {
			return nil, fmt.Errorf("template %s: %w", x.name, err)
		}
	}
	for _, x := range []struct {
		name string
		dst  **htmltemplate.Template
	}{{"owner.html", &t.ownerHTML}, {"admin.html", &t.adminHTML}} {
		src, err := read(x.name)
		if err != nil {
			return nil, err
		}
		// html/template escapes everything taken from feeds.
		if *x.dst, err = htmltemplate.New(x.name).Funcs(funcs).Parse(src); err != nil {
			return nil, fmt.Errorf("template %s: %w", x.name, err)
		}
	}
	return &t, nil
}

// rendered is a message in every form a channel needs.
type rendered struct {
	Subject, Text, HTML string
	Blocks              []byte
}

// Render renders a message for every channel.
func (n *Notifier) Render(m *Message) (subject, text, html string, blocks []byte) {
	r := n.render(m)
	return r.Subject, r.Text, r.HTML, r.Blocks
}

func (n *Notifier) render(m *Message) rendered {
	var text, html bytes.Buffer
	textT, htmlT := n.tmpl.ownerText, n.tmpl.ownerHTML
	if m.Kind == "admin-digest" {
		textT, htmlT = n.tmpl.adminText, n.tmpl.adminHTML
	}
	if err := textT.Execute(&text, m); err != nil {
		n.log.Error("render text", "err", err)
	}
	if err := htmlT.Execute(&html, m); err != nil {
		n.log.Error("render html", "err", err)
	}
	blocks, _ := json.Marshal(slackBlocks(m))
	// A subject is one line, whatever the feed put in a title.
	subject := strings.Join(strings.Fields(m.Subject), " ")
	return rendered{Subject: subject, Text: text.String(), HTML: html.String(), Blocks: blocks}
}

// SlackEscape makes feed text inert in Slack mrkdwn: <!channel>, user
// mentions and <url|label> links all start with '<', and & starts the
// escapes themselves.
func SlackEscape(s string) string {
	return slackEscaper.Replace(s)
}

// slackEscaper is built once: building one per call was a tenth of
// rendering a first evaluation's alerts.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackBlocks builds the Block Kit form of a message; every piece of text
// from a feed goes through SlackEscape.
func slackBlocks(m *Message) slack.Blocks {
	var bs []slack.Block
	header := m.Subject
	if len(header) > 150 {
		header = header[:147] + "..."
	}
	bs = append(bs, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, header, false, false)))
	bs = append(bs, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, SlackEscape(m.Intro), false, false), nil, nil))
	for _, h := range m.Hosts {
		var b strings.Builder
		fmt.Fprintf(&b, "*%s* (%s)", SlackEscape(h.Name), SlackEscape(h.Release))
		if h.Reboot {
			b.WriteString(" — *reboot needed after updating*")
		}
		if h.URL != "" {
			fmt.Fprintf(&b, " <%s|open in the console>", SlackEscape(h.URL))
		}
		b.WriteString("\n")
		if h.RebootNote != "" {
			fmt.Fprintf(&b, "_reboot: %s_\n", SlackEscape(h.RebootNote))
		}
		for _, f := range h.Findings {
			fmt.Fprintf(&b, "• *%s* %s: %s — fix by %s", f.Urgency, SlackEscape(f.Advisory), SlackEscape(f.Title), f.Deadline.Format("2006-01-02"))
			if f.Overdue {
				b.WriteString(" *OVERDUE*")
			}
			if f.Status == patchwatch.StatusPendingReboot {
				b.WriteString(" (installed: reboot to activate)")
			}
			fmt.Fprintf(&b, "\n   _%s_\n", SlackEscape(strings.Join(f.UrgencyReasons, "; ")))
		}
		text := b.String()
		if len(text) > 2900 {
			text = text[:2900] + "…"
		}
		bs = append(bs, slack.NewDividerBlock(), slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil))
		if len(h.Commands) > 0 {
			cmds := "```" + SlackEscape(strings.Join(h.Commands, "\n")) + "```"
			bs = append(bs, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, cmds, false, false), nil, nil))
		}
		if len(h.Checks) > 0 {
			var c strings.Builder
			fmt.Fprintf(&c, "*Security settings to change on %s*\n", SlackEscape(h.Name))
			for _, a := range h.Checks {
				fmt.Fprintf(&c, "• *%s* — %s\n   _found: %s_\n", SlackEscape(a.Title), SlackEscape(a.Advice), SlackEscape(a.Evidence))
				if a.Fix != "" {
					fmt.Fprintf(&c, "   fix: `%s`\n", SlackEscape(a.Fix))
				}
			}
			text := c.String()
			if len(text) > 2900 {
				text = text[:2900] + "…"
			}
			bs = append(bs, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil))
		}
	}
	if d := m.Admin; d != nil {
		var b strings.Builder
		for _, f := range d.StaleFeeds {
			fmt.Fprintf(&b, ":warning: *feed %s has not succeeded since %s*", SlackEscape(f.Feed), f.LastSuccess)
			if f.LastError != "" {
				fmt.Fprintf(&b, ": %s", SlackEscape(f.LastError))
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "*%d hosts*: %d reporting, %d stale\n", d.Hosts, d.Reporting, len(d.Stale))
		for _, u := range d.ByUrgency {
			fmt.Fprintf(&b, "%s: %d   ", u.Urgency, u.Count)
		}
		b.WriteString("\n*Overdue by owner*: ")
		for _, o := range d.OverdueByOwner {
			fmt.Fprintf(&b, "%s %d; ", SlackEscape(o.Owner), o.Count)
		}
		if len(d.Attention) > 0 {
			b.WriteString("\n*Needing attention most*: ")
			for _, h := range d.Attention[:min(5, len(d.Attention))] {
				fmt.Fprintf(&b, "%s (%s) %d overdue; ", SlackEscape(h.Host), SlackEscape(h.Owner), h.Overdue)
			}
		}
		fmt.Fprintf(&b, "\n*Waiting for a reboot*: %d hosts", len(d.Reboot))
		if len(d.Guidelines) > 0 {
			b.WriteString("\n*Security guidelines not followed*: ")
			for _, g := range d.Guidelines {
				fmt.Fprintf(&b, "%s %d hosts; ", g.ID, g.Hosts)
			}
		}
		if len(d.Compliance) > 0 {
			b.WriteString("\n*Compliance per guideline*: ")
			for _, c := range d.Compliance {
				if c.Now >= 0 {
					fmt.Fprintf(&b, "%s %d%%; ", c.ID, c.Now)
				}
			}
		}
		if len(d.Unreachable) > 0 {
			fmt.Fprintf(&b, "\n*Unreachable owners*: %s", SlackEscape(strings.Join(d.Unreachable, ", ")))
		}
		bs = append(bs, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, b.String(), false, false), nil, nil))
	}
	if len(bs) > 50 {
		bs = bs[:50] // Slack's limit per message
	}
	return slack.Blocks{BlockSet: bs}
}
