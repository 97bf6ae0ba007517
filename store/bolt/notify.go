package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

func queueEvents(tx *bbolt.Tx, owner, project string, events []patchwatch.Event) error {
	b := tx.Bucket(bucketEvents)
	for _, e := range events {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		data := encodeEvent(&patchwatch.NotifyEvent{Seq: seq, Owner: owner, Project: project, Event: e})
		if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), data); err != nil {
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
		return b.ForEach(func(k, v []byte) error {
			var e patchwatch.NotifyEvent
			if err := decodeEvent(v, &e); err != nil {
				return fmt.Errorf("decode event %x: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// CommitNotify applies a notifier step in one transaction.
func (s *Store) CommitNotify(ctx context.Context, b store.NotifyBatch) error {
	return s.update(func(tx *bbolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		for _, seq := range b.Consumed {
			if err := events.Delete(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		for _, d := range b.Deliveries {
			if err := putDelivery(tx, d); err != nil {
				return err
			}
		}
		notified := tx.Bucket(bucketNotified)
		for k, t := range b.Notified {
			v, _ := t.MarshalBinary()
			if err := notified.Put(append(append([]byte(k[0]), 0), k[1]...), v); err != nil {
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
