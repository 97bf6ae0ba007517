package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// firewallSource is one place a host firewall can be seen: read when it
// could be read at all, v4 and v6 when it drops by default for that
// protocol; accepted holds the TCP ports its rules let in, when known.
type firewallSource struct {
	read, v4, v6 bool
	evidence     string
	accepted     []uint16
	// denied is set when a source positively fails the host (a firewalld
	// zone that accepts everything), whatever the others say.
	denied bool
	// live is set for a ruleset read from the running kernel.
	live bool
}

// hostFirewall looks at every place a host firewall can live: firewalld
// first (its nftables rules end in a reject even when a zone that accepts
// everything applies, so its zones must be read before its ruleset), then
// the live ruleset: nftables (which also shows iptables-nft and ufw
// rules), iptables and ip6tables; then, only where no live ruleset could
// be read (a root tree), ufw's and the boot-time configuration. IPv4 and
// IPv6 must each be dropped by default (IPv6 unless it is disabled); the
// listening sockets the rules let in are listed.
func hostFirewall(ctx context.Context, e *Env) patchwatch.CheckResult {
	sources := []func(context.Context, *Env) firewallSource{
		firewalldState, nftLive, iptablesLive, ufwConfig, nftConfig, iptablesConfig,
	}
	var seen, passed []string
	read, live, v4, v6 := false, false, false, false
	var accepted []uint16
	for i, src := range sources {
		if i >= 3 && live {
			break // what is loaded, not what would be at boot
		}
		s := src(ctx, e)
		if !s.read {
			continue
		}
		read, live = true, live || s.live
		if s.denied {
			return result(patchwatch.CheckFail, s.evidence)
		}
		if s.v4 || s.v6 {
			passed = append(passed, s.evidence)
			accepted = append(accepted, s.accepted...)
		} else {
			seen = append(seen, s.evidence)
		}
		v4, v6 = v4 || s.v4, v6 || s.v6
		if v4 && (v6 || !e.ipv6Enabled()) {
			break
		}
	}
	if !read {
		return result(patchwatch.CheckUnknown, "no firewall ruleset or configuration could be read")
	}
	ipv6 := e.ipv6Enabled()
	switch {
	case v4 && (v6 || !ipv6):
		items := e.reachable(accepted)
		ev := strings.Join(passed, "; ")
		if !ipv6 {
			ev += "; IPv6 is disabled"
		}
		return result(patchwatch.CheckPass, ev, items...)
	case v4:
		return result(patchwatch.CheckFail, "IPv4 drops by default but IPv6 does not: "+strings.Join(append(passed, seen...), "; "))
	case v6:
		return result(patchwatch.CheckFail, "IPv6 drops by default but IPv4 does not: "+strings.Join(append(passed, seen...), "; "))
	}
	return result(patchwatch.CheckFail, strings.Join(seen, "; "))
}

// ipv6Enabled reports whether the host has IPv6: /proc/net/if_inet6
// exists and IPv6 is not disabled for all interfaces.
func (e *Env) ipv6Enabled() bool {
	if b, err := os.ReadFile(filepath.Join(e.Proc, "sys/net/ipv6/conf/all/disable_ipv6")); err == nil && strings.TrimSpace(string(b)) == "1" {
		return false
	}
	return exists(filepath.Join(e.Proc, "net/if_inet6")) || exists(filepath.Join(e.Proc, "net/tcp6"))
}

// reachable lists the listening TCP sockets whose ports the firewall's
// rules accept, and the accepted ports nothing listens on.
func (e *Env) reachable(accepted []uint16) []string {
	if len(accepted) == 0 {
		return nil
	}
	socks, names, err := e.listening()
	if err != nil {
		return nil
	}
	var items []string
	listening := map[uint16]bool{}
	for _, s := range socks {
		if s.proto != "tcp" {
			continue
		}
		listening[s.addr.Port()] = true
		if slices.Contains(accepted, s.addr.Port()) {
			items = append(items, describe(s, names)+": accepted")
		}
	}
	slices.Sort(accepted)
	for _, p := range slices.Compact(accepted) {
		if !listening[p] {
			items = append(items, fmt.Sprintf("tcp port %d: accepted, nothing listens", p))
		}
	}
	return slices.Compact(items)
}

func nftLive(ctx context.Context, e *Env) firewallSource {
	out, found, err := run(ctx, e, "nft", "list", "ruleset")
	if !found || err != nil {
		return firewallSource{}
	}
	s := nftSource("nft list ruleset", out)
	s.live = true
	return s
}

// nftSource reads a ruleset table by table: ip tables filter IPv4, ip6
// tables IPv6, inet tables both.
func nftSource(name, ruleset string) firewallSource {
	s := firewallSource{read: true}
	var got []string
	for _, t := range nftTables(ruleset) {
		ev, ok := nftInputDrops(t.body)
		if !ok {
			continue
		}
		got = append(got, "table "+t.family+" "+t.name+": "+ev)
		s.v4 = s.v4 || t.family == "ip" || t.family == "inet"
		s.v6 = s.v6 || t.family == "ip6" || t.family == "inet"
		s.accepted = append(s.accepted, nftAccepted(t.body)...)
	}
	if len(got) == 0 {
		s.evidence = name + ": no input chain drops by default"
		return s
	}
	s.evidence = name + ": " + strings.Join(got, "; ")
	return s
}

type nftTable struct{ family, name, body string }

// nftTables splits a ruleset into its tables ("table inet filter { ... }").
func nftTables(ruleset string) []nftTable {
	var out []nftTable
	var cur *nftTable
	depth := 0
	for raw := range strings.Lines(ruleset) {
		line := strings.TrimSpace(raw)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if depth == 0 && strings.HasPrefix(line, "table ") && strings.HasSuffix(line, "{") {
			f := strings.Fields(strings.TrimSuffix(line, "{"))
			t := nftTable{family: "ip", name: f[len(f)-1]}
			if len(f) == 3 {
				t.family = f[1]
			}
			out = append(out, t)
			cur = &out[len(out)-1]
		}
		depth += strings.Count(line, "{") - strings.Count(line, "}")
		if cur != nil {
			cur.body += raw
			if depth <= 0 {
				cur, depth = nil, 0
			}
		}
	}
	return out
}

// nftAccepted returns the TCP ports of "tcp dport 22 accept" and
// "tcp dport { 22, 443 } accept" rules.
func nftAccepted(body string) []uint16 {
	var ports []uint16
	for raw := range strings.Lines(body) {
		line := strings.TrimSpace(raw)
		_, rest, ok := strings.Cut(line, "tcp dport ")
		if !ok || !strings.HasSuffix(line, "accept") {
			continue
		}
		rest = strings.TrimSuffix(rest, "accept")
		if strings.HasPrefix(rest, "{") {
			rest, _, _ = strings.Cut(strings.TrimPrefix(rest, "{"), "}")
		} else {
			rest, _, _ = strings.Cut(rest, " ")
		}
		ports = append(ports, parsePorts(rest, ",")...)
	}
	return ports
}

// parsePorts reads "22, 80" or "22,80" (ranges and names skipped).
func parsePorts(list, sep string) []uint16 {
	var ports []uint16
	for _, p := range strings.Split(list, sep) {
		if n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16); err == nil {
			ports = append(ports, uint16(n))
		}
	}
	return ports
}

func nftConfig(ctx context.Context, e *Env) firewallSource {
	unit, enabled := e.unitEnabled("nftables.service")
	for _, f := range []string{"/etc/nftables.conf", "/etc/sysconfig/nftables.conf"} {
		b, err := readFile(e.path(f))
		if err != nil {
			continue
		}
		s := nftSource(f, b)
		switch {
		case (s.v4 || s.v6) && enabled:
			s.evidence = unit + " is enabled; " + s.evidence
		case s.v4 || s.v6:
			return firewallSource{read: true, evidence: f + " drops by default but nftables.service is not enabled"}
		}
		return s
	}
	return firewallSource{}
}

// nftInputDrops reports whether a ruleset in nft syntax has a base chain
// hooked on input whose policy is drop, or whose last rule drops or
// rejects everything.
func nftInputDrops(ruleset string) (string, bool) {
	var chain, lastRule string
	input, depth, chainDepth := false, 0, 0
	for raw := range strings.Lines(ruleset) {
		line := strings.TrimSpace(raw)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "chain ") && strings.HasSuffix(line, "{"):
			chain, input, lastRule = strings.TrimSuffix(strings.TrimPrefix(line, "chain "), " {"), false, ""
			depth++
			chainDepth = depth
			continue
		case strings.HasSuffix(line, "{"):
			depth++
			continue
		case line == "}" || strings.HasPrefix(line, "}"):
			depth--
			if chain == "" || depth >= chainDepth {
				continue
			}
			if input && (lastRule == "drop" || lastRule == "reject" || strings.HasPrefix(lastRule, "reject with")) {
				return "chain " + chain + " ends with " + lastRule, true
			}
			chain, input = "", false
			continue
		}
		if chain == "" {
			continue
		}
		for _, stmt := range strings.Split(line, ";") {
			stmt = strings.TrimSpace(stmt)
			switch {
			case strings.HasPrefix(stmt, "type filter hook input"):
				input = true
			case strings.HasPrefix(stmt, "type "):
			case stmt == "policy drop" && input:
				return "chain " + chain + ": " + line, true
			case strings.HasPrefix(stmt, "policy "):
			case stmt != "":
				lastRule = stmt
			}
		}
	}
	return "", false
}

func iptablesLive(ctx context.Context, e *Env) firewallSource {
	s := firewallSource{}
	var evidence []string
	for _, cmd := range []string{"iptables", "ip6tables"} {
		out, found, err := run(ctx, e, cmd, "-S", "INPUT")
		if !found || err != nil {
			continue
		}
		s.read, s.live = true, true
		ev, ok := iptablesInputDrops(out)
		if !ok {
			evidence = append(evidence, cmd+" -S INPUT: policy ACCEPT and no final drop")
			continue
		}
		evidence = append(evidence, cmd+" -S INPUT: "+ev)
		s.accepted = append(s.accepted, iptablesAccepted(out)...)
		if cmd == "iptables" {
			s.v4 = true
		} else {
			s.v6 = true
		}
	}
	s.evidence = strings.Join(evidence, "; ")
	return s
}

// iptablesAccepted returns the TCP ports of "-p tcp ... --dport 22 -j
// ACCEPT" and "--dports 80,443" rules.
func iptablesAccepted(text string) []uint16 {
	var ports []uint16
	for raw := range strings.Lines(text) {
		f := strings.Fields(raw)
		if !slices.Contains(f, "ACCEPT") || !slices.Contains(f, "tcp") {
			continue
		}
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "--dport" || f[i] == "--dports" {
				ports = append(ports, parsePorts(f[i+1], ",")...)
			}
		}
	}
	return ports
}

// iptablesInputDrops reads iptables-save or iptables -S output: INPUT
// drops by default when its policy is DROP or its last rule drops or
// rejects without conditions.
func iptablesInputDrops(text string) (string, bool) {
	var last string
	for raw := range strings.Lines(text) {
		line := strings.TrimSpace(raw)
		switch {
		case line == "-P INPUT DROP", strings.HasPrefix(line, ":INPUT DROP"):
			return line, true
		case strings.HasPrefix(line, "-A INPUT "):
			last = line
		}
	}
	if last == "-A INPUT -j DROP" || strings.HasPrefix(last, "-A INPUT -j REJECT") {
		return last, true
	}
	return "", false
}

func iptablesConfig(ctx context.Context, e *Env) firewallSource {
	s := firewallSource{}
	var evidence []string
	for _, f := range []struct {
		file, unit string
		v6         bool
	}{
		{"/etc/iptables/rules.v4", "netfilter-persistent.service", false},
		{"/etc/sysconfig/iptables", "iptables.service", false},
		{"/etc/iptables/rules.v6", "netfilter-persistent.service", true},
		{"/etc/sysconfig/ip6tables", "ip6tables.service", true},
	} {
		b, err := readFile(e.path(f.file))
		if err != nil {
			continue
		}
		s.read = true
		ev, ok := iptablesInputDrops(b)
		unit, enabled := e.unitEnabled(f.unit)
		switch {
		case ok && enabled:
			evidence = append(evidence, fmt.Sprintf("%s is enabled; %s: %s", unit, f.file, ev))
			s.accepted = append(s.accepted, iptablesAccepted(b)...)
			if f.v6 {
				s.v6 = true
			} else {
				s.v4 = true
			}
		case ok:
			evidence = append(evidence, f.file+" drops by default but "+f.unit+" is not enabled")
		default:
			evidence = append(evidence, f.file+": INPUT accepts by default")
		}
	}
	s.evidence = strings.Join(evidence, "; ")
	return s
}

// firewalldState passes a running firewalld (both protocols: its
// zones apply to IPv4 and IPv6), unless an active zone's target is ACCEPT
// (the trusted zone, or one set so), which lets everything in.
func firewalldState(ctx context.Context, e *Env) firewallSource {
	if out, found, err := run(ctx, e, "firewall-cmd", "--state"); found {
		state := strings.TrimSpace(out)
		if err != nil || state != "running" {
			return firewallSource{read: true, evidence: "firewall-cmd --state: " + state}
		}
		zones, _, zerr := run(ctx, e, "firewall-cmd", "--list-all-zones")
		if zerr == nil {
			if zone, ok := firewalldAcceptingZone(zones); ok {
				return firewallSource{read: true, denied: true, evidence: "firewalld runs, but its active zone " + zone + " has target ACCEPT: it lets every connection in"}
			}
		}
		return firewallSource{read: true, live: true, v4: true, v6: true, evidence: "firewall-cmd --state: running", accepted: firewalldPorts(zones)}
	}
	if unit, ok := e.unitEnabled("firewalld.service"); ok && !e.Live {
		zone := "public"
		if ls, err := lines(e.path("etc/firewalld/firewalld.conf")); err == nil {
			for _, l := range ls {
				if v, ok := strings.CutPrefix(l.text, "DefaultZone="); ok {
					zone = strings.TrimSpace(v)
				}
			}
		}
		for _, f := range []string{"/etc/firewalld/zones/" + zone + ".xml", "/usr/lib/firewalld/zones/" + zone + ".xml"} {
			if b, err := readFile(e.path(f)); err == nil {
				if strings.Contains(b, `target="ACCEPT"`) {
					return firewallSource{read: true, denied: true, evidence: unit + " is enabled, but its default zone " + zone + " (" + f + ") has target ACCEPT: it lets every connection in"}
				}
				break
			}
		}
		if zone == "trusted" {
			return firewallSource{read: true, denied: true, evidence: unit + " is enabled, but its default zone is trusted: it lets every connection in"}
		}
		return firewallSource{read: true, v4: true, v6: true, evidence: unit + " is enabled (default zone " + zone + ")"}
	}
	return firewallSource{}
}

// firewalldAcceptingZone finds an active zone whose target is ACCEPT in
// `firewall-cmd --list-all-zones` output.
func firewalldAcceptingZone(out string) (string, bool) {
	zone, active := "", false
	for raw := range strings.Lines(out) {
		line := strings.TrimRight(raw, "\n")
		if line != "" && line[0] != ' ' && line[0] != '\t' {
			f := strings.Fields(line)
			zone, active = f[0], strings.Contains(line, "(active)") || strings.Contains(line, "(default, active)")
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "target:"); ok && active && strings.TrimSpace(v) == "ACCEPT" {
			return zone, true
		}
	}
	return "", false
}

// firewalldServicePorts are the TCP ports of firewalld's common services.
var firewalldServicePorts = map[string]uint16{"ssh": 22, "http": 80, "https": 443, "cockpit": 9090, "ftp": 21, "telnet": 23, "mysql": 3306, "postgresql": 5432, "redis": 6379, "mongodb": 27017, "pop3": 110, "imap": 143, "ldap": 389, "smtp": 25}

// firewalldPorts returns the TCP ports the active zones let in: their
// services and ports lines.
func firewalldPorts(out string) []uint16 {
	var ports []uint16
	active := false
	for raw := range strings.Lines(out) {
		line := strings.TrimRight(raw, "\n")
		if line != "" && line[0] != ' ' && line[0] != '\t' {
			active = strings.Contains(line, "active)")
			continue
		}
		if !active {
			continue
		}
		t := strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(t, "services:"); ok {
			for _, svc := range strings.Fields(v) {
				if p, ok := firewalldServicePorts[svc]; ok {
					ports = append(ports, p)
				}
			}
		}
		if v, ok := strings.CutPrefix(t, "ports:"); ok {
			for _, p := range strings.Fields(v) {
				if n, proto, _ := strings.Cut(p, "/"); proto == "tcp" {
					ports = append(ports, parsePorts(n, ",")...)
				}
			}
		}
	}
	return ports
}

// ufwConfig passes when ufw is enabled and its default input policy drops
// or rejects.
func ufwConfig(ctx context.Context, e *Env) firewallSource {
	conf, err := lines(e.path("etc/ufw/ufw.conf"))
	if err != nil {
		return firewallSource{}
	}
	enabled := ""
	for _, l := range conf {
		if strings.HasPrefix(l.text, "ENABLED=") {
			enabled = fmt.Sprintf("/etc/ufw/ufw.conf:%d: %s", l.n, l.text)
			if strings.Trim(strings.TrimPrefix(l.text, "ENABLED="), `"'`) != "yes" {
				return firewallSource{read: true, evidence: enabled}
			}
		}
	}
	if enabled == "" {
		return firewallSource{read: true, evidence: "/etc/ufw/ufw.conf: ENABLED is not set"}
	}
	// ufw's default input policy is DROP, and with IPV6=yes (its
	// default) it writes the same rules for IPv6.
	drops, ipv6, ev := true, true, enabled
	defaults, _ := lines(e.path("etc/default/ufw"))
	for _, l := range defaults {
		if v, ok := strings.CutPrefix(l.text, "DEFAULT_INPUT_POLICY="); ok {
			v = strings.Trim(v, `"'`)
			drops = v == "DROP" || v == "REJECT"
			ev = fmt.Sprintf("%s; /etc/default/ufw:%d: %s", ev, l.n, l.text)
		}
		if v, ok := strings.CutPrefix(l.text, "IPV6="); ok {
			ipv6 = strings.Trim(v, `"'`) == "yes"
			if !ipv6 {
				ev = fmt.Sprintf("%s; /etc/default/ufw:%d: %s", ev, l.n, l.text)
			}
		}
	}
	return firewallSource{read: true, v4: drops, v6: drops && ipv6, evidence: ev, accepted: e.ufwAccepted()}
}

// ufwAccepted reads the TCP ports of ufw's own rules
// (/etc/ufw/user.rules, "-A ufw-user-input -p tcp --dport 22 -j ACCEPT").
func (e *Env) ufwAccepted() []uint16 {
	b, err := readFile(e.path("etc/ufw/user.rules"))
	if err != nil {
		return nil
	}
	return iptablesAccepted(b)
}
