package service

import (
	"context"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// The storage contract: what the service needs of a database, in small
// interfaces, none of them tied to bbolt. store/bolt implements them all;
// a second implementation (store/postgres) implements the same set (both
// assert it in their tests). Errors
// for a missing host or advisory wrap store.ErrNotFound.

// AdvisorySource is where advisories and the facts that refine findings
// are read.
type AdvisorySource interface {
	// AdvisoriesFor returns the advisories with a fix for any of packages
	// on release.
	AdvisoriesFor(ctx context.Context, release string, packages []string) ([]patchwatch.Advisory, error)
	// EachAdvisory calls fn for every advisory; fn's error stops the walk.
	EachAdvisory(ctx context.Context, fn func(patchwatch.Advisory) error) error
	// Advisory returns one advisory (ErrNotFound when unknown).
	Advisory(ctx context.Context, id string) (patchwatch.Advisory, error)
	// HasRelease reports whether any advisory fixes a package on release.
	HasRelease(ctx context.Context, release string) (bool, error)
	// KEV returns the catalog entries of the listed CVEs.
	KEV(ctx context.Context, cves []string) (map[string]patchwatch.KEVEntry, error)
	// Urgencies returns the Debian tracker's urgencies of a source package
	// on a release, by CVE.
	Urgencies(ctx context.Context, release, pkg string) (map[string]string, error)
}

// HostSource is where hosts with their inventories are read.
type HostSource interface {
	// Host returns one host (ErrNotFound when unknown).
	Host(ctx context.Context, name string) (patchwatch.Host, error)
	// HostsAfter returns up to limit hosts in name order after the named one.
	HostsAfter(ctx context.Context, after string, limit int) ([]patchwatch.Host, error)
	// CountHosts returns the number of hosts.
	CountHosts(ctx context.Context) (int, error)
	// HostsWithPackages returns the hosts indexed under any of the pairs.
	HostsWithPackages(ctx context.Context, pairs []store.ReleasePackage) ([]string, error)
}

// FindingWriter stores evaluated findings. Each call is one transaction
// that also keeps the finding records, the read models (host records,
// finding details, owner and advisory indexes) and the notification
// events in step.
type FindingWriter interface {
	// ApplyReport stores a report with its findings.
	ApplyReport(ctx context.Context, h patchwatch.Host, index []store.ReleasePackage, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error)
	// SyncFindings stores one host's re-evaluated findings.
	SyncFindings(ctx context.Context, h patchwatch.Host, findings []patchwatch.Finding, rebootRequired bool, now time.Time) ([]patchwatch.Event, error)
	// SyncBatch stores several hosts' re-evaluated findings, skipping
	// those that reported (or were removed) since they were read; the
	// events of the changes are queued for the notifier.
	SyncBatch(ctx context.Context, batch []store.Evaluation, now time.Time) error
}

// HostLoader bulk-loads hosts without evaluating them.
type HostLoader interface {
	// PutHosts stores hosts in one transaction and flags a full
	// re-evaluation.
	PutHosts(ctx context.Context, hosts []store.HostEntry) error
}

// ReadModel is what the queries read: stored records and details only.
type ReadModel interface {
	// HostRecord returns one host's record (ErrNotFound when unknown).
	HostRecord(ctx context.Context, name string) (patchwatch.HostRecord, error)
	// EachHostRecord walks host records in name order, of one owner when
	// owner is set (case-insensitive), past the host named after.
	EachHostRecord(ctx context.Context, owner, after string, fn func(*patchwatch.HostRecord) error) error
	// EachHostRecordOf calls fn with the records of the named hosts (in
	// name order, as given) that are stored.
	EachHostRecordOf(ctx context.Context, names []string, fn func(*patchwatch.HostRecord) error) error
	// HostsWithAdvisories returns, in name order, the hosts with an open
	// finding of any of ids.
	HostsWithAdvisories(ctx context.Context, ids []string) ([]string, error)
	// HostsWithUrgency returns, in name order, the hosts with an open
	// finding whose stored urgency is one of urgencies.
	HostsWithUrgency(ctx context.Context, urgencies []patchwatch.Urgency) ([]string, error)
	// FindingDetails returns the named open findings in the order asked,
	// leaving out those resolved since.
	FindingDetails(ctx context.Context, keys []store.HostAdvisory) ([]patchwatch.Finding, error)
	// HostFindings returns one host's open findings.
	HostFindings(ctx context.Context, host string) ([]patchwatch.Finding, error)
	// FindingRecords returns the finding records of one host, or all.
	FindingRecords(ctx context.Context, host string) ([]patchwatch.FindingRecord, error)
	// Silences returns every silence.
	Silences(ctx context.Context) ([]patchwatch.Silence, error)
}

// EvaluationState remembers that the stored findings need a full
// re-evaluation (after a migration or a change of rules).
type EvaluationState interface {
	// EvaluationPending returns why a full re-evaluation is due, or "".
	EvaluationPending(ctx context.Context) (string, error)
	// SetEvaluationPending records why one is due, or clears it ("").
	SetEvaluationPending(ctx context.Context, why string) error
	// Releases returns the releases that have advisories now.
	Releases(ctx context.Context) ([]string, error)
	// EvaluatedReleases returns those that had advisories when the stored
	// findings were last brought up to date (nil when never recorded);
	// SetEvaluatedReleases records them.
	EvaluatedReleases(ctx context.Context) ([]string, error)
	SetEvaluatedReleases(ctx context.Context, releases []string) error
	// EvaluatedRules returns the fingerprint of the urgency rules the
	// stored findings were evaluated with ("" when never recorded);
	// SetEvaluatedRules records it.
	EvaluatedRules(ctx context.Context) (string, error)
	SetEvaluatedRules(ctx context.Context, fingerprint string) error
}

// BinaryMap is the release's binary → source map, learnt from the
// inventories that carried source fields and from advisories that name
// binaries, for hosts whose inventories carry none.
type BinaryMap interface {
	// BinarySources returns, for each of binaries known on release, the
	// source packages that build it: those whose versions track the
	// binary's, and the untracked ones.
	BinarySources(ctx context.Context, release string, binaries []string) (tracking, untracked map[string][]string, err error)
	// LearnBinarySources records h's binary → source pairs and returns the
	// (release, binary) pairs it did not know before.
	LearnBinarySources(ctx context.Context, h *patchwatch.Host) ([]store.ReleasePackage, error)
	// BinariesBuilt returns the (release, binary) pairs built by the
	// listed (release, source) pairs.
	BinariesBuilt(ctx context.Context, sources []store.ReleasePackage) ([]store.ReleasePackage, error)
}

// Storage is the whole contract.
type Storage interface {
	AdvisorySource
	HostSource
	FindingWriter
	HostLoader
	ReadModel
	EvaluationState
	BinaryMap
}
