package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// firewallSource is one place a firewall can be seen: passed when it
// drops by default, read when it could be read at all.
type firewallSource struct {
	read, passed bool
	evidence     string
}

// hostFirewall looks at every place a host firewall can live, the live
// ruleset first: nftables (which also shows iptables-nft, firewalld and
// ufw rules), iptables, firewalld, ufw, then the boot-time configuration.
func hostFirewall(ctx context.Context, e *Env) patchwatch.CheckResult {
	sources := []func(context.Context, *Env) firewallSource{
		nftLive, iptablesLive, firewalldState, ufwConfig, nftConfig, iptablesConfig,
	}
	var seen []string
	read := false
	for _, src := range sources {
		s := src(ctx, e)
		if s.passed {
			return result(patchwatch.CheckPass, s.evidence)
		}
		if s.read {
			read = true
			seen = append(seen, s.evidence)
		}
	}
	if !read {
		return result(patchwatch.CheckUnknown, "no firewall ruleset or configuration could be read")
	}
	return result(patchwatch.CheckFail, strings.Join(seen, "; "))
}

func nftLive(ctx context.Context, e *Env) firewallSource {
	out, found, err := run(ctx, e, "nft", "list", "ruleset")
	if !found || err != nil {
		return firewallSource{}
	}
	if ev, ok := nftInputDrops(out); ok {
		return firewallSource{true, true, "nft list ruleset: " + ev}
	}
	return firewallSource{true, false, "nft list ruleset: no input chain drops by default"}
}

func nftConfig(ctx context.Context, e *Env) firewallSource {
	unit, enabled := e.unitEnabled("nftables.service")
	for _, f := range []string{"/etc/nftables.conf", "/etc/sysconfig/nftables.conf"} {
		b, err := readFile(e.path(f))
		if err != nil {
			continue
		}
		ev, ok := nftInputDrops(b)
		switch {
		case ok && enabled:
			return firewallSource{true, true, fmt.Sprintf("%s is enabled; %s: %s", unit, f, ev)}
		case ok:
			return firewallSource{true, false, f + " drops by default but nftables.service is not enabled"}
		}
		return firewallSource{true, false, f + ": no input chain drops by default"}
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
	out, found, err := run(ctx, e, "iptables", "-S", "INPUT")
	if !found || err != nil {
		return firewallSource{}
	}
	if ev, ok := iptablesInputDrops(out); ok {
		return firewallSource{true, true, "iptables -S INPUT: " + ev}
	}
	return firewallSource{true, false, "iptables -S INPUT: policy ACCEPT and no final drop"}
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
	for _, f := range []struct{ file, unit string }{
		{"/etc/iptables/rules.v4", "netfilter-persistent.service"},
		{"/etc/sysconfig/iptables", "iptables.service"},
	} {
		b, err := readFile(e.path(f.file))
		if err != nil {
			continue
		}
		ev, ok := iptablesInputDrops(b)
		unit, enabled := e.unitEnabled(f.unit)
		switch {
		case ok && enabled:
			return firewallSource{true, true, fmt.Sprintf("%s is enabled; %s: %s", unit, f.file, ev)}
		case ok:
			return firewallSource{true, false, f.file + " drops by default but " + f.unit + " is not enabled"}
		}
		return firewallSource{true, false, f.file + ": INPUT accepts by default"}
	}
	return firewallSource{}
}

func firewalldState(ctx context.Context, e *Env) firewallSource {
	if out, found, err := run(ctx, e, "firewall-cmd", "--state"); found {
		state := strings.TrimSpace(out)
		return firewallSource{true, err == nil && state == "running", "firewall-cmd --state: " + state}
	}
	if unit, ok := e.unitEnabled("firewalld.service"); ok && !e.Live {
		return firewallSource{true, true, unit + " is enabled"}
	}
	return firewallSource{}
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
				return firewallSource{true, false, enabled}
			}
		}
	}
	if enabled == "" {
		return firewallSource{true, false, "/etc/ufw/ufw.conf: ENABLED is not set"}
	}
	defaults, _ := lines(e.path("etc/default/ufw"))
	for _, l := range defaults {
		if v, ok := strings.CutPrefix(l.text, "DEFAULT_INPUT_POLICY="); ok {
			v = strings.Trim(v, `"'`)
			ev := fmt.Sprintf("%s; /etc/default/ufw:%d: %s", enabled, l.n, l.text)
			return firewallSource{true, v == "DROP" || v == "REJECT", ev}
		}
	}
	// ufw's default input policy is DROP.
	return firewallSource{true, true, enabled}
}
