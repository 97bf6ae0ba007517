// Package postgres is the PostgreSQL implementation of patchwatch's
// storage contract (service.Storage, notify.Store and what the server and
// the CLI use), for several serve replicas sharing one database. It keeps
// the semantics of the embedded bbolt store (package store) exactly; the
// conformance suite in store/storetest runs against both. It is the only
// package that imports pgx.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patchwatch/patchwatch/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the key of the advisory lock under which migrations
// run in schema, so that replicas starting together migrate once.
func migrationLock(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("patchwatch migrations\x00" + schema))
	return int64(h.Sum64())
}

// Store is a patchwatch database on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// Options configure Open.
type Options struct {
	// DSN is a libpq connection string or URL. Its password never appears
	// in an error or a log line.
	DSN string
	// MaxConns bounds the pool; 0 keeps pgx's default (4 per CPU, at least 4).
	MaxConns int32
	// NoMigrate refuses a database whose schema is behind instead of
	// migrating it (for read-only CLI use while a newer serve runs).
	NoMigrate bool
	Log       *slog.Logger
}

// Open connects, migrates the schema under an advisory lock and returns
// the store.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("parse postgres dsn: %s", Redact(err.Error(), opts.DSN))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %s", Redact(err.Error(), opts.DSN))
	}
	s := &Store{pool: pool, log: log}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s: %s", cfg.ConnConfig.Host, Redact(err.Error(), opts.DSN))
	}
	if opts.NoMigrate {
		err = s.checkSchema(ctx)
	} else {
		_, err = s.Migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its version", e.Name())
		}
		data, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, e.Name(), string(data)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

// SchemaVersion returns the newest schema version this build knows.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate applies the migrations the database lacks, each in its own
// transaction, holding a session advisory lock so that concurrent replicas
// wait for one another. It returns the names of those applied; a database
// written by a newer build is refused with store.ErrSchema.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT coalesce(current_schema(), '')").Scan(&schema); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	lock := migrationLock(schema)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return nil, fmt.Errorf("migrate: take lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx is done.
		if _, err := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lock); err != nil {
			conn.Conn().Close(context.Background())
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return nil, fmt.Errorf("migrate: read version: %w", err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return nil, fmt.Errorf("%w: database has version %d, this build reads up to %d", store.ErrSchema, current, latest)
	}
	var applied []string
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: apply %s: %w", m.name, err)
		}
		s.log.Info("schema migrated", "migration", m.name)
		applied = append(applied, m.name)
	}
	return applied, nil
}

func (s *Store) checkSchema(ctx context.Context) error {
	var current int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current)
	if err != nil {
		return fmt.Errorf("%w: not a patchwatch database: %w", store.ErrSchema, err)
	}
	if latest := SchemaVersion(); current != latest {
		return fmt.Errorf("%w: database has version %d, this build reads %d (run patchwatch migrate)", store.ErrSchema, current, latest)
	}
	return nil
}

// maxAttempts bounds the retries of a transaction that lost a
// serialisation conflict or a deadlock.
const maxAttempts = 8

// write runs fn in a read-committed transaction, retrying it from the
// start on a serialisation failure or a deadlock (40001, 40P01). Writes
// whose read decides the write take row or key locks first (lockKeys), so
// read committed is enough for them.
func (s *Store) write(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}

func (s *Store) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = pgx.BeginTxFunc(ctx, s.pool, opts, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		// Back off a little, more each time, so that the conflicting
		// transaction finishes first.
		t := time.NewTimer(time.Duration(attempt*attempt) * 5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// lockKeys takes transaction-scoped advisory locks on keys (in sorted
// order, so that two transactions never wait on each other in a cycle):
// the row lock of a row that may not exist yet, such as a host's first
// report. kind keeps the key spaces apart.
func lockKeys(ctx context.Context, tx pgx.Tx, kind string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	// 64-bit hashes: a collision only makes two keys wait on each other.
	ids := make([]int64, len(keys))
	for i, k := range keys {
		h := fnv.New64a()
		h.Write([]byte(kind))
		h.Write([]byte{0})
		h.Write([]byte(k))
		ids[i] = int64(h.Sum64())
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(k)
		FROM (SELECT k FROM unnest($1::bigint[]) AS k ORDER BY k) AS sorted`, ids)
	if err != nil {
		return fmt.Errorf("lock %s: %w", kind, err)
	}
	return nil
}

var passwordInDSN = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact removes the DSN's password from text (an error message or a log
// line): in URL form, in key=value form, and verbatim.
func Redact(text, dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			text = strings.ReplaceAll(text, pw, "xxxxx")
			text = strings.ReplaceAll(text, url.QueryEscape(pw), "xxxxx")
			text = strings.ReplaceAll(text, url.PathEscape(pw), "xxxxx")
		}
	}
	for _, m := range passwordInDSN.FindAllStringSubmatch(dsn, -1) {
		pw := strings.Trim(m[2], "'")
		if pw != "" {
			text = strings.ReplaceAll(text, pw, "xxxxx")
		}
	}
	return passwordInDSN.ReplaceAllString(text, "${1}xxxxx")
}
