package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
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
	return s.update(func(tx *bbolt.Tx) error {
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
	err := s.db.View(func(tx *bbolt.Tx) error {
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

// SourceStats returns, per advisory source, how many advisories are stored
// and the newest publication time. It reads every advisory once (only its
// source and publication time are decoded), so callers run it once a poll
// round, not per request.
func (s *Store) SourceStats(ctx context.Context) (map[patchwatch.Source]store.SourceStats, error) {
	out := map[patchwatch.Source]store.SourceStats{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketAdvisories).ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			source, published, err := sourceAndPublished(v)
			if err != nil {
				return fmt.Errorf("decode advisory %s: %w", k, err)
			}
			st := out[source]
			st.Advisories++
			if published.After(st.NewestPublished) {
				st.NewestPublished = published
			}
			out[source] = st
			return nil
		})
	})
	return out, err
}

// sourceAndPublished reads the "source" and "published" of a stored
// advisory without decoding the rest (its fixes are most of the bytes).
// A quote inside a JSON string is always escaped, so `"source":"` can only
// be a key, and no type nested in an Advisory has either key: the first
// match is the advisory's own. Anything unexpected falls back to decoding.
func sourceAndPublished(data []byte) (patchwatch.Source, time.Time, error) {
	source, okSource := stringField(data, `"source":"`)
	published, okPublished := stringField(data, `"published":"`)
	if okSource && okPublished {
		if t, err := time.Parse(time.RFC3339Nano, published); err == nil {
			return patchwatch.Source(source), t, nil
		}
	}
	var a struct {
		Source    patchwatch.Source `json:"source"`
		Published time.Time         `json:"published"`
	}
	err := json.Unmarshal(data, &a)
	return a.Source, a.Published, err
}

// stringField returns the plain (escape-free) string value after key.
func stringField(data []byte, key string) (string, bool) {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := data[i+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return "", false
	}
	return string(rest[:end]), true
}

// KEVStats returns how many KEV entries are stored and the newest
// dateAdded among them (the catalog's YYYY-MM-DD, as midnight UTC).
func (s *Store) KEVStats(ctx context.Context) (store.SourceStats, error) {
	var st store.SourceStats
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKEV)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var e struct {
				DateAdded string `json:"date_added"`
			}
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode KEV entry %s: %w", k, err)
			}
			st.Advisories++
			if t, err := time.Parse(time.DateOnly, e.DateAdded); err == nil && t.After(st.NewestPublished) {
				st.NewestPublished = t
			}
			return nil
		})
	})
	return st, err
}
