package patchwatch

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Urgency says how soon a finding must be fixed. Every finding has one.
type Urgency int

// Urgencies, ordered so that a larger value is more urgent.
const (
	UrgencyLow Urgency = iota + 1
	UrgencyMedium
	UrgencyHigh
	UrgencyCritical
)

var urgencyNames = map[Urgency]string{UrgencyLow: "low", UrgencyMedium: "medium", UrgencyHigh: "high", UrgencyCritical: "critical"}

// String returns the lowercase name used in output and JSON.
func (u Urgency) String() string {
	if n, ok := urgencyNames[u]; ok {
		return n
	}
	return "unset"
}

// MarshalText encodes the urgency by name.
func (u Urgency) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText decodes an urgency name.
func (u *Urgency) UnmarshalText(b []byte) error {
	v, err := ParseUrgency(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// ParseUrgency reads "low", "medium", "high" or "critical".
func ParseUrgency(s string) (Urgency, error) {
	for u, n := range urgencyNames {
		if n == s {
			return u, nil
		}
	}
	return 0, fmt.Errorf("unknown urgency %q (low, medium, high, critical)", s)
}

// UrgencyRules are the tunable rules that turn a finding's facts into an
// urgency. They are applied in one place, Assess, and documented as a
// table in docs/urgency.md.
type UrgencyRules struct {
	// Unknown is the urgency of a finding whose source states no severity
	// and gives no CVSS score.
	Unknown Urgency `yaml:"unknown"`
	// CVSSCritical and CVSSHigh are the base-score thresholds that raise a
	// finding to at least critical or high; 0 disables the rule.
	CVSSCritical float64 `yaml:"cvss_critical"`
	CVSSHigh     float64 `yaml:"cvss_high"`
	// KEV is the least urgency of a finding with a CVE in CISA's KEV catalog.
	KEV Urgency `yaml:"kev"`
	// KEVRansomware is the least urgency when KEV records known ransomware use.
	KEVRansomware Urgency `yaml:"kev_ransomware"`
	// RunningKernelRaise raises by one level (to at most high) a finding
	// that affects the kernel the host is running.
	RunningKernelRaise bool `yaml:"running_kernel_raise"`
	// FixAge raises a low finding to medium when its fix has been published
	// for longer than this; 0 disables the rule.
	FixAge time.Duration `yaml:"fix_age"`
	// Deadlines give, per urgency, how long after a finding is first seen
	// it becomes overdue.
	Deadlines map[string]time.Duration `yaml:"deadlines"`
}

// DefaultUrgencyRules returns the rules documented in docs/urgency.md.
func DefaultUrgencyRules() UrgencyRules {
	return UrgencyRules{
		Unknown:            UrgencyMedium,
		CVSSCritical:       9.0,
		CVSSHigh:           7.0,
		KEV:                UrgencyHigh,
		KEVRansomware:      UrgencyCritical,
		RunningKernelRaise: true,
		FixAge:             90 * 24 * time.Hour,
		Deadlines: map[string]time.Duration{
			"critical": 2 * 24 * time.Hour,
			"high":     7 * 24 * time.Hour,
			"medium":   30 * 24 * time.Hour,
			"low":      90 * 24 * time.Hour,
		},
	}
}

// Validate checks the rules.
func (r UrgencyRules) Validate() error {
	var errs []error
	for key, u := range map[string]Urgency{"unknown": r.Unknown, "kev": r.KEV, "kev_ransomware": r.KEVRansomware} {
		if u < UrgencyLow || u > UrgencyCritical {
			errs = append(errs, fmt.Errorf("urgency.%s: must be low, medium, high or critical", key))
		}
	}
	if r.CVSSCritical < 0 || r.CVSSCritical > 10 || r.CVSSHigh < 0 || r.CVSSHigh > 10 {
		errs = append(errs, errors.New("urgency.cvss_critical, urgency.cvss_high: must be 0 to 10"))
	}
	for _, name := range []string{"critical", "high", "medium", "low"} {
		if d, ok := r.Deadlines[name]; !ok || d <= 0 {
			errs = append(errs, fmt.Errorf("urgency.deadlines.%s: must be a positive duration", name))
		}
	}
	for name := range r.Deadlines {
		if _, err := ParseUrgency(name); err != nil {
			errs = append(errs, fmt.Errorf("urgency.deadlines.%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Deadline returns when a finding of urgency u first seen at firstSeen
// becomes overdue.
func (r UrgencyRules) Deadline(u Urgency, firstSeen time.Time) time.Time {
	return firstSeen.Add(r.Deadlines[u.String()])
}

// UrgencyFacts are what Assess weighs: the advisory's severity and CVSS,
// KEV listings, whether the running kernel is affected, and the fix's age.
type UrgencyFacts struct {
	Severity       Severity
	SourceSeverity string
	CVSS           float64
	KEV            []KEVEntry
	RunningKernel  bool
	FixPublished   time.Time
}

// Assess applies the rules to a finding's facts and returns its urgency
// with the reasons, in the order the rules applied.
func (r UrgencyRules) Assess(f UrgencyFacts, now time.Time) (Urgency, []string) {
	var u Urgency
	var reasons []string
	raise := func(to Urgency, why string) {
		if to > u {
			u = to
			reasons = append(reasons, why)
		}
	}
	switch f.Severity {
	case SeverityCritical:
		u = UrgencyCritical
	case SeverityHigh:
		u = UrgencyHigh
	case SeverityMedium:
		u = UrgencyMedium
	case SeverityLow, SeverityNegligible:
		u = UrgencyLow
	}
	// Reasons are concatenated, not formatted: a full re-evaluation gives
	// a million findings theirs.
	if u != 0 {
		word := f.SourceSeverity
		if word == "" {
			word = f.Severity.String()
		}
		reasons = append(reasons, "source severity "+word)
	}
	if f.CVSS > 0 {
		band := UrgencyLow
		switch {
		case r.CVSSCritical > 0 && f.CVSS >= r.CVSSCritical:
			band = UrgencyCritical
		case r.CVSSHigh > 0 && f.CVSS >= r.CVSSHigh:
			band = UrgencyHigh
		case f.CVSS >= 4:
			band = UrgencyMedium
		}
		if u == 0 {
			u = band
			reasons = append(reasons, "no stated severity; CVSS "+strconv.FormatFloat(f.CVSS, 'f', 1, 64))
		} else if band >= UrgencyHigh {
			raise(band, "CVSS "+strconv.FormatFloat(f.CVSS, 'f', 1, 64))
		}
	}
	if u == 0 {
		u = r.Unknown
		reasons = append(reasons, "severity unknown")
	}
	for _, e := range f.KEV {
		why := e.CVE + " is exploited in the wild (CISA KEV since " + e.DateAdded
		if e.DueDate != "" {
			why += ", due " + e.DueDate
		}
		if e.Ransomware == "Known" {
			raise(r.KEVRansomware, why+", used by ransomware)")
		}
		raise(r.KEV, why+")")
	}
	if r.RunningKernelRaise && f.RunningKernel && u < UrgencyHigh {
		raise(u+1, "affects the running kernel")
	}
	if r.FixAge > 0 && u == UrgencyLow && !f.FixPublished.IsZero() && now.Sub(f.FixPublished) > r.FixAge {
		raise(UrgencyMedium, fmt.Sprintf("fix available for %d days", int(now.Sub(f.FixPublished).Hours()/24)))
	}
	return u, reasons
}
