// Package storetest is the conformance suite of patchwatch's storage
// contract: every behaviour the product relies on, asserted once and run
// against each implementation (the bbolt store and store/postgres).
package storetest

import (
	"context"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/console"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// Storage is what the suite exercises: the service's contract, the
// notifier's, and the writes of the pollers and the server.
type Storage interface {
	service.Storage
	service.AdvisoryGenerations
	notify.Store
	console.Sessions
	UpsertAdvisories(ctx context.Context, advisories []patchwatch.Advisory) ([]store.Outcome, error)
	CommitFeed(ctx context.Context, feed string, advisories []patchwatch.Advisory, cursor []byte) ([]store.Outcome, error)
	WithdrawAdvisories(ctx context.Context, feed string, withdrawals []store.Withdrawal, cursor []byte, now time.Time) ([]patchwatch.Advisory, error)
	CountAdvisories(ctx context.Context) (int, error)
	Cursor(ctx context.Context, feed string) ([]byte, error)
	ReplaceKEV(ctx context.Context, entries []patchwatch.KEVEntry, feed string, cursor []byte) error
	ReplaceUrgencies(ctx context.Context, urgencies []patchwatch.CVEUrgency, feed string, cursor []byte) error
	PutFeedStatus(ctx context.Context, st patchwatch.FeedStatus) error
	PutSilence(ctx context.Context, sl patchwatch.Silence) error
	DeleteSilence(ctx context.Context, id string) error
	PutHost(ctx context.Context, h patchwatch.Host, index []store.ReleasePackage) error
	HostStates(ctx context.Context) (map[string]store.HostState, error)
	RemoveHost(ctx context.Context, name string, now time.Time) ([]patchwatch.Event, error)

	PutToken(ctx context.Context, hash []byte, t patchwatch.Token) error
	TokenByHash(ctx context.Context, hash []byte) (patchwatch.Token, error)
	TokenByID(ctx context.Context, id string) (patchwatch.Token, []byte, error)
	Tokens(ctx context.Context) ([]patchwatch.Token, error)
	RevokeToken(ctx context.Context, id string) error
	RevokeHostTokens(ctx context.Context, host string) error
	Enroll(ctx context.Context, e store.Enroll) (patchwatch.Enrollment, patchwatch.Token, error)
	Enrollment(ctx context.Context, host string) (patchwatch.Enrollment, error)
}

var _ Storage = (*bolt.Store)(nil)
