package checks

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// logForward is one remote log destination found in a configuration.
type logForward struct {
	where     string // file:line: text
	transport string // udp, tcp, relp, https
	port      uint16
	tls       bool
}

var (
	rsyslogAction = regexp.MustCompile(`(?is)action\s*\(([^)]*)\)`)
	rsyslogParam  = regexp.MustCompile(`(?i)([a-z.]+)\s*=\s*"([^"]*)"`)
	legacyForward = regexp.MustCompile(`(?:^|\s)(@@?)(\(o\))?\[?([A-Za-z0-9_.:-]+?)\]?(?::([0-9]+))?(?:;\S+)?$`)
	syslogNG      = regexp.MustCompile(`(?s)\b(network|tcp|udp|tcp6|udp6|syslog)\s*\(\s*"?([A-Za-z0-9_.:-]+)"?([^;]*)\)\s*;`)
	ngPort        = regexp.MustCompile(`port\s*\(\s*([0-9]+)\s*\)`)
)

// remoteLogging checks that logs leave the host encrypted, and on the live
// system that the forwarding connection is up: rsyslog (omfwd with the
// gtls stream driver, legacy @@ with $DefaultNetstreamDriver gtls and
// $ActionSendStreamDriverMode 1, omrelp with tls="on"), syslog-ng
// (transport("tls") or a tls() block), systemd-journal-upload to an https
// URL. Plain UDP or TCP forwarding fails: the logs, passwords typed as
// user names among them, cross the network in the clear.
func remoteLogging(ctx context.Context, e *Env) patchwatch.CheckResult {
	fwds := e.rsyslogForwards()
	fwds = append(fwds, e.syslogNGForwards()...)
	if f, ok := e.journalUpload(); ok {
		fwds = append(fwds, f)
	}
	if len(fwds) == 0 {
		if !exists(e.path("etc/rsyslog.conf")) && !exists(e.path("etc/syslog-ng/syslog-ng.conf")) && !exists(e.path("etc/systemd/journald.conf")) {
			return result(patchwatch.CheckUnknown, "no rsyslog, syslog-ng or journald configuration found")
		}
		return result(patchwatch.CheckFail, "no rsyslog, syslog-ng or journal-upload forwarding to a remote server")
	}
	var plain, encrypted []string
	for _, f := range fwds {
		if f.tls {
			encrypted = append(encrypted, f.where)
		} else {
			plain = append(plain, fmt.Sprintf("%s (%s without TLS)", f.where, f.transport))
		}
	}
	if len(encrypted) == 0 {
		return result(patchwatch.CheckFail, "logs are forwarded in plain text: "+strings.Join(plain, "; "))
	}
	// Working: a TCP connection to the destination's port is established.
	if e.Live {
		established := e.establishedPorts()
		for _, f := range fwds {
			if f.tls && f.port != 0 && established[f.port] {
				return result(patchwatch.CheckPass, f.where+"; connected to port "+strconv.Itoa(int(f.port)))
			}
		}
		if established != nil {
			return result(patchwatch.CheckFail, "encrypted forwarding is configured but no connection to its server is established: "+strings.Join(encrypted, "; "))
		}
	}
	return result(patchwatch.CheckPass, strings.Join(encrypted, "; "))
}

func (e *Env) rsyslogFiles() []string {
	files := []string{e.path("etc/rsyslog.conf")}
	more, _ := globSorted(e.path("etc/rsyslog.d/*.conf"))
	return append(files, more...)
}

// rsyslogForwards reads omfwd and omrelp actions and legacy @/@@ lines.
func (e *Env) rsyslogForwards() []logForward {
	var out []logForward
	// Legacy directives set the defaults of the legacy @@ forwards; they
	// are global, whichever file sets them.
	legacyTLS := false
	type text struct {
		file, body string
	}
	var texts []text
	for _, f := range e.rsyslogFiles() {
		b, err := readFile(f)
		if err != nil {
			continue
		}
		texts = append(texts, text{f, b})
		lower := strings.ToLower(b)
		if (strings.Contains(lower, "$defaultnetstreamdriver gtls") || strings.Contains(lower, `defaultnetstreamdriver="gtls"`) ||
			strings.Contains(lower, `defaultnetstreamdriver="ossl"`) || strings.Contains(lower, "$defaultnetstreamdriver ossl")) &&
			strings.Contains(lower, "$actionsendstreamdrivermode 1") {
			legacyTLS = true
		}
	}
	for _, t := range texts {
		for _, m := range rsyslogAction.FindAllStringSubmatchIndex(t.body, -1) {
			params := map[string]string{}
			for _, p := range rsyslogParam.FindAllStringSubmatch(t.body[m[2]:m[3]], -1) {
				params[strings.ToLower(p[1])] = p[2]
			}
			f := logForward{where: e.where(t.file, t.body, m[0])}
			switch strings.ToLower(params["type"]) {
			case "omfwd":
				f.transport = strings.ToLower(params["protocol"])
				if f.transport == "" {
					f.transport = "udp"
				}
				f.tls = f.transport == "tcp" && params["streamdrivermode"] == "1" && (params["streamdriver"] == "gtls" || params["streamdriver"] == "ossl")
				f.port = portOr(params["port"], 514)
			case "omrelp":
				f.transport = "relp"
				f.tls = strings.EqualFold(params["tls"], "on")
				f.port = portOr(params["port"], 2514)
			default:
				continue
			}
			out = append(out, f)
		}
		for i, line := range strings.Split(t.body, "\n") {
			l := strings.TrimSpace(line)
			if l == "" || strings.HasPrefix(l, "#") || strings.Contains(l, "action(") {
				continue
			}
			m := legacyForward.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			f := logForward{where: fmt.Sprintf("%s:%d: %s", e.rel(t.file), i+1, l), transport: "udp", port: portOr(m[4], 514)}
			if m[1] == "@@" {
				f.transport, f.tls = "tcp", legacyTLS
			}
			out = append(out, f)
		}
	}
	return out
}

func (e *Env) where(file, body string, at int) string {
	line := strings.Count(body[:at], "\n") + 1
	start := strings.LastIndex(body[:at], "\n") + 1
	first, _, _ := strings.Cut(body[start:], "\n")
	return fmt.Sprintf("%s:%d: %s", e.rel(file), line, truncate(strings.TrimSpace(first), 160))
}

func portOr(s string, def uint16) uint16 {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(n)
	}
	return def
}

// syslogNGForwards reads syslog-ng destinations: network(), syslog(),
// tcp() and udp() drivers, with transport("tls") or tls() for TLS.
func (e *Env) syslogNGForwards() []logForward {
	files := []string{e.path("etc/syslog-ng/syslog-ng.conf")}
	more, _ := globSorted(e.path("etc/syslog-ng/conf.d/*.conf"))
	var out []logForward
	for _, file := range append(files, more...) {
		b, err := readFile(file)
		if err != nil {
			continue
		}
		for _, m := range syslogNG.FindAllStringSubmatchIndex(b, -1) {
			driver, opts := b[m[2]:m[3]], b[m[6]:m[7]]
			host := b[m[4]:m[5]]
			if host == "localhost" || strings.HasPrefix(host, "127.") || strings.HasPrefix(host, "/") {
				continue
			}
			if _, err := netip.ParseAddr(host); err != nil && !strings.Contains(host, ".") {
				continue // a source's option, not a destination host
			}
			if isSourceContext(b[:m[0]]) {
				continue
			}
			f := logForward{where: e.where(file, b, m[0]), transport: driver, port: 514}
			if p := ngPort.FindStringSubmatch(opts); p != nil {
				f.port = portOr(p[1], 514)
			}
			f.tls = strings.Contains(opts, `transport("tls")`) || strings.Contains(opts, "transport(tls)") || strings.Contains(opts, "tls(")
			out = append(out, f)
		}
	}
	return out
}

// isSourceContext reports whether the text before a driver opens a source
// block rather than a destination one.
func isSourceContext(before string) bool {
	src := strings.LastIndex(before, "source ")
	dst := strings.LastIndex(before, "destination ")
	return src > dst
}

// journalUpload reads systemd-journal-upload's URL= when its service is
// enabled: https is encrypted.
func (e *Env) journalUpload() (logForward, bool) {
	unit, ok := e.unitEnabled("systemd-journal-upload.service")
	if !ok {
		return logForward{}, false
	}
	ls, err := lines(e.path("etc/systemd/journal-upload.conf"))
	if err != nil {
		return logForward{}, false
	}
	for _, l := range ls {
		if url, ok := strings.CutPrefix(l.text, "URL="); ok {
			// A URL may carry a password (https://user:secret@host): it
			// stays out of the evidence.
			shown := l.text
			if scheme, rest, ok := strings.Cut(url, "://"); ok {
				if at := strings.LastIndex(rest, "@"); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
					url = scheme + "://" + rest[at+1:]
					shown = "URL=" + scheme + "://…@" + rest[at+1:]
				}
			}
			f := logForward{where: fmt.Sprintf("%s is enabled; /etc/systemd/journal-upload.conf:%d: %s", unit, l.n, shown), transport: "http", port: 19532}
			if rest, ok := strings.CutPrefix(url, "https://"); ok {
				f.tls, f.transport = true, "https"
				host, _, _ := strings.Cut(rest, "/")
				if i := strings.LastIndex(host, ":"); i >= 0 {
					f.port = portOr(host[i+1:], 19532)
				}
			}
			return f, true
		}
	}
	return logForward{}, false
}

// establishedPorts returns the remote ports of established TCP
// connections (/proc/net/tcp{,6}, state 01); nil when none can be read.
func (e *Env) establishedPorts() map[uint16]bool {
	var out map[uint16]bool
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(e.Proc, "net", name))
		if err != nil {
			continue
		}
		if out == nil {
			out = map[uint16]bool{}
		}
		for i, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if i == 0 || len(f) < 4 || f[3] != "01" {
				continue
			}
			if remote, err := parseProcAddr(f[2]); err == nil {
				out[remote.Port()] = true
			}
		}
	}
	return out
}
