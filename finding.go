package patchwatch

import "time"

// Status says what a finding asks of the owner.
type Status string

// Finding statuses.
const (
	// StatusUpdate: a fixed version is published; installing it fixes the host.
	StatusUpdate Status = "update-available"
	// StatusSubscription: the fix is published only through a subscription
	// such as Ubuntu Pro.
	StatusSubscription Status = "subscription-required"
	// StatusPendingReboot: the fix is installed but the running kernel is
	// older; a reboot activates it.
	StatusPendingReboot Status = "pending-reboot"
	// StatusNoFix: the advisory lists the package as affected with no fixed
	// version yet.
	StatusNoFix Status = "no-fix-available"
	// StatusUnknownVersion: a version could not be parsed, so exposure could
	// not be decided; reported rather than silently dropped.
	StatusUnknownVersion Status = "unknown-version"
)

// FindingPackage is one installed package that an advisory's fix covers.
type FindingPackage struct {
	Name      string `json:"name"`
	Installed string `json:"installed"`
	Fixed     string `json:"fixed"`
	// Source is the source package through which the fix matched, when the
	// match went through a source package.
	Source string `json:"source,omitempty"`
	// Via says how a package without source information was matched:
	// "binary-list" (the advisory lists the binary among those its source
	// builds) or "binary-map" (the release's learnt binary → source map).
	// Empty when the match went by the package's own or source name.
	Via string `json:"via,omitempty"`
}

// Finding is one advisory outstanding on one host.
type Finding struct {
	Host     string   `json:"host"`
	Advisory string   `json:"advisory"`
	Source   Source   `json:"source"`
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
	// Urgency is patchwatch's verdict on how soon to act; UrgencyReasons
	// says which rules produced it (docs/urgency.md).
	Urgency        Urgency          `json:"urgency"`
	UrgencyReasons []string         `json:"urgency_reasons,omitempty"`
	CVSS           float64          `json:"cvss,omitempty"`
	SourceSeverity string           `json:"source_severity,omitempty"`
	Published      time.Time        `json:"published"`
	CVEs           []string         `json:"cves,omitempty"`
	URL            string           `json:"url,omitempty"`
	Status         Status           `json:"status"`
	Subscription   string           `json:"subscription,omitempty"`
	Packages       []FindingPackage `json:"packages"`
	// Command is the shell command that installs the fix.
	Command    string `json:"command,omitempty"`
	RebootHint bool   `json:"reboot_required_after_update,omitempty"`
	// RunningKernel is set when the exposed package is the running kernel.
	RunningKernel bool `json:"running_kernel,omitempty"`
	// FirstSeen is when patchwatch first saw this finding open (since its
	// last reopening); Deadline when it becomes overdue.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	Deadline  time.Time `json:"deadline,omitzero"`
	Overdue   bool      `json:"overdue,omitempty"`
	// Silenced names the accepted-risk exception that hides the finding.
	Silenced *Silence `json:"silenced,omitempty"`
	// KEV lists the finding's CVEs that are in CISA's Known Exploited
	// Vulnerabilities catalog.
	KEV []KEVEntry `json:"kev,omitempty"`
	// Notes explain caveats: missing source information, unparsable versions.
	Notes []string `json:"notes,omitempty"`
}
