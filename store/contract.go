// Package store is patchwatch's storage contract: the types, errors and
// rules shared by its implementations, store/bolt (bbolt, the embedded
// default) and store/postgres (PostgreSQL, for several replicas). The
// interfaces themselves are defined where they are used (service,
// server, notify, console, cmd/patchwatch).
package store

import (
	"errors"
	"time"

	"github.com/patchwatch/patchwatch"
)

// Errors every implementation returns.
var (
	// ErrNotFound is wrapped by a lookup of a host, advisory, token or
	// session that is not stored.
	ErrNotFound = errors.New("not found")
	// ErrSchema is returned on opening a database written by a newer
	// patchwatch.
	ErrSchema = errors.New("unsupported database schema")
)

// Outcome is what an upsert did with one advisory.
type Outcome string

// Upsert outcomes.
const (
	Inserted  Outcome = "new"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	// Stale: the stored copy has a later modified time and was kept.
	Stale Outcome = "stale"
)

// Sink receives a whole database, record by record, for a copy to another
// implementation of the storage contract (patchwatch migrate-store). The
// store decodes its own layout; the sink never sees bbolt's keys.
type Sink interface {
	Advisory(a patchwatch.Advisory) error
	// Host comes with the (release, package) pairs it is indexed under.
	Host(h patchwatch.Host, index []ReleasePackage) error
	HostState(host string, st HostState) error
	Finding(host string, r patchwatch.FindingRecord) error
	HostRecord(r patchwatch.HostRecord) error
	FindingDetail(host string, f patchwatch.Finding) error
	BinaryPair(p BinaryPair) error
	Token(hash []byte, t patchwatch.Token) error
	Enrollment(e patchwatch.Enrollment) error
	Silence(s patchwatch.Silence) error
	Event(e patchwatch.NotifyEvent) error
	Delivery(d patchwatch.Delivery) error
	Notified(host, advisory string, at time.Time) error
	NotifyMeta(key string, value []byte) error
	Cursor(feed string, value []byte) error
	KEV(e patchwatch.KEVEntry) error
	Urgency(u patchwatch.CVEUrgency) error
	FeedStatus(st patchwatch.FeedStatus) error
	// EvaluationState carries the meta flags: why a full re-evaluation is
	// due ("" when not) and the releases last evaluated (nil: never).
	EvaluationState(pending string, evaluated []string) error
}

// SourceStats is how many advisories of one source are stored and when
// the newest of them was published.
type SourceStats struct {
	Advisories      int
	NewestPublished time.Time
}

// HostState is what patchwatch tracks about a host between reports.
type HostState struct {
	// RebootRequiredSince is when the host was first seen needing a reboot
	// (a fix installed but not active, or the distribution's flag); zero
	// when it does not.
	RebootRequiredSince time.Time `json:"reboot_required_since,omitzero"`
}

// ReleasePackage is one (release, package name) pair a host is indexed under.
type ReleasePackage struct{ Release, Package string }

// HostEntry is one host for PutHosts, with the pairs it is indexed under.
type HostEntry struct {
	Host  patchwatch.Host
	Index []ReleasePackage
}

// NotifyBatch is one step of the notifier, committed atomically: events
// consumed, deliveries queued, findings marked notified, metadata set.
type NotifyBatch struct {
	Consumed   []uint64
	Deliveries []patchwatch.Delivery
	Notified   map[[2]string]time.Time // (host, advisory) -> when
	Meta       map[string][]byte
}

// HostAdvisory names one finding: an advisory on a host.
type HostAdvisory struct{ Host, Advisory string }

// ErrStop, returned by a walk's callback, ends the walk without error.
var ErrStop = errors.New("stop walking")

// PendingReindex is why a full re-evaluation is due after the migration
// to schema 6, which dropped the old package index: that re-evaluation
// must give every host its index again (Evaluation.Index); any other
// leaves the index as it is.
const PendingReindex = "schema 6 stores evaluated findings"

// Evaluation is one host's freshly evaluated findings, for SyncBatch;
// Index, when not nil, re-indexes the host under its packages too.
type Evaluation struct {
	Host           patchwatch.Host
	Findings       []patchwatch.Finding
	RebootRequired bool
	Index          []ReleasePackage
	// Prepared is work a store did on the evaluation ahead of its write,
	// outside the serialised transaction (bbolt encodes the findings), for
	// its SyncBatch: the caller only carries it along. It depends on the
	// evaluation alone, never on what is stored. SyncBatch may reuse its
	// space once it returns: an evaluation is written once.
	Prepared any
}

// HostTuples is a stored host whose packages are interned as tuples: the
// host without its packages and the IDs of its package tuples, in
// inventory order. IDs are empty (and Host.Packages whole) for a host
// stored before its store interned packages.
type HostTuples struct {
	Host patchwatch.Host
	IDs  []uint32
}

// Enroll is one enrollment: by an enroll token (or an admin token, for a
// host already enrolled), of Host, creating HostToken under HostTokenHash.
type Enroll struct {
	Host          string
	By            patchwatch.Token
	HostToken     patchwatch.Token
	HostTokenHash []byte
	Now           time.Time
}

// ErrAdminEnroll is an admin token enrolling a host nobody has enrolled:
// a first enrollment needs an enroll token, which names the owner.
var ErrAdminEnroll = errors.New("an admin token only re-enrolls an enrolled host")

// ResolvedWithdrawn is the FindingRecord.ResolvedBy of a finding whose
// advisory its publisher withdrew.
const ResolvedWithdrawn = "withdrawn"

// Withdrawal names an advisory its source withdrew, and when.
type Withdrawal struct {
	ID string
	// At is the time of the withdrawal; a stored copy modified after it
	// was published again and is kept. Zero withdraws whatever is stored.
	At time.Time
}
