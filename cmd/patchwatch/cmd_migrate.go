package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch/config"

	"github.com/patchwatch/patchwatch/store/bolt"
	"github.com/patchwatch/patchwatch/store/postgres"
)

// runMigrate brings the configured database's schema up to this build's:
// PostgreSQL under the migration advisory lock (so replicas starting at
// once wait for one migration), bbolt in its open transaction.
func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate")
	db := dbFlag(env, fs)
	configPath := fs.String("config", "", "YAML configuration `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dbSet := false
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	cfg, err := loadConfig(env, *configPath, *db, dbSet)
	if err != nil {
		return err
	}
	if !cfg.Store.Postgres() {
		s, err := bolt.Open(cfg.DB, bolt.Options{})
		if err != nil {
			return err
		}
		defer s.Close()
		fmt.Fprintf(env.Stdout, "bolt %s: schema version %d\n", cfg.DB, bolt.SchemaVersion)
		return nil
	}
	// Each migration applied is logged ("schema migrated").
	s, err := openPostgres(ctx, cfg, env.configLogger(cfg), false)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(env.Stdout, "postgres: schema version %d\n", postgres.SchemaVersion())
	return nil
}

// runMigrateStore copies a bbolt database into an empty PostgreSQL one
// and verifies the counts of every table.
func runMigrateStore(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate-store")
	from := fs.String("from", "", "source database, bolt:`PATH`")
	to := fs.String("to", "", "target database, postgres:`DSN` (postgres: alone reads $PATCHWATCH_POSTGRES_DSN)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path, ok := strings.CutPrefix(*from, "bolt:")
	if !ok || path == "" {
		return usageError("--from must be bolt:PATH, not %q", *from)
	}
	dsn, ok := strings.CutPrefix(*to, "postgres:")
	if !ok {
		return usageError("--to must be postgres:DSN")
	}
	if dsn == "" {
		dsn = env.Getenv(config.EnvPostgresDSN)
	}
	if dsn == "" {
		return usageError("--to postgres: names no DSN, and $%s is empty", config.EnvPostgresDSN)
	}
	src, err := bolt.Open(path, bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, postgres.Options{DSN: dsn, Log: env.logger(slog.LevelInfo)})
	if err != nil {
		return err
	}
	defer dst.Close()
	counts, err := dst.Import(ctx, src.Export)
	if err != nil {
		return err
	}
	tables := make([]string, 0, len(counts))
	for t := range counts {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	for _, t := range tables {
		fmt.Fprintf(env.Stdout, "%-16s %d\n", t, counts[t])
	}
	fmt.Fprintf(env.Stdout, "copied %s to postgres; every count verified\n", path)
	return nil
}
