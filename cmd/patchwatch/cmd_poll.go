package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/usn"
	"github.com/patchwatch/patchwatch/store"
)

// poller is one advisory source as the poll loop drives it.
type poller interface {
	Name() string
	Poll(ctx context.Context, cursor []byte, commit usn.Commit) (usn.Stats, error)
}

// loadConfig reads --config when given, else the defaults, and applies
// --db when it was set explicitly.
func loadConfig(env *Env, path, db string, dbSet bool) (config.Config, error) {
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return cfg, err
		}
	} else if v := env.Getenv("PATCHWATCH_DB"); v != "" {
		cfg.DB = v
	}
	if dbSet {
		cfg.DB = db
	}
	return cfg, cfg.Validate()
}

func buildPollers(cfg config.Config, log *slog.Logger) []poller {
	fetch := feeds.NewFetcher(feeds.FetcherOptions{
		Timeout: cfg.HTTP.Timeout, MaxBytes: cfg.HTTP.MaxBytes,
		Attempts: cfg.HTTP.Attempts, Backoff: cfg.HTTP.Backoff, Logger: log,
	})
	var ps []poller
	if c := cfg.Feeds.USN; c.Enabled {
		ps = append(ps, usn.NewPoller(usn.Config{
			FeedURL: c.FeedURL, RecordURL: c.RecordURL,
			BackfillURL: c.BackfillURL, BackfillMaxBytes: c.BackfillMaxBytes,
		}, fetch, log))
	}
	return ps
}

// pollOnce runs one round of every poller. A failing feed does not stop
// the others; the error returned joins every failure.
func pollOnce(ctx context.Context, s *store.Store, pollers []poller, log *slog.Logger) error {
	var errs []error
	for _, p := range pollers {
		cursor, err := s.Cursor(ctx, p.Name())
		if err != nil {
			return err
		}
		counts := map[store.Outcome]int{}
		commit := func(ctx context.Context, advisories []patchwatch.Advisory, cursor []byte) error {
			outcomes, err := s.CommitFeed(ctx, p.Name(), advisories, cursor)
			for _, o := range outcomes {
				counts[o]++
			}
			return err
		}
		start := time.Now()
		stats, err := p.Poll(ctx, cursor, commit)
		log.Info("poll finished", "feed", p.Name(), "fetched", stats.Fetched, "failed", stats.Failed,
			"new", counts[store.Inserted], "updated", counts[store.Updated], "unchanged", counts[store.Unchanged],
			"duration", time.Since(start).Round(time.Millisecond), "err", err)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func runPoll(ctx context.Context, env *Env, args []string) error {
	return runPollLoop(ctx, env, "poll", args)
}

func runServe(ctx context.Context, env *Env, args []string) error {
	return runPollLoop(ctx, env, "serve", args)
}

// runPollLoop is `poll` (with --once for one round) and `serve`.
func runPollLoop(ctx context.Context, env *Env, name string, args []string) error {
	fs := newFlags(env, name)
	db := dbFlag(env, fs)
	configPath := fs.String("config", "", "YAML configuration `file`")
	once := new(bool)
	if name == "poll" {
		once = fs.Bool("once", false, "run one round and exit")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dbSet := false
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	cfg, err := loadConfig(env, *configPath, *db, dbSet)
	if err != nil {
		return err
	}
	return pollRounds(ctx, env, cfg, *once)
}

// pollRounds polls once, or on cfg.PollInterval until ctx ends.
func pollRounds(ctx context.Context, env *Env, cfg config.Config, once bool) error {
	level, _ := cfg.SlogLevel()
	log := env.logger(level)
	s, err := store.Open(cfg.DB, store.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	pollers := buildPollers(cfg, log)
	if len(pollers) == 0 {
		return errors.New("no feed is enabled in the configuration")
	}
	if once {
		return pollOnce(ctx, s, pollers, log)
	}
	log.Info("polling", "interval", cfg.PollInterval, "db", cfg.DB, "feeds", len(pollers))
	ticker := time.NewTicker(cfg.PollInterval)
	defer ticker.Stop()
	for {
		if err := pollOnce(ctx, s, pollers, log); err != nil && ctx.Err() == nil {
			log.Error("poll round failed; cursors kept, will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			log.Info("stopping")
			return nil
		case <-ticker.C:
		}
	}
}
