package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
	"github.com/patchwatch/patchwatch/store/postgres"
)

// cliStore is what the CLI's commands that change the database use
// (import, host import|remove, token, silence, digest --send, notify,
// notifications): serve's storage, advisories stored by hand and hosts
// removed.
type cliStore interface {
	serveStore
	UpsertAdvisories(ctx context.Context, advisories []patchwatch.Advisory) ([]store.Outcome, error)
	// RemoveHost forgets a host and resolves its open findings; it
	// returns an error wrapping store.ErrNotFound for an unknown host.
	RemoveHost(ctx context.Context, name string, now time.Time) ([]patchwatch.Event, error)
}

var (
	_ cliStore = (*bolt.Store)(nil)
	_ cliStore = (*postgres.Store)(nil)
)

// openCLIStore opens the database a CLI command works on: PostgreSQL
// when the config at configPath selects it (shared with running serve
// replicas, migrated under the advisory lock as serve does), else the
// bbolt file at db, which serve holds alone.
func openCLIStore(ctx context.Context, env *Env, db, configPath string, readOnly bool) (cliStore, error) {
	if configPath != "" {
		cfg, err := config.LoadEnv(configPath, env.Getenv)
		if err != nil {
			return nil, err
		}
		if cfg.Store.Postgres() {
			return openCLIPostgres(ctx, env, cfg)
		}
	}
	s, err := openStore(db, readOnly)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// openCLIPostgres opens the PostgreSQL store cfg names for a CLI
// command, logging only warnings (a migration it applies is not news on
// the command's stderr).
func openCLIPostgres(ctx context.Context, env *Env, cfg config.Config) (cliStore, error) {
	s, err := openPostgres(ctx, cfg, env.logger(slog.LevelWarn), false)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// configFlag adds --config to a command that changes the database: a
// config with store: postgres makes it work on PostgreSQL.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "YAML configuration `file`; with store: postgres, the command works on that database (while serve runs)")
}
