package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/patchwatch/patchwatch/store"
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
		s, err := store.Open(cfg.DB, store.Options{})
		if err != nil {
			return err
		}
		defer s.Close()
		fmt.Fprintf(env.Stdout, "bolt %s: schema version %d\n", cfg.DB, store.SchemaVersion)
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
