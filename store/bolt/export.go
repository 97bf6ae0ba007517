package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// Export walks every record of the database into sink in one read
// transaction, so that the copy is of one moment.
func (s *Store) Export(ctx context.Context, sink store.Sink) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		each := func(bucket []byte, fn func(k, v []byte) error) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := fn(k, v); err != nil {
					return fmt.Errorf("export %s %q: %w", bucket, k, err)
				}
				return nil
			})
		}
		decode := func(v []byte, into any) error { return json.Unmarshal(v, into) }
		steps := []func() error{
			func() error {
				return each(bucketAdvisories, func(_, v []byte) error {
					var a patchwatch.Advisory
					if err := decode(v, &a); err != nil {
						return err
					}
					return sink.Advisory(a)
				})
			},
			func() error {
				pairs, err := pairsByID(tx)
				if err != nil {
					return err
				}
				own := tx.Bucket(bucketHostPairs)
				return each(bucketHosts, func(k, v []byte) error {
					h, err := decodeHost(tx, k, v, nil)
					if err != nil {
						return err
					}
					var index []store.ReleasePackage
					if list := own.Get(k); len(list) >= sha256.Size {
						for _, id := range decodePairIDs(list[sha256.Size:]) {
							if rp, ok := pairs[id]; ok {
								index = append(index, rp)
							}
						}
					}
					return sink.Host(h, index)
				})
			},
			func() error {
				return each(bucketHostState, func(k, v []byte) error {
					var st store.HostState
					if err := decode(v, &st); err != nil {
						return err
					}
					return sink.HostState(string(k), st)
				})
			},
			func() error {
				return eachFindingRecord(tx, nil, func(r *patchwatch.FindingRecord) error {
					if err := ctx.Err(); err != nil {
						return err
					}
					if err := sink.Finding(r.Host, *r); err != nil {
						return fmt.Errorf("export finding %s/%s: %w", r.Host, r.Advisory, err)
					}
					return nil
				})
			},
			func() error {
				return each(bucketHostRecords, func(_, v []byte) error {
					var r patchwatch.HostRecord
					if err := decodeHostRecord(v, &r); err != nil {
						return err
					}
					return sink.HostRecord(r)
				})
			},
			func() error {
				return eachStoredDetail(tx, func(host, advisory, v []byte) error {
					if err := ctx.Err(); err != nil {
						return err
					}
					var f patchwatch.Finding
					if err := decodeFinding(v, &f); err != nil {
						return fmt.Errorf("export the details of %s on %s: %w", advisory, host, err)
					}
					return sink.FindingDetail(string(host), f)
				})
			},
			func() error {
				return each(bucketBinarySources, func(k, v []byte) error {
					parts := bytes.SplitN(k, []byte{0}, 3)
					if len(parts) != 3 || len(v) != 1 {
						return fmt.Errorf("malformed pair")
					}
					return sink.BinaryPair(store.BinaryPair{Release: string(parts[0]), Binary: string(parts[1]), Source: string(parts[2]), Tracks: v[0] == pairTracks})
				})
			},
			func() error {
				return each(bucketTokens, func(k, v []byte) error {
					var t patchwatch.Token
					if err := decode(v, &t); err != nil {
						return err
					}
					return sink.Token(bytes.Clone(k), t)
				})
			},
			func() error {
				return each(bucketEnrollments, func(_, v []byte) error {
					var e patchwatch.Enrollment
					if err := decode(v, &e); err != nil {
						return err
					}
					return sink.Enrollment(e)
				})
			},
			func() error {
				return each(bucketSilences, func(_, v []byte) error {
					var sl patchwatch.Silence
					if err := decode(v, &sl); err != nil {
						return err
					}
					return sink.Silence(sl)
				})
			},
			func() error {
				var events []patchwatch.NotifyEvent
				return each(bucketEvents, func(k, v []byte) (err error) {
					if events, err = appendEvents(events[:0], k, v); err != nil {
						return err
					}
					for _, e := range events {
						if err := sink.Event(e); err != nil {
							return err
						}
					}
					return nil
				})
			},
			func() error {
				return each(bucketOutbox, func(_, v []byte) error {
					var d patchwatch.Delivery
					if err := decode(v, &d); err != nil {
						return err
					}
					return sink.Delivery(d)
				})
			},
			func() error {
				return each(bucketNotified, func(k, v []byte) error {
					host, adv, _ := bytes.Cut(k, []byte{0})
					var at time.Time
					if err := at.UnmarshalBinary(v); err != nil {
						return err
					}
					return sink.Notified(string(host), string(adv), at)
				})
			},
			func() error {
				return each(bucketNotifyMeta, func(k, v []byte) error { return sink.NotifyMeta(string(k), bytes.Clone(v)) })
			},
			func() error {
				return each(bucketCursors, func(k, v []byte) error { return sink.Cursor(string(k), bytes.Clone(v)) })
			},
			func() error {
				return each(bucketKEV, func(_, v []byte) error {
					var e patchwatch.KEVEntry
					if err := decode(v, &e); err != nil {
						return err
					}
					return sink.KEV(e)
				})
			},
			func() error {
				return each(bucketUrgency, func(k, v []byte) error {
					parts := bytes.SplitN(k, []byte{0}, 3)
					if len(parts) != 3 {
						return fmt.Errorf("malformed urgency key")
					}
					return sink.Urgency(patchwatch.CVEUrgency{Release: string(parts[0]), Package: string(parts[1]), CVE: string(parts[2]), Urgency: string(v)})
				})
			},
			func() error {
				return each(bucketFeedStatus, func(_, v []byte) error {
					var st patchwatch.FeedStatus
					if err := decode(v, &st); err != nil {
						return err
					}
					return sink.FeedStatus(st)
				})
			},
			func() error {
				meta := tx.Bucket(bucketMeta)
				var evaluated []string
				if v := meta.Get(keyEvaluatedReleases); v != nil {
					if err := decode(v, &evaluated); err != nil {
						return fmt.Errorf("export evaluated releases: %w", err)
					}
				}
				return sink.EvaluationState(string(meta.Get(keyEvaluation)), evaluated)
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

// pairsByID reads the package index's (release, package) pairs by their
// IDs, for the export of each host's index.
func pairsByID(tx *bbolt.Tx) (map[uint32]store.ReleasePackage, error) {
	out := map[uint32]store.ReleasePackage{}
	b := tx.Bucket(bucketPairIDs)
	if b == nil {
		return out, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		release, pkg, ok := bytes.Cut(k, []byte{0})
		if !ok || len(v) != 4 {
			return fmt.Errorf("malformed package pair %q", k)
		}
		out[binary.BigEndian.Uint32(v)] = store.ReleasePackage{Release: string(release), Package: string(pkg)}
		return nil
	})
	return out, err
}
