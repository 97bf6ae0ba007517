package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// RunAsLeader runs fn while this process holds the leader lock called
// name, so that of several replicas exactly one runs the pollers (or the
// notifier) at a time. The lock is a session advisory lock
// (pg_try_advisory_lock) on a connection of its own, outside the pool:
// when the holder dies, PostgreSQL ends its session and frees the lock,
// and another replica, trying every retry, takes over. While holding it,
// the connection is checked every retry; if it is lost, fn's context is
// cancelled and the process competes for the lock again. A new holder
// waits two retries before running fn, so that a holder cut off from the
// database has stopped: with retry 10s a dead leader is replaced within
// about 30s. RunAsLeader
// returns when ctx ends (nil) or when fn fails while still leader.
func (s *Store) RunAsLeader(ctx context.Context, name string, retry time.Duration, fn func(ctx context.Context) error) error {
	log := s.log.With("lock", name)
	for {
		held, err := s.leadOnce(ctx, log, name, retry, fn)
		switch {
		case ctx.Err() != nil:
			return nil
		case held && err != nil && !errors.Is(err, errLeadershipLost):
			return err
		case held:
			log.Warn("leader lock lost; competing for it again", "err", err)
		case err != nil:
			log.Warn("leader lock: cannot reach the database", "err", Redact(err.Error(), s.pool.Config().ConnString()))
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

var errLeadershipLost = errors.New("leader lock connection lost")

// LeaderKey is the advisory lock key of the leader lock called name of the
// patchwatch database in schema (advisory locks span a whole database,
// where several installations may keep their own schemas): the holder is
// the session in pg_locks with classid and objid its high and low 32 bits
// (objsubid 1).
func LeaderKey(schema, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("patchwatch leader\x00" + schema + "\x00" + name))
	return int64(h.Sum64())
}

// leadOnce takes the lock if it is free and runs fn under it; held says
// whether it was taken.
func (s *Store) leadOnce(ctx context.Context, log *slog.Logger, name string, retry time.Duration, fn func(context.Context) error) (held bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	var schema string
	if err := conn.QueryRow(ctx, "SELECT coalesce(current_schema(), '')").Scan(&schema); err != nil {
		return false, err
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", LeaderKey(schema, name)).Scan(&held); err != nil || !held {
		return false, err
	}
	// A holder whose session ended without its process dying (a network
	// cut) learns it within two checks (the tick and the ping's timeout):
	// waiting that long before leading keeps two leaders from overlapping.
	grace := time.NewTimer(2 * retry)
	select {
	case <-ctx.Done():
		grace.Stop()
		return true, nil
	case <-grace.C:
	}
	log.Info("leader lock taken")
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch := make(chan struct{})
	go func() {
		defer close(watch)
		t := time.NewTicker(retry)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(lctx, retry)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil && lctx.Err() == nil {
				cancel(fmt.Errorf("%w: %w", errLeadershipLost, err))
				return
			}
		}
	}()
	err = fn(lctx)
	cancel(nil)
	<-watch
	if cause := context.Cause(lctx); errors.Is(cause, errLeadershipLost) {
		return true, cause
	}
	if ctx.Err() == nil && err == nil {
		err = errors.New("leader task ended")
	}
	// Closing the connection (deferred) frees the lock.
	return true, err
}
