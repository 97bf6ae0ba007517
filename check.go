package patchwatch

import "time"

// Check statuses.
const (
	CheckPass    = "pass"
	CheckFail    = "fail"
	CheckUnknown = "unknown"
)

// CheckResult is the outcome of one security-guideline check the agent ran
// on a VM.
type CheckResult struct {
	ID string `json:"id"`
	// Status is pass, fail or unknown.
	Status string `json:"status"`
	// Evidence is what the check read: a file and line, or command output,
	// trimmed; never secrets, password hashes or key material.
	Evidence string `json:"evidence,omitempty"`
	// Items lists what the owner should review (accounts, listening
	// services), names only.
	Items []string `json:"items,omitempty"`
	// State is a condition the server acts on: the livepatch check's
	// LivepatchApplied or LivepatchCoverageEnded.
	State string `json:"state,omitempty"`
	// Command is this host's own fix, when the guideline's is not enough:
	// stale-libraries' `systemctl restart` line of the services to restart.
	Command string `json:"command,omitempty"`
}

// Guideline describes a check for people: what it wants and how to fix it.
type Guideline struct {
	ID, Title, Advice string
	// Fix is a command or setting that fixes a failure, by family ("deb",
	// "rpm") or "" for both.
	Fix map[string]string
}

// Guidelines lists the checks the agent runs, in report order.
var Guidelines = []Guideline{
	{ID: "auto-updates", Title: "Automatic security updates are on",
		Advice: "Install security updates automatically, so that fixes do not wait for you.",
		Fix: map[string]string{"deb": "sudo apt-get install unattended-upgrades && sudo dpkg-reconfigure -plow unattended-upgrades",
			"rpm": "sudo dnf install dnf-automatic && sudo sed -i 's/^apply_updates.*/apply_updates = yes/' /etc/dnf/automatic.conf && sudo systemctl enable --now dnf-automatic.timer"}},
	{ID: "kernel-current", Title: "The newest installed kernel is running",
		Advice: "A newer kernel is installed but not running: its fixes are not active until you reboot.",
		Fix:    map[string]string{"": "sudo reboot"}},
	{ID: "livepatch", Title: "Live kernel patches are applied, where they are used",
		Advice: "Live patching keeps the running kernel fixed between reboots, but only while it covers that kernel: reboot into a current kernel so that it can patch again.",
		Fix:    map[string]string{"deb": "sudo apt-get update && sudo apt-get full-upgrade && sudo reboot; then check: canonical-livepatch status", "rpm": "sudo dnf upgrade kernel\\* kpatch-patch\\* && sudo reboot; then check: sudo kpatch list"}},
	{ID: "stale-libraries", Title: "No service runs replaced libraries",
		Advice: "These services still run the old copies of libraries that an update replaced (openssl, glibc…): the update protects them only after they restart.",
		Fix:    map[string]string{"": "sudo systemctl restart SERVICE (the line for this host is given below)"}},
	{ID: "ssh-password-auth", Title: "SSH refuses password logins",
		Advice: "Log in with keys only: passwords can be guessed by the bots that scan every cloud address.",
		Fix: map[string]string{"deb": "put 'PasswordAuthentication no' and 'KbdInteractiveAuthentication no' at the top of /etc/ssh/sshd_config (sshd keeps the first value it reads) and remove them from Match blocks, then: sudo systemctl reload ssh",
			"rpm": "put 'PasswordAuthentication no' and 'KbdInteractiveAuthentication no' at the top of /etc/ssh/sshd_config (sshd keeps the first value it reads) and remove them from Match blocks, then: sudo systemctl reload sshd"}},
	{ID: "ssh-root-login", Title: "SSH does not take root logins with a password",
		Advice: "Log in as a normal user and use sudo; root must not log in with a password.",
		Fix: map[string]string{"deb": "put 'PermitRootLogin prohibit-password' (or 'no') at the top of /etc/ssh/sshd_config (sshd keeps the first value it reads), then: sudo systemctl reload ssh",
			"rpm": "put 'PermitRootLogin prohibit-password' (or 'no') at the top of /etc/ssh/sshd_config (sshd keeps the first value it reads), then: sudo systemctl reload sshd"}},
	{ID: "no-mail-server", Title: "No mail server listens",
		Advice: "The cloud forbids running mail servers on VMs: stop the service listening on port 25, 465 or 587, or bind it to localhost.",
		Fix:    map[string]string{"deb": "sudo systemctl disable --now postfix exim4", "rpm": "sudo systemctl disable --now postfix sendmail"}},
	{ID: "host-firewall", Title: "A host firewall drops what is not allowed",
		Advice: "Turn on a host firewall that drops incoming connections you did not open on purpose.",
		Fix:    map[string]string{"deb": "sudo ufw default deny incoming && sudo ufw allow OpenSSH && sudo ufw enable (ufw covers IPv4 and IPv6)", "rpm": "sudo systemctl enable --now firewalld && sudo firewall-cmd --set-default-zone=public"}},
	{ID: "brute-force-guard", Title: "Brute-force logins are blocked",
		Advice: "Block repeated failed SSH logins with an active fail2ban sshd jail (or sshguard, CrowdSec), or let SSH take only keys and only from your own addresses.",
		Fix:    map[string]string{"deb": "sudo apt-get install fail2ban && printf '[sshd]\\nenabled = true\\nbackend = systemd\\n' | sudo tee /etc/fail2ban/jail.d/sshd.local && sudo systemctl restart fail2ban", "rpm": "sudo dnf install fail2ban && printf '[sshd]\\nenabled = true\\n' | sudo tee /etc/fail2ban/jail.d/sshd.local && sudo systemctl enable --now fail2ban"}},
	{ID: "accounts", Title: "No unneeded accounts or weak keys",
		Advice: "Only root may have UID 0; remove accounts nobody needs, lock passwords of accounts that log in with keys, replace DSA and short RSA keys, and let sudo ask for a password.",
		Fix:    map[string]string{"": "sudo userdel NAME, or sudo passwd -l NAME; replace weak keys with: ssh-keygen -t ed25519; remove NOPASSWD from /etc/sudoers.d/* (sudo visudo -f FILE)"}},
	{ID: "plaintext-services", Title: "Network services are encrypted",
		Advice: "Services that speak plain text on public addresses give away passwords and data to anyone on the path; put them behind TLS or bind them to localhost, and renew certificates before they expire.",
		Fix:    map[string]string{"": "bind the service to 127.0.0.1 or enable its TLS setting; redirect HTTP to HTTPS; renew certificates: sudo certbot renew"}},
	{ID: "listening-services", Title: "Only the services you need listen on the network",
		Advice: "Review what listens on public addresses; stop what you do not need or bind it to localhost.",
		Fix:    map[string]string{"": "sudo ss -ltnup; sudo systemctl disable --now SERVICE"}},
	{ID: "no-baked-keys", Title: "SSH host keys were made for this VM",
		Advice: "This VM's SSH host keys came with its image: every VM made from the image has the same keys, so any of them can pose as this one. Make new keys.",
		Fix: map[string]string{"deb": "sudo rm /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && sudo dpkg-reconfigure openssh-server && sudo systemctl restart ssh",
			"rpm": "sudo rm /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && sudo systemctl restart sshd"}},
	{ID: "remote-logging", Title: "Logs are sent to a remote server, encrypted",
		Advice: "Send logs to a remote server over TLS, so that an intruder cannot erase their traces and nobody on the way can read them.",
		Fix: map[string]string{"deb": "sudo apt-get install rsyslog-gnutls; put in /etc/rsyslog.d/90-remote.conf: *.* action(type=\"omfwd\" target=\"LOGHOST\" port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\" StreamDriverAuthMode=\"x509/name\"), then: sudo systemctl restart rsyslog",
			"rpm": "sudo dnf install rsyslog-gnutls; put in /etc/rsyslog.d/90-remote.conf: *.* action(type=\"omfwd\" target=\"LOGHOST\" port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\" StreamDriverAuthMode=\"x509/name\"), then: sudo systemctl restart rsyslog"}},
}

// GuidelineByID returns the guideline of a check.
func GuidelineByID(id string) (Guideline, bool) {
	for _, g := range Guidelines {
		if g.ID == id {
			return g, true
		}
	}
	return Guideline{}, false
}

// CheckFix returns the command that fixes a failing check on a host of
// the family: the host's own (CheckResult.Command) when the agent gave
// one, else the guideline's for the family, else its common one.
func CheckFix(c CheckResult, family Family) string {
	if c.Command != "" {
		return c.Command
	}
	g, ok := GuidelineByID(c.ID)
	if !ok {
		return ""
	}
	if fix, ok := g.Fix[string(family)]; ok {
		return fix
	}
	return g.Fix[""]
}

// EventCheckFailed is the event of a check that fails and did not before;
// its Advisory field carries the check ID.
const EventCheckFailed = "check-failed"

// CheckEvents returns the check-failed events between a host's previous
// and new check results: a check that fails now and did not fail in the
// previous report. A host's first report with checks tells of every
// failing check.
func CheckEvents(host string, prev, next []CheckResult, now time.Time) []Event {
	failed := map[string]bool{}
	for _, c := range prev {
		failed[c.ID] = c.Status == CheckFail
	}
	var out []Event
	for _, c := range next {
		if c.Status == CheckFail && !failed[c.ID] {
			out = append(out, Event{Kind: EventCheckFailed, Host: host, Advisory: c.ID, At: now})
		}
	}
	return out
}

// HostCheck is a host's check result for people: with the guideline's
// title and the silence that disables it, if any.
type HostCheck struct {
	CheckResult
	Title    string   `json:"title,omitempty"`
	Silenced *Silence `json:"silenced,omitempty"`
}

// HostChecks returns a host's check results with the active silences that
// disable them.
func HostChecks(h *Host, silences []Silence, now time.Time) []HostCheck {
	out := make([]HostCheck, 0, len(h.Checks))
	for _, c := range h.Checks {
		hc := HostCheck{CheckResult: c}
		if g, ok := GuidelineByID(c.ID); ok {
			hc.Title = g.Title
		}
		for i := range silences {
			if silences[i].Active(now) && silences[i].MatchesCheck(h.Name, h.Owner, c.ID) {
				hc.Silenced = &silences[i]
				break
			}
		}
		out = append(out, hc)
	}
	return out
}

// FailingChecks returns the IDs of a host's failing checks that no
// silence disables.
func FailingChecks(checks []HostCheck) []string {
	var out []string
	for _, c := range checks {
		if c.Status == CheckFail && c.Silenced == nil {
			out = append(out, c.ID)
		}
	}
	return out
}
