package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/console"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
	"github.com/patchwatch/patchwatch/store/postgres"
)

// pollStore is what the pollers write: advisories with their feed's
// cursor, withdrawals, the KEV catalog and the tracker's urgencies.
type pollStore interface {
	Cursor(ctx context.Context, feed string) ([]byte, error)
	CommitFeed(ctx context.Context, feed string, advisories []patchwatch.Advisory, cursor []byte) ([]store.Outcome, error)
	WithdrawAdvisories(ctx context.Context, feed string, withdrawals []store.Withdrawal, cursor []byte, now time.Time) ([]patchwatch.Advisory, error)
	ReplaceKEV(ctx context.Context, entries []patchwatch.KEVEntry, feed string, cursor []byte) error
	ReplaceUrgencies(ctx context.Context, urgencies []patchwatch.CVEUrgency, feed string, cursor []byte) error
}

// feedStore is what the feed recorder reads and writes.
type feedStore interface {
	Cursor(ctx context.Context, feed string) ([]byte, error)
	FeedStatuses(ctx context.Context) ([]patchwatch.FeedStatus, error)
	PutFeedStatus(ctx context.Context, st patchwatch.FeedStatus) error
	SourceStats(ctx context.Context) (map[patchwatch.Source]store.SourceStats, error)
	KEVStats(ctx context.Context) (store.SourceStats, error)
}

// serveStore is the database serve and poll run on: bbolt or PostgreSQL.
type serveStore interface {
	service.Storage
	notifyStore
	server.Tokens
	console.Sessions
	pollStore
	feedStore
	io.Closer
}

// notifyStore is what the notifier and its alerts' sign-in links use.
type notifyStore interface {
	notify.Store
	console.LinkStore
}

var (
	_ serveStore = (*bolt.Store)(nil)
	_ serveStore = (*postgres.Store)(nil)
	// Replicas claim the outbox's deliveries; bbolt's one process reads it.
	_ notify.Claimer = (*postgres.Store)(nil)
)

// openServeStore opens the database cfg.Store selects, migrating it.
func openServeStore(ctx context.Context, cfg config.Config, log *slog.Logger) (serveStore, error) {
	if !cfg.Store.Postgres() {
		return openStore(cfg.DB, false)
	}
	return openPostgres(ctx, cfg, log, false)
}

func openPostgres(ctx context.Context, cfg config.Config, log *slog.Logger, noMigrate bool) (*postgres.Store, error) {
	dsn, err := cfg.Store.DSN()
	if err != nil {
		return nil, err
	}
	s, err := postgres.Open(ctx, postgres.Options{DSN: dsn, MaxConns: cfg.Store.MaxConns, NoMigrate: noMigrate, Log: log.With("component", "postgres")})
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	return s, nil
}

// leaderRetry is how often a replica tries for a leader lock it does not
// hold, and checks one it holds.
const leaderRetry = 10 * time.Second

// asLeader runs fn on one replica at a time when s is shared
// (PostgreSQL: a leader lock called name), and at once on bbolt, which
// one process holds alone.
func asLeader(ctx context.Context, s any, name string, fn func(context.Context) error) error {
	type leader interface {
		RunAsLeader(ctx context.Context, name string, retry time.Duration, fn func(context.Context) error) error
	}
	if l, ok := s.(leader); ok {
		return l.RunAsLeader(ctx, name, leaderRetry, fn)
	}
	return fn(ctx)
}

// queryStore is what the query commands read.
type queryStore interface {
	service.Storage
	FeedStatuses(ctx context.Context) ([]patchwatch.FeedStatus, error)
	io.Closer
}

// postgresQuery opens the PostgreSQL store for a query when the config
// at configPath selects it (nil, nil otherwise). It works while serve
// runs, and leaves migrations and the full re-evaluation to serve (or
// patchwatch migrate): a database behind this build is an error.
func postgresQuery(env *Env, fs *flag.FlagSet, format, configPath string) (*query, error) {
	if configPath == "" {
		return nil, nil
	}
	cfg, err := config.LoadEnv(configPath, env.Getenv)
	if err != nil || !cfg.Store.Postgres() {
		return nil, err
	}
	s, err := openPostgres(context.Background(), cfg, env.logger(slog.LevelWarn), true)
	if err != nil {
		return nil, err
	}
	return &query{fs: fs, format: format, s: s, svc: service.New(s, cfg.Urgency, env.Now)}, nil
}
