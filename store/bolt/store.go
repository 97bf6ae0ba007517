// Package bolt implements patchwatch's storage contract (package store)
// on bbolt, the embedded default database: one file, no server. It is the
// only package that imports bbolt.
package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/patchwatch/patchwatch/store"
)

// SchemaVersion is the layout version this code reads and writes. Open
// migrates older layouts forward and refuses newer ones.
const SchemaVersion = 12

// Bucket names. Keys sort: fix index keys are release, package and advisory
// ID separated by NUL, so one prefix scan finds the fixes for a package.
var (
	bucketMeta       = []byte("meta")
	bucketAdvisories = []byte("advisories")
	bucketFixIndex   = []byte("fix_index")
	bucketHosts      = []byte("hosts")
	bucketCursors    = []byte("cursors")
	bucketKEV        = []byte("kev")
	bucketUrgency    = []byte("debian_urgency")
	bucketFindings   = []byte("findings")   // host NUL advisory -> resolved FindingRecord
	bucketHostState  = []byte("host_state") // host -> store.HostState
	// bucketOldHostIndex is schema 5's package index (release NUL package
	// NUL host), dropped by the migration to 6 (hostindex.go replaces it).
	bucketOldHostIndex = []byte("host_packages")
	bucketSilences     = []byte("silences")      // id -> Silence
	bucketTokens       = []byte("tokens")        // sha256 of the secret -> Token
	bucketTokenIDs     = []byte("token_ids")     // token id -> sha256 of the secret
	bucketEvents       = []byte("notify_events") // sequence -> NotifyEvent, waiting for the notifier
	bucketOutbox       = []byte("outbox")        // delivery id -> Delivery
	bucketNotified     = []byte("notified")      // host NUL advisory -> last notified time
	bucketNotifyMeta   = []byte("notify_meta")   // digest schedules and snapshots

	bucketHostRecords = []byte("host_records") // host -> HostRecord (readmodel.go)
	// bucketFindingDetails is schema 6 to 10's finding details (host NUL
	// advisory -> Finding), regrouped into host_details by the migration
	// to 11.
	bucketFindingDetails = []byte("finding_details")
	bucketHostDetails    = []byte("host_details") // host -> its open findings' details (hostdetails.go)
	bucketOpenRecords    = []byte("open_records") // host -> its open finding records (openrecords.go)
	bucketOwnerIndex     = []byte("owner_hosts")  // lower(owner) NUL host -> empty
	// bucketOldAdvisoryIndex is schema 7's advisory index (advisory NUL
	// host -> empty), replaced by advisory_host_bits in schema 8;
	// bucketAdvisoryBits is schema 8's (shard of 64, advisory -> uint64
	// bitmap), replaced by advisory_host_sets in schema 10.
	bucketOldAdvisoryIndex = []byte("advisory_hosts")
	bucketAdvisoryBits     = []byte("advisory_host_bits")
	bucketAdvisorySets     = []byte("advisory_host_sets")  // shard, advisory -> host set (advisoryindex.go)
	bucketTuples           = []byte("package_tuples")      // id -> package tuple (tuples.go)
	bucketTupleIDs         = []byte("package_tuple_ids")   // package tuple -> id
	bucketHostIDs          = []byte("host_ids")            // host -> id (hostindex.go)
	bucketHostNames        = []byte("host_names")          // id -> host
	bucketPairIDs          = []byte("package_pair_ids")    // release NUL package -> id
	bucketPackageBlocks    = []byte("package_host_blocks") // shard, block of pair ids -> host bitmaps
	// bucketOldPackageHosts is schema 6's package index bitmaps (shard,
	// pair id -> bitmap), regrouped into blocks by the migration to 7.
	bucketOldPackageHosts = []byte("package_hosts")
	bucketHostPairs       = []byte("host_pairs")    // host -> digest, pair ids
	bucketUrgencyIndex    = []byte("urgency_hosts") // urgency byte, host -> empty (urgencyindex.go)

	keySchema = []byte("schema_version")
)

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("database is in use by another process")

// Store is a patchwatch database.
type Store struct {
	db      *bbolt.DB
	tuples  tupleCache
	decoded advisoryCache
	ids     committedIDs
	// knownPairs are binary map pairs known committed (binarymap.go).
	knownPairs knownPairs
	// interns are interners for decoding records, kept from one batch to
	// the next (interner.go).
	interns sync.Pool
	// encodings are the buffers of prepared findings (unchanged.go).
	encodings sync.Pool
}

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for another process's lock; default 2s.
	LockTimeout time.Duration
	ReadOnly    bool
}

// Open opens or creates the database at path, creating every bucket and
// migrating the schema in one transaction.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 2 * time.Second
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Store{db: db}
	if opts.ReadOnly {
		err = db.View(func(tx *bbolt.Tx) error { return checkSchema(tx) })
	} else {
		err = db.Update(func(tx *bbolt.Tx) error { packed(tx); return migrate(tx) })
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

func checkSchema(tx *bbolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: not a patchwatch database", store.ErrSchema)
	}
	v := meta.Get(keySchema)
	if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 || binary.BigEndian.Uint64(v) > SchemaVersion {
		return fmt.Errorf("%w: version %x, this build reads 1 to %d", store.ErrSchema, v, SchemaVersion)
	}
	return nil
}

// migrate brings any earlier layout to SchemaVersion. Every step so far
// only adds buckets (version 2: kev, debian_urgency; version 3: findings,
// host_state, host_packages, silences; version 4: tokens, token_ids;
// version 5: notify_events, outbox, notified, notify_meta), so creating
// the missing ones is the whole migration; a read-only open of an older
// database finds them absent, and the readers treat that as empty.
// Version 6 adds the read models (host_records, finding_details,
// owner_hosts, advisory_hosts), built from the stored hosts, and flags the
// findings for one full re-evaluation by the service; hosts written from
// then on keep their packages in the shared tuple table (package_tuples,
// package_tuple_ids), and older host values are still read as they are.
// It also adds the enrollment claims and the host-token index
// (host_tokens, enrollments), built from the live host tokens
// (migrateEnrollments), and the binary map (binary_sources,
// source_binaries), filled from the stored hosts and advisories
// (binarymap.go). Version 7 regroups the package index's bitmaps into
// blocks of pair IDs (package_host_blocks, hostindex.go), re-encodes the
// host records, finding details and finding records in their binary form
// (recordcodec.go) and adds the urgency index (urgency_hosts), built from
// the host records. Version 8 keys the advisory index by shard of host IDs
// (advisory_host_bits, advisoryindex.go), built from the finding details,
// and drops version 7's (advisory_hosts). Version 9 queues the events of
// one change in one value (notify_events, notify.go); the values of
// earlier builds still read, so nothing is rewritten: the version keeps
// the builds that cannot read the new values off the database. Version 10
// regroups the advisory index into shards of 4,096 hosts
// (advisory_host_sets), built from the finding details, and drops version
// 8's (advisory_host_bits). Version 11 keeps the details of a host's open
// findings in one value (host_details, hostdetails.go) instead of one per
// finding (finding_details, dropped). Version 12 keeps a host's open
// finding records in one value (open_records, openrecords.go); the
// findings keys keep the resolved ones.
func migrate(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	current := uint64(0)
	if v := meta.Get(keySchema); len(v) == 8 {
		current = binary.BigEndian.Uint64(v)
	}
	if current > SchemaVersion {
		return fmt.Errorf("%w: database has version %d, this build reads up to %d", store.ErrSchema, current, SchemaVersion)
	}
	for _, name := range [][]byte{bucketAdvisories, bucketFixIndex, bucketHosts, bucketCursors, bucketKEV, bucketUrgency, bucketFindings, bucketHostState, bucketSilences, bucketTokens, bucketTokenIDs, bucketEvents, bucketOutbox, bucketNotified, bucketNotifyMeta,
		bucketHostRecords, bucketHostDetails, bucketOpenRecords, bucketOwnerIndex, bucketAdvisorySets, bucketTuples, bucketTupleIDs,
		bucketHostIDs, bucketHostNames, bucketPairIDs, bucketPackageBlocks, bucketHostPairs,
		bucketBinarySources, bucketSourceBinaries, bucketUrgencyIndex} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	if current < 6 {
		if err := migrateReadModels(tx); err != nil {
			return fmt.Errorf("migrate to schema 6: %w", err)
		}
	}
	if err := migrateEnrollments(tx); err != nil {
		return err
	}
	if current > 0 && current < 6 {
		if err := backfillBinaryMap(tx); err != nil {
			return fmt.Errorf("fill the binary map: %w", err)
		}
	}
	if current > 0 && current < 7 {
		if err := reencodeRecords(tx); err != nil {
			return fmt.Errorf("migrate to schema 7: %w", err)
		}
		if err := buildUrgencyIndex(tx); err != nil {
			return fmt.Errorf("migrate to schema 7: %w", err)
		}
	}
	if current > 0 && current < 11 {
		// Before the advisory index's migration, which reads the details.
		if err := migrateHostDetails(tx); err != nil {
			return fmt.Errorf("migrate to schema 11: %w", err)
		}
	}
	if current < 7 {
		if err := migratePackageBlocks(tx); err != nil {
			return fmt.Errorf("migrate to schema 7: %w", err)
		}
	}
	if current > 0 && current < 10 {
		if err := migrateAdvisoryIndex(tx); err != nil {
			return fmt.Errorf("migrate to schema 10: %w", err)
		}
	}
	if current > 0 && current < 12 {
		if err := migrateOpenRecords(tx); err != nil {
			return fmt.Errorf("migrate to schema 12: %w", err)
		}
	}
	return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, SchemaVersion))
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }
