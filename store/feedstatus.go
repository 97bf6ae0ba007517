package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
)

var bucketFeedStatus = []byte("feed_status") // feed name -> FeedStatus

// PutFeedStatus stores the status of one feed, replacing the previous one.
func (s *Store) PutFeedStatus(ctx context.Context, st patchwatch.FeedStatus) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode feed status %s: %w", st.Feed, err)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketFeedStatus)
		if err != nil {
			return err
		}
		return b.Put([]byte(st.Feed), data)
	})
}

// FeedStatuses returns the stored status of every feed, by feed name.
func (s *Store) FeedStatuses(ctx context.Context) ([]patchwatch.FeedStatus, error) {
	var out []patchwatch.FeedStatus
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFeedStatus)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var st patchwatch.FeedStatus
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode feed status %s: %w", k, err)
			}
			out = append(out, st)
			return nil
		})
	})
	return out, err
}
