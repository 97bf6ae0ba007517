package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// Buckets of enrollment: the index keeps enrollment and RevokeHostTokens
// proportional to one host's tokens, not to every token of the fleet.
var (
	bucketHostTokens  = []byte("host_tokens") // host NUL token id -> empty, live host tokens only
	bucketEnrollments = []byte("enrollments") // host -> patchwatch.Enrollment
)

func hostTokenKey(host, id string) []byte {
	k := make([]byte, 0, len(host)+1+len(id))
	k = append(k, host...)
	k = append(k, 0)
	return append(k, id...)
}

// PutToken stores a token under the hash of its secret.
func (s *Store) PutToken(ctx context.Context, hash []byte, t patchwatch.Token) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error { return putTokenTx(tx, hash, t) })
}

func putTokenTx(tx *bbolt.Tx, hash []byte, t patchwatch.Token) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketTokens).Put(hash, data); err != nil {
		return err
	}
	if err := tx.Bucket(bucketTokenIDs).Put([]byte(t.ID), hash); err != nil {
		return err
	}
	if t.Kind != patchwatch.TokenHost {
		return nil
	}
	if t.Revoked {
		return tx.Bucket(bucketHostTokens).Delete(hostTokenKey(t.Host, t.ID))
	}
	return tx.Bucket(bucketHostTokens).Put(hostTokenKey(t.Host, t.ID), nil)
}

// TokenByHash returns the token whose secret hashes to hash; store.ErrNotFound
// if there is none.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (patchwatch.Token, error) {
	var t patchwatch.Token
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if b == nil {
			return store.ErrNotFound
		}
		v := b.Get(hash)
		if v == nil {
			return store.ErrNotFound
		}
		return json.Unmarshal(v, &t)
	})
	return t, err
}

// TokenByID returns a token and the hash of its secret; store.ErrNotFound if
// there is none with id.
func (s *Store) TokenByID(ctx context.Context, id string) (patchwatch.Token, []byte, error) {
	var t patchwatch.Token
	var hash []byte
	err := s.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketTokenIDs) == nil {
			return fmt.Errorf("token %s: %w", id, store.ErrNotFound)
		}
		var err error
		t, hash, err = tokenByIDTx(tx, id)
		hash = bytes.Clone(hash)
		return err
	})
	return t, hash, err
}

// tokenByIDTx returns a token and its hash, valid only inside tx.
func tokenByIDTx(tx *bbolt.Tx, id string) (patchwatch.Token, []byte, error) {
	var t patchwatch.Token
	hash := tx.Bucket(bucketTokenIDs).Get([]byte(id))
	if hash == nil {
		return t, nil, fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	}
	if err := json.Unmarshal(tx.Bucket(bucketTokens).Get(hash), &t); err != nil {
		return t, nil, fmt.Errorf("decode token %s: %w", id, err)
	}
	return t, hash, nil
}

// Tokens returns every token (never a secret).
func (s *Store) Tokens(ctx context.Context) ([]patchwatch.Token, error) {
	var out []patchwatch.Token
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var t patchwatch.Token
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b patchwatch.Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// RevokeToken marks a token revoked and ends the console sessions that
// stand on it; store.ErrNotFound if there is none with id.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.update(func(tx *bbolt.Tx) error { return revokeTokenTx(tx, id) })
}

func revokeTokenTx(tx *bbolt.Tx, id string) error {
	t, hash, err := tokenByIDTx(tx, id)
	if err != nil {
		return err
	}
	t.Revoked = true
	if err := putTokenTx(tx, bytes.Clone(hash), t); err != nil {
		return err
	}
	return deleteTokenSessions(tx, id)
}

// RevokeHostTokens revokes every host token of a host, so that a host
// that enrolls again holds one live token.
func (s *Store) RevokeHostTokens(ctx context.Context, host string) error {
	return s.update(func(tx *bbolt.Tx) error { return revokeHostTokensTx(tx, host) })
}

func revokeHostTokensTx(tx *bbolt.Tx, host string) error {
	prefix := hostTokenKey(host, "")
	var ids []string
	c := tx.Bucket(bucketHostTokens).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	for _, id := range ids {
		if err := revokeTokenTx(tx, id); err != nil {
			return fmt.Errorf("revoke host token %s of %s: %w", id, host, err)
		}
	}
	return nil
}

// Enroll claims a host for the enroll token's owner and project on its
// first enrollment, or re-enrolls it for the same owner (or an admin),
// counting the enroll token's use, revoking the host's earlier tokens and
// storing the new one with the claim's owner and project, all in one
// transaction. It returns an error wrapping patchwatch.ErrHostClaimed for a
// host of another owner, ErrTokenUsedUp, ErrTokenWrongHost, ErrTokenRevoked
// or ErrTokenExpired for an enroll token that cannot enroll it, and
// store.ErrAdminEnroll.
func (s *Store) Enroll(ctx context.Context, e store.Enroll) (patchwatch.Enrollment, patchwatch.Token, error) {
	var claim patchwatch.Enrollment
	host := e.HostToken
	err := s.update(func(tx *bbolt.Tx) error {
		// The enroll token as stored now: its use count may have moved
		// since the request was authenticated.
		by, byHash, err := tokenByIDTx(tx, e.By.ID)
		if err != nil {
			return err
		}
		claims := tx.Bucket(bucketEnrollments)
		found := false
		if v := claims.Get([]byte(e.Host)); v != nil {
			if err := json.Unmarshal(v, &claim); err != nil {
				return fmt.Errorf("decode enrollment of %s: %w", e.Host, err)
			}
			found = true
		}
		var stored patchwatch.Host
		if v := tx.Bucket(bucketHosts).Get([]byte(e.Host)); !found && v != nil {
			head, _, err := hostHead(v)
			if err == nil {
				err = json.Unmarshal(head, &stored)
			}
			if err != nil {
				return fmt.Errorf("decode host %s: %w", e.Host, err)
			}
		}
		claim, by, host, err = store.DecideEnroll(e, by, claim, found, stored)
		if err != nil {
			return err
		}
		if by.Kind == patchwatch.TokenEnroll {
			if err := putTokenTx(tx, bytes.Clone(byHash), by); err != nil {
				return err
			}
		}
		if err := revokeHostTokensTx(tx, e.Host); err != nil {
			return err
		}
		if err := putTokenTx(tx, e.HostTokenHash, host); err != nil {
			return err
		}
		data, err := json.Marshal(claim)
		if err != nil {
			return err
		}
		return claims.Put([]byte(e.Host), data)
	})
	if err != nil {
		return patchwatch.Enrollment{}, patchwatch.Token{}, err
	}
	return claim, host, nil
}

// Enrollment returns a host's claim; store.ErrNotFound if it was never enrolled.
func (s *Store) Enrollment(ctx context.Context, host string) (patchwatch.Enrollment, error) {
	var claim patchwatch.Enrollment
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketEnrollments)
		if b == nil {
			return fmt.Errorf("enrollment of %s: %w", host, store.ErrNotFound)
		}
		v := b.Get([]byte(host))
		if v == nil {
			return fmt.Errorf("enrollment of %s: %w", host, store.ErrNotFound)
		}
		return json.Unmarshal(v, &claim)
	})
	return claim, err
}

// releaseHostTx drops a removed host's claim and revokes its tokens: the
// name is free again, and a VM still running under it must enroll anew.
func releaseHostTx(tx *bbolt.Tx, host string) error {
	if err := revokeHostTokensTx(tx, host); err != nil {
		return err
	}
	return tx.Bucket(bucketEnrollments).Delete([]byte(host))
}

// migrateEnrollments is the schema step that adds host_tokens and
// enrollments. On a database that had tokens before (the buckets are
// new), it indexes every live host token and claims each of their hosts
// for the owner and project of its oldest live token, in one scan, once.
func migrateEnrollments(tx *bbolt.Tx) error {
	fresh := tx.Bucket(bucketHostTokens) == nil
	for _, name := range [][]byte{bucketHostTokens, bucketEnrollments} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	if !fresh {
		return nil
	}
	var live []patchwatch.Token
	err := tx.Bucket(bucketTokens).ForEach(func(_, v []byte) error {
		var t patchwatch.Token
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		if t.Kind == patchwatch.TokenHost && !t.Revoked {
			live = append(live, t)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index host tokens: %w", err)
	}
	slices.SortFunc(live, func(a, b patchwatch.Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	claims := tx.Bucket(bucketEnrollments)
	for _, t := range live {
		if err := tx.Bucket(bucketHostTokens).Put(hostTokenKey(t.Host, t.ID), nil); err != nil {
			return err
		}
		if claims.Get([]byte(t.Host)) != nil {
			continue
		}
		enrollToken, _ := strings.CutPrefix(t.Note, "enrolled with ")
		data, err := json.Marshal(patchwatch.Enrollment{Host: t.Host, Owner: t.Owner, Project: t.Project, EnrolledAt: t.CreatedAt,
			EnrollToken: enrollToken, LastEnrolledAt: t.CreatedAt, LastEnrollToken: enrollToken, Enrollments: 1})
		if err != nil {
			return err
		}
		if err := claims.Put([]byte(t.Host), data); err != nil {
			return err
		}
	}
	return nil
}
