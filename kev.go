package patchwatch

// KEVEntry is one CVE of CISA's Known Exploited Vulnerabilities catalog:
// exploited in the wild, so a finding that carries it is urgent whatever
// the distribution's own severity says.
type KEVEntry struct {
	CVE  string `json:"cve"`
	Name string `json:"name,omitempty"`
	// DateAdded and DueDate are the catalog's YYYY-MM-DD dates; DueDate is
	// the remediation deadline CISA sets for US federal agencies.
	DateAdded string `json:"date_added"`
	DueDate   string `json:"due_date,omitempty"`
	// Ransomware is the catalog's knownRansomwareCampaignUse ("Known" or "Unknown").
	Ransomware string `json:"known_ransomware_use,omitempty"`
}

// CVEUrgency is a distribution's own urgency of one CVE in one source
// package on one release (the Debian security tracker's "urgency").
type CVEUrgency struct {
	Release string `json:"release"` // release key, "debian:12"
	Package string `json:"package"`
	CVE     string `json:"cve"`
	Urgency string `json:"urgency"` // as stated: low, medium, high, unimportant
}
