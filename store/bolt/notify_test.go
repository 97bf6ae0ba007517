package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// eventSink keeps the events of an export (a store with nothing else).
type eventSink struct {
	store.Sink
	events []patchwatch.NotifyEvent
}

func (s *eventSink) Event(e patchwatch.NotifyEvent) error {
	s.events = append(s.events, e)
	return nil
}

func (s *eventSink) EvaluationState(string, []string) error { return nil }

// tempStore opens a store in the test's directory, closed when it ends.
func tempStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "pw.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func seqsOf(events []patchwatch.NotifyEvent) []uint64 {
	var out []uint64
	for _, e := range events {
		out = append(out, e.Seq)
	}
	return out
}

// TestQueuedEventsShareValues holds the events of one change, queued in
// one value, to what one value each gave: every event pending in sequence
// order with its own fields, consumed one by one out of its value, and
// exported; beside events queued by earlier builds, a JSON or binary
// value each.
func TestQueuedEventsShareValues(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	opened := func(host, advisory string) patchwatch.Event {
		return patchwatch.Event{Kind: patchwatch.EventOpened, Host: host, Advisory: advisory, Urgency: patchwatch.UrgencyHigh, At: at}
	}
	old := patchwatch.NotifyEvent{Seq: 1, Owner: "ann", Project: "p", Event: opened("vm0", "USN-1-1")}
	oldJSON, _ := json.Marshal(old)
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if err := b.Put(eventKey(1), oldJSON); err != nil {
			return err
		}
		lone := patchwatch.NotifyEvent{Seq: 2, Owner: "ann", Project: "p", Event: opened("vm0", "USN-2-1")}
		if err := b.Put(eventKey(2), encodeEvent(&lone)); err != nil {
			return err
		}
		if err := b.SetSequence(2); err != nil {
			return err
		}
		if err := queueEvents(tx, "bob", "q", []patchwatch.Event{opened("vm1", "DSA-1-1"), opened("vm1", "DSA-2-1"), opened("vm1", "DSA-3-1")}); err != nil {
			return err
		}
		if err := queueEvents(tx, "cy", "", []patchwatch.Event{opened("vm2", "RHSA-1")}); err != nil {
			return err
		}
		if err := queueEvents(tx, "cy", "", nil); err != nil {
			return err
		}
		return queueEvents(tx, "dee", "r", []patchwatch.Event{opened("vm3", "USN-3-1"), opened("vm3", "USN-4-1")})
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := func() []uint64 {
		var out []uint64
		if err := s.db.View(func(tx *bbolt.Tx) error {
			return tx.Bucket(bucketEvents).ForEach(func(k, _ []byte) error {
				out = append(out, binaryKey(k))
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := keys(); !slices.Equal(got, []uint64{1, 2, 3, 6, 7}) {
		t.Fatalf("keys %v, want a value per change", got)
	}
	pending, err := s.PendingEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(pending); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("pending %v", got)
	}
	want := patchwatch.NotifyEvent{Seq: 4, Owner: "bob", Project: "q", Event: opened("vm1", "DSA-2-1")}
	if got := pending[3]; got.Seq != want.Seq || got.Owner != want.Owner || got.Project != want.Project || got.Advisory != want.Advisory || !got.At.Equal(at) {
		t.Fatalf("event 4 %+v, want %+v", got, want)
	}
	if got := pending[0]; got.Owner != "ann" || got.Advisory != "USN-1-1" || !got.At.Equal(at) {
		t.Fatalf("JSON event %+v", got)
	}

	// Out of order, twice, and one never queued.
	if err := s.CommitNotify(ctx, store.NotifyBatch{Consumed: []uint64{8, 4, 1, 99, 4}}); err != nil {
		t.Fatal(err)
	}
	pending, _ = s.PendingEvents(ctx)
	if got := seqsOf(pending); !slices.Equal(got, []uint64{2, 3, 5, 6, 7}) {
		t.Fatalf("pending after consuming 1, 4, 8: %v", got)
	}
	// Consumed before: 8 is past what its value still holds, 4 within it.
	if err := s.CommitNotify(ctx, store.NotifyBatch{Consumed: []uint64{8, 4}}); err != nil {
		t.Fatal(err)
	}
	pending, _ = s.PendingEvents(ctx)
	if got := seqsOf(pending); !slices.Equal(got, []uint64{2, 3, 5, 6, 7}) {
		t.Fatalf("pending after consuming 4 and 8 again: %v", got)
	}
	if err := s.CommitNotify(ctx, store.NotifyBatch{Consumed: []uint64{3, 5, 2}}); err != nil {
		t.Fatal(err)
	}
	if got := keys(); !slices.Equal(got, []uint64{6, 7}) {
		t.Fatalf("keys %v once 1-5 are consumed", got)
	}
	if err := s.update(func(tx *bbolt.Tx) error {
		return queueEvents(tx, "ann", "", []patchwatch.Event{opened("vm6", "USN-10-1"), opened("vm6", "USN-11-1")})
	}); err != nil {
		t.Fatal(err)
	}
	// One event left of a value of three: it is pending and consumed
	// under its own sequence number.
	if err := s.CommitNotify(ctx, store.NotifyBatch{Consumed: []uint64{9, 10}}); err != nil {
		t.Fatal(err)
	}
	if err := s.update(func(tx *bbolt.Tx) error {
		return queueEvents(tx, "ann", "", []patchwatch.Event{opened("vm5", "USN-7-1"), opened("vm5", "USN-8-1"), opened("vm5", "USN-9-1")})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitNotify(ctx, store.NotifyBatch{Consumed: []uint64{9, 11, 13}}); err != nil {
		t.Fatal(err)
	}
	pending, _ = s.PendingEvents(ctx)
	if got := seqsOf(pending); !slices.Equal(got, []uint64{6, 7, 12}) || pending[2].Advisory != "USN-8-1" {
		t.Fatalf("pending with one event left of a value: %+v", pending)
	}
	if err := s.CommitNotify(ctx, store.NotifyBatch{Consumed: []uint64{12}}); err != nil {
		t.Fatal(err)
	}
	if err := s.update(func(tx *bbolt.Tx) error {
		return queueEvents(tx, "ann", "", []patchwatch.Event{opened("vm4", "USN-5-1"), opened("vm4", "USN-6-1")})
	}); err != nil {
		t.Fatal(err)
	}
	var sink eventSink
	if err := s.Export(ctx, &sink); err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(sink.events); !slices.Equal(got, []uint64{6, 7, 14, 15}) {
		t.Fatalf("exported %v", got)
	}
	if e := sink.events[2]; e.Owner != "ann" || e.Host != "vm4" || e.Advisory != "USN-5-1" {
		t.Fatalf("exported %+v", e)
	}
}

func binaryKey(k []byte) uint64 {
	var n uint64
	for _, b := range k {
		n = n<<8 | uint64(b)
	}
	return n
}

// TestEventValuesReject feeds the batch decoder values it must refuse.
func TestEventValuesReject(t *testing.T) {
	one := encodeEvent(&patchwatch.NotifyEvent{Seq: 3, Event: patchwatch.Event{Kind: patchwatch.EventOpened, Host: "h", Advisory: "a", At: time.Unix(1, 0)}})
	two := encodeEvents([]patchwatch.NotifyEvent{{Seq: 3, Event: patchwatch.Event{Kind: "opened"}}, {Seq: 4, Event: patchwatch.Event{Kind: "resolved"}}})
	if got, err := appendEvents(nil, nil, two); err != nil || len(got) != 2 || got[1].Seq != 4 || got[1].Kind != "resolved" {
		t.Fatalf("two events: %+v, %v", got, err)
	}
	// Events of every length class of their prefix, queued together,
	// read back as they were.
	var long []patchwatch.NotifyEvent
	for i, n := range []int{1, 100, 130, 20000, 3} {
		long = append(long, patchwatch.NotifyEvent{Seq: uint64(10 + i), Owner: strings.Repeat("o", n), Event: patchwatch.Event{Kind: "opened", Host: "h", At: time.Unix(int64(n), 0).UTC()}})
	}
	if got, err := appendEvents(nil, nil, encodeEvents(long)); err != nil || !reflect.DeepEqual(got, long) {
		t.Fatalf("events of many lengths: %v", err)
	}
	for name, bad := range map[string][]byte{
		"empty":          {},
		"no count":       {eventBatchV1},
		"one in a batch": append([]byte{eventBatchV1, 1, byte(len(one))}, one...),
		"huge count":     {eventBatchV1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1},
		"truncated":      two[:len(two)-1],
		"trailing":       append(append([]byte{}, two...), 0),
		"bad length":     {eventBatchV1, 2, 0x7f, 1},
	} {
		if got, err := appendEvents(nil, nil, bad); err == nil {
			t.Errorf("%s: decoded %+v", name, got)
		}
	}
}

// TestEventsFromSchema8: a database of schema 8, its events a value each,
// opens as schema 9 with nothing rewritten, its events pending as before.
func TestEventsFromSchema8(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lone := patchwatch.NotifyEvent{Seq: 1, Owner: "ann", Event: patchwatch.Event{Kind: patchwatch.EventOpened, Host: "vm1", Advisory: "USN-1-1", At: time.Unix(100, 0).UTC()}}
	if err := s.update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketEvents).Put(eventKey(1), encodeEvent(&lone)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketEvents).SetSequence(1); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, 8))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var schema uint64
	s.db.View(func(tx *bbolt.Tx) error {
		schema = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keySchema))
		return nil
	})
	pending, err := s.PendingEvents(context.Background())
	if schema != SchemaVersion || err != nil || len(pending) != 1 || !reflect.DeepEqual(pending[0], lone) {
		t.Fatalf("schema %d, pending %+v, %v", schema, pending, err)
	}
}
