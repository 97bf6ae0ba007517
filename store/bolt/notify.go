package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// queueEvents queues the events of one change of a host (one owner's) in
// one value, keyed by its first sequence number, the others following it:
// a first evaluation queues a million events, and a key for each was a
// third of its writer's puts. A lone event keeps a value of its own.
func queueEvents(tx *bbolt.Tx, owner, project string, events []patchwatch.Event) error {
	if len(events) == 0 {
		return nil
	}
	b := tx.Bucket(bucketEvents)
	first := b.Sequence() + 1
	if err := b.SetSequence(b.Sequence() + uint64(len(events))); err != nil {
		return err
	}
	if len(events) == 1 {
		return b.Put(eventKey(first), encodeEvent(&patchwatch.NotifyEvent{Seq: first, Owner: owner, Project: project, Event: events[0]}))
	}
	// Encoded in place, each event after its length: a first evaluation
	// queues a million.
	out := append(make([]byte, 0, 16+len(events)*(64+len(owner)+len(project))), eventBatchV1)
	out = binary.AppendUvarint(out, uint64(len(events)))
	ev := patchwatch.NotifyEvent{Owner: owner, Project: project}
	for i := range events {
		ev.Seq, ev.Event = first+uint64(i), events[i]
		out = appendEventEntry(out, &ev)
	}
	return b.Put(eventKey(first), out)
}

func eventKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// eventBatchV1 tags a value of several events, each encoded as a lone
// event's value is (recordCodecV1), after its length. JSON values (events
// queued by earlier builds) start with '{'.
const eventBatchV1 = 2

// encodeEvents encodes events (at least one, in sequence order) as one
// value: a lone one as before batches were.
func encodeEvents(events []patchwatch.NotifyEvent) []byte {
	if len(events) == 1 {
		return encodeEvent(&events[0])
	}
	out := binary.AppendUvarint([]byte{eventBatchV1}, uint64(len(events)))
	for i := range events {
		out = appendEventEntry(out, &events[i])
	}
	return out
}

// appendEventEntry appends one event of a batch: its length, then its
// encoding. The length takes one byte for an event under 128 bytes, two
// past it, as a uvarint; the encoding is appended after a one-byte guess
// and moved when the guess is short.
func appendEventEntry(out []byte, ev *patchwatch.NotifyEvent) []byte {
	at := len(out)
	out = appendEvent(append(out, 0), ev)
	n := len(out) - at - 1
	if n < 0x80 {
		out[at] = byte(n)
		return out
	}
	var size [binary.MaxVarintLen64]byte
	prefix := binary.PutUvarint(size[:], uint64(n))
	out = append(out, size[:prefix-1]...)
	copy(out[at+prefix:], out[at+1:at+1+n])
	copy(out[at:], size[:prefix])
	return out
}

// appendEvents appends to out the events of the value v stored at key k.
// A lone event's sequence number is its key (JSON ones carry none).
func appendEvents(out []patchwatch.NotifyEvent, k, v []byte) ([]patchwatch.NotifyEvent, error) {
	if len(v) == 0 || v[0] != eventBatchV1 {
		var e patchwatch.NotifyEvent
		if err := decodeEvent(v, &e); err != nil {
			return out, fmt.Errorf("decode event %x: %w", k, err)
		}
		if len(k) == 8 {
			e.Seq = binary.BigEndian.Uint64(k)
		}
		return append(out, e), nil
	}
	rest := v[1:]
	n, size := binary.Uvarint(rest)
	// Each event takes at least two bytes, so a count past that is no
	// batch (and allocates nothing).
	if size <= 0 || n < 2 || n > uint64(len(rest)) {
		return out, fmt.Errorf("decode events %x: bad count", k)
	}
	rest = rest[size:]
	for range n {
		l, size := binary.Uvarint(rest)
		if size <= 0 || l > uint64(len(rest)-size) {
			return out, fmt.Errorf("decode events %x: truncated", k)
		}
		var e patchwatch.NotifyEvent
		if err := decodeEvent(rest[size:size+int(l)], &e); err != nil {
			return out, fmt.Errorf("decode events %x: %w", k, err)
		}
		out = append(out, e)
		rest = rest[size+int(l):]
	}
	if len(rest) != 0 {
		return out, fmt.Errorf("decode events %x: unexpected bytes after the events", k)
	}
	return out, nil
}

// holding returns the key and value of the queued event seq: its own, or
// the value it was queued in with others, which starts below it. Nil when
// it is not queued.
func holding(c *bbolt.Cursor, seq uint64) (k, v []byte) {
	k, v = c.Seek(eventKey(seq))
	if len(k) == 8 && binary.BigEndian.Uint64(k) == seq {
		return k, v
	}
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if len(k) != 8 || binary.BigEndian.Uint64(k) > seq || len(v) == 0 || v[0] != eventBatchV1 {
		return nil, nil
	}
	return k, v
}

// consumeEvents deletes the events of seqs. One queued with others (in
// a value keyed by the first's sequence number) is taken out of its
// value, which is deleted once empty; what is left keeps its key, below
// all of its sequence numbers and above the value before's. A value is
// looked up once for all of its events consumed (the notifier consumes
// an owner's events together: a million after a first evaluation).
func consumeEvents(b *bbolt.Bucket, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	seqs = slices.Compact(slices.Sorted(slices.Values(seqs)))
	type held struct {
		key    []byte
		events []patchwatch.NotifyEvent // nil: a lone event's value
		drop   []uint64
	}
	var values []held
	c := b.Cursor()
	for i := 0; i < len(seqs); {
		k, v := holding(c, seqs[i])
		if k == nil {
			i++ // consumed already
			continue
		}
		if len(v) == 0 || v[0] != eventBatchV1 {
			values = append(values, held{key: bytes.Clone(k)})
			i++
			continue
		}
		events, err := appendEvents(nil, k, v)
		if err != nil {
			return err
		}
		// The value's events are in sequence order: those of seqs up to
		// its last are all it can hold.
		last, j := events[len(events)-1].Seq, i
		for j < len(seqs) && seqs[j] <= last {
			j++
		}
		if j == i {
			i++ // past the value's events: consumed already
			continue
		}
		values = append(values, held{key: bytes.Clone(k), events: events, drop: seqs[i:j]})
		i = j
	}
	// The writes wait for the walk: a bucket is not written under a cursor.
	for _, h := range values {
		var err error
		left := slices.DeleteFunc(h.events, func(e patchwatch.NotifyEvent) bool { _, found := slices.BinarySearch(h.drop, e.Seq); return found })
		switch {
		case len(left) == len(h.events) && h.events != nil:
			continue // none of its events was asked for
		case len(left) == 0:
			err = b.Delete(h.key)
		case len(left) == 1:
			// A lone event's value is keyed by its own sequence number,
			// which its key tells.
			if err = b.Delete(h.key); err == nil {
				err = b.Put(eventKey(left[0].Seq), encodeEvent(&left[0]))
			}
		default:
			err = b.Put(h.key, encodeEvents(left))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// PendingEvents returns the finding events the notifier has not consumed,
// oldest first.
func (s *Store) PendingEvents(ctx context.Context) ([]patchwatch.NotifyEvent, error) {
	var out []patchwatch.NotifyEvent
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) (err error) {
			out, err = appendEvents(out, k, v)
			return err
		})
	})
	return out, err
}

// OldestPendingEvent returns the pending event queued first (false when
// none is pending), reading only the value that holds it.
func (s *Store) OldestPendingEvent(ctx context.Context) (patchwatch.NotifyEvent, bool, error) {
	var first []patchwatch.NotifyEvent
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if b == nil {
			return nil
		}
		// A value holds a run of sequence numbers from its key on, less
		// those consumed, so the first value holds the lowest.
		k, v := b.Cursor().First()
		if k == nil {
			return nil
		}
		var err error
		first, err = appendEvents(nil, k, v)
		return err
	})
	if err != nil || len(first) == 0 {
		return patchwatch.NotifyEvent{}, false, err
	}
	return first[0], true, nil
}

// CommitNotify applies a notifier step in one transaction.
func (s *Store) CommitNotify(ctx context.Context, b store.NotifyBatch) error {
	return s.update(func(tx *bbolt.Tx) error {
		if err := consumeEvents(tx.Bucket(bucketEvents), b.Consumed); err != nil {
			return err
		}
		// Written in key order: bbolt keeps a transaction's new keys in
		// the node they fall in, and a key put before the last shifts all
		// after it, so a first evaluation's alerts (a few hundred thousand
		// notified findings, in map order) took minutes at 100,000 hosts.
		deliveries := slices.SortedFunc(slices.Values(b.Deliveries), func(a, b patchwatch.Delivery) int { return strings.Compare(a.ID, b.ID) })
		for _, d := range deliveries {
			if err := putDelivery(tx, d); err != nil {
				return err
			}
		}
		notified := tx.Bucket(bucketNotified)
		// (host, advisory) order is the keys' (host NUL advisory).
		keys := slices.SortedFunc(maps.Keys(b.Notified), func(x, y [2]string) int {
			return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1]))
		})
		for _, k := range keys {
			v, _ := b.Notified[k].MarshalBinary()
			if err := notified.Put(pairKey(k[0], k[1]), v); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketNotifyMeta)
		for k, v := range b.Meta {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

func putDelivery(tx *bbolt.Tx, d patchwatch.Delivery) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketOutbox).Put([]byte(d.ID), data)
}

// Notified returns when each (host, advisory) was last notified.
func (s *Store) Notified(ctx context.Context) (map[[2]string]time.Time, error) {
	out := map[[2]string]time.Time{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketNotified)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			host, adv, _ := bytes.Cut(k, []byte{0})
			var t time.Time
			if err := t.UnmarshalBinary(v); err != nil {
				return err
			}
			out[[2]string{string(host), string(adv)}] = t
			return nil
		})
	})
	return out, err
}

// NotifyMeta returns a notifier metadata value, nil when unset.
func (s *Store) NotifyMeta(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketNotifyMeta); b != nil {
			out = bytes.Clone(b.Get([]byte(key)))
		}
		return nil
	})
	return out, err
}

// Deliveries returns the outbox, oldest first.
func (s *Store) Deliveries(ctx context.Context) ([]patchwatch.Delivery, error) {
	var out []patchwatch.Delivery
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var d patchwatch.Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode delivery %s: %w", k, err)
			}
			out = append(out, d)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b patchwatch.Delivery) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// PutDelivery stores or updates one delivery.
func (s *Store) PutDelivery(ctx context.Context, d patchwatch.Delivery) error {
	return s.update(func(tx *bbolt.Tx) error { return putDelivery(tx, d) })
}

// DeleteDelivery removes a sent delivery.
func (s *Store) DeleteDelivery(ctx context.Context, id string) error {
	return s.update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketOutbox).Delete([]byte(id)) })
}
