package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/dsa"
	"github.com/patchwatch/patchwatch/feeds/kev"
	"github.com/patchwatch/patchwatch/feeds/rebuild"
	"github.com/patchwatch/patchwatch/feeds/rhsa"
	"github.com/patchwatch/patchwatch/feeds/usn"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
)

// poller is one source as the poll loop drives it: it polls and commits
// to the store itself, and says in a few words what it did.
type poller interface {
	Name() string
	Run(ctx context.Context, s pollStore, changes *changeSet) (summary []any, err error)
}

// changeSet collects what a poll round changed, to re-evaluate just the
// hosts it concerns afterwards.
type changeSet struct {
	advisories []patchwatch.Advisory
	// all is set when a change concerns every host (tracker urgencies, a
	// KEV update that drops entries).
	all bool
	// kev are the CVEs whose KEV entries a new catalog added or changed;
	// kevChanges tells them (nil: every host is re-evaluated instead).
	kev        []string
	kevChanges func(ctx context.Context, entries []patchwatch.KEVEntry) (changed []string, dropped bool, err error)
	// stored counts the advisories committed so far (backfill progress).
	stored atomic.Int64
}

// commitAdvisories returns a commit function that stores advisories and
// the feed's cursor in one transaction, counting the outcomes.
func commitAdvisories(s pollStore, feed string, counts map[store.Outcome]int, changes *changeSet) commitFunc {
	return func(ctx context.Context, advisories []patchwatch.Advisory, cursor []byte) error {
		outcomes, err := s.CommitFeed(ctx, feed, advisories, cursor)
		if err == nil {
			changes.stored.Add(int64(len(advisories)))
		}
		for i, o := range outcomes {
			counts[o]++
			if o == store.Inserted || o == store.Updated {
				changes.advisories = append(changes.advisories, advisories[i])
			}
		}
		return err
	}
}

func outcomeSummary(counts map[store.Outcome]int) []any {
	return []any{"new", counts[store.Inserted], "updated", counts[store.Updated], "unchanged", counts[store.Unchanged]}
}

type debianPoller struct{ p *dsa.Poller }

func (d debianPoller) Name() string { return dsa.FeedName }

func (d debianPoller) Run(ctx context.Context, s pollStore, changes *changeSet) ([]any, error) {
	cursor, err := s.Cursor(ctx, dsa.FeedName)
	if err != nil {
		return nil, err
	}
	counts := map[store.Outcome]int{}
	stats, err := d.p.Poll(ctx, cursor, dsa.Sink{
		Advisories: commitAdvisories(s, dsa.FeedName, counts, changes),
		Urgencies: func(ctx context.Context, u []patchwatch.CVEUrgency, cursor []byte) error {
			changes.all = true
			return s.ReplaceUrgencies(ctx, u, dsa.FeedName, cursor)
		},
	})
	return append([]any{"rejected", stats.Rejected, "urgencies", stats.Urgencies}, outcomeSummary(counts)...), err
}

// redHatPoller drives Red Hat's CSAF feed, whose deletions.csv withdraws
// advisories: they are removed, their findings resolved, and the hosts
// their fixes name re-evaluated with the round's other changes.
type redHatPoller struct{ p *rhsa.Poller }

func (r redHatPoller) Name() string { return rhsa.FeedName }

func (r redHatPoller) hasBackfill() bool { return true }

func (r redHatPoller) Run(ctx context.Context, s pollStore, changes *changeSet) ([]any, error) {
	cursor, err := s.Cursor(ctx, rhsa.FeedName)
	if err != nil {
		return nil, err
	}
	counts := map[store.Outcome]int{}
	withdrawn := 0
	stats, err := r.p.Poll(ctx, cursor, rhsa.Sink{
		Advisories: commitAdvisories(s, rhsa.FeedName, counts, changes),
		Withdraw: func(ctx context.Context, deletions []rhsa.Deletion, cursor []byte) error {
			withdrawals := make([]store.Withdrawal, len(deletions))
			for i, d := range deletions {
				withdrawals[i] = store.Withdrawal{ID: d.ID, At: d.At}
			}
			removed, err := s.WithdrawAdvisories(ctx, rhsa.FeedName, withdrawals, cursor, time.Now())
			withdrawn += len(removed)
			// Their findings are resolved in the same transaction; a
			// stub without fixes lets the round's rematch see the change
			// (a rebuild that lost its last advisory) without matching
			// the withdrawn fixes again.
			for _, a := range removed {
				changes.advisories = append(changes.advisories, patchwatch.Advisory{ID: a.ID, Source: a.Source})
			}
			return err
		},
	})
	return append([]any{"stats", fmt.Sprintf("%+v", stats), "withdrawn", withdrawn}, outcomeSummary(counts)...), err
}

// commitFunc stores advisories and a feed's cursor in one transaction.
type commitFunc = func(context.Context, []patchwatch.Advisory, []byte) error

// advisoryPoller is a source whose Poll takes a cursor and a commit of
// advisories (usn, alsa, rlsa).
type advisoryPoller[S any] struct {
	name string
	poll func(ctx context.Context, cursor []byte, commit commitFunc) (S, error)
	// backfill is set when the first round reads the whole history.
	backfill bool
}

func (a advisoryPoller[S]) Name() string { return a.name }

func (a advisoryPoller[S]) hasBackfill() bool { return a.backfill }

func (a advisoryPoller[S]) Run(ctx context.Context, s pollStore, changes *changeSet) ([]any, error) {
	cursor, err := s.Cursor(ctx, a.name)
	if err != nil {
		return nil, err
	}
	counts := map[store.Outcome]int{}
	stats, err := a.poll(ctx, cursor, commitAdvisories(s, a.name, counts, changes))
	return append([]any{"stats", fmt.Sprintf("%+v", stats)}, outcomeSummary(counts)...), err
}

type kevPoller struct{ p *kev.Poller }

func (k kevPoller) Name() string { return kev.FeedName }

func (k kevPoller) Run(ctx context.Context, s pollStore, changes *changeSet) ([]any, error) {
	cursor, err := s.Cursor(ctx, kev.FeedName)
	if err != nil {
		return nil, err
	}
	entries := 0
	changed, err := k.p.Poll(ctx, cursor, func(ctx context.Context, c kev.Catalog, cursor []byte) error {
		entries = len(c.Entries)
		// Compared before it replaces the stored catalog: only the hosts
		// with findings of the CVEs it adds or changes are re-evaluated.
		if changes.kevChanges == nil {
			changes.all = true
		} else if cves, dropped, err := changes.kevChanges(ctx, c.Entries); err != nil {
			return err
		} else if dropped {
			changes.all = true
		} else {
			changes.kev = append(changes.kev, cves...)
		}
		return s.ReplaceKEV(ctx, c.Entries, kev.FeedName, cursor)
	})
	return []any{"changed", changed, "entries", entries}, err
}

// loadConfig reads --config when given, else the defaults; where the file
// is silent $PATCHWATCH_DB and $PATCHWATCH_LISTEN apply, and --db wins
// when it was set explicitly.
func loadConfig(env *Env, path, db string, dbSet bool) (config.Config, error) {
	cfg := config.DefaultEnv(env.Getenv)
	if path != "" {
		var err error
		if cfg, err = config.LoadEnv(path, env.Getenv); err != nil {
			return cfg, err
		}
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
	// Bulk archives are downloaded beside the database, then read one
	// record at a time.
	downloads := filepath.Dir(cfg.DB)
	var ps []poller
	if c := cfg.Feeds.USN; c.Enabled {
		resync := c.ResyncInterval
		if resync == 0 {
			resync = -1 // off
		}
		p := usn.NewPoller(usn.Config{
			FeedURL: c.FeedURL, RecordURL: c.RecordURL,
			BackfillURL: c.BackfillURL, BackfillMaxBytes: c.BackfillMaxBytes,
			DownloadDir: downloads, ResyncInterval: resync, MaxProbes: c.MaxProbes,
		}, fetch, log)
		ps = append(ps, advisoryPoller[usn.Stats]{name: p.Name(), poll: func(ctx context.Context, cur []byte, commit commitFunc) (usn.Stats, error) {
			return p.Poll(ctx, cur, commit)
		}, backfill: c.BackfillURL != "-"})
	}
	if c := cfg.Feeds.Debian; c.Enabled {
		ps = append(ps, debianPoller{dsa.NewPoller(dsa.Config{
			RDFURL: c.RDFURL, DSAListURL: c.DSAListURL, DLAListURL: c.DLAListURL,
			TrackerURL: c.TrackerURL, TrackerMaxBytes: c.TrackerMaxBytes, DownloadDir: downloads,
		}, fetch, log)})
	}
	if c := cfg.Feeds.RHSA; c.Enabled {
		ps = append(ps, redHatPoller{rhsa.NewPoller(rhsa.Config{BaseURL: c.BaseURL, Backfill: c.Backfill, ArchiveMaxBytes: c.ArchiveMaxBytes, Concurrency: c.Concurrency, DownloadDir: downloads}, fetch, log)})
	}
	for _, r := range []struct {
		name string
		cfg  config.Rebuild
	}{{"alsa", cfg.Feeds.AlmaLinux}, {"rlsa", cfg.Feeds.Rocky}} {
		if !r.cfg.Enabled {
			continue
		}
		p := rebuild.NewPoller(rebuild.Config{Name: r.name, URL: r.cfg.URL, MaxBytes: r.cfg.MaxBytes, DownloadDir: downloads}, fetch, log)
		ps = append(ps, advisoryPoller[rebuild.Stats]{name: r.name, poll: func(ctx context.Context, cur []byte, commit commitFunc) (rebuild.Stats, error) {
			return p.Poll(ctx, cur, commit)
		}})
	}
	if c := cfg.Feeds.KEV; c.Enabled {
		ps = append(ps, kevPoller{kev.NewPoller(c.Sources(), fetch, log)})
	}
	return ps
}

// pollOnce runs one round of every poller. A failing feed does not stop
// the others; the error returned joins every failure. rec records each
// feed's status.
func pollOnce(ctx context.Context, s pollStore, svc *service.Service, pollers []poller, log *slog.Logger, rec *feedRecorder) error {
	var errs []error
	changes := &changeSet{kevChanges: svc.KEVChanges}
	statuses := make([]patchwatch.FeedStatus, 0, len(pollers))
	feedErrs := make([]error, 0, len(pollers))
	for _, p := range pollers {
		start := time.Now()
		st, stopProgress := rec.begin(ctx, p, &changes.stored)
		summary, err := p.Run(ctx, s, changes)
		stopProgress()
		duration := time.Since(start)
		statuses = append(statuses, rec.end(ctx, p, st, duration, err))
		feedErrs = append(feedErrs, err)
		attrs := append([]any{"feed", p.Name(), "duration", duration.Round(time.Millisecond)}, summary...)
		if err != nil {
			log.Error("poll failed; cursor kept", append(attrs, "err", err)...)
			errs = append(errs, fmt.Errorf("%s: %w", p.Name(), err))
			continue
		}
		log.Info("poll finished", attrs...)
	}
	rec.finish(ctx, statuses, feedErrs, changes.stored.Load() > 0 || changes.all)
	// What was committed stays committed even when a feed failed: the
	// hosts it concerns are re-evaluated either way.
	if changes.all {
		start := time.Now()
		if err := svc.SyncHosts(ctx, nil); err != nil {
			errs = append(errs, err)
		} else {
			log.Info("every host re-evaluated: the KEV catalog dropped entries or the tracker's urgencies changed", "duration", time.Since(start).Round(time.Millisecond))
		}
		return errors.Join(errs...)
	}
	if len(changes.kev) > 0 {
		start := time.Now()
		if n, err := svc.ReassessCVEs(ctx, changes.kev); err != nil {
			errs = append(errs, err)
		} else {
			log.Info("hosts re-evaluated: their findings' KEV entries changed", "hosts", n, "cves", len(changes.kev), "duration", time.Since(start).Round(time.Millisecond))
		}
	}
	if n, err := svc.Rematch(ctx, changes.advisories); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		log.Info("hosts re-evaluated", "hosts", n, "advisories", len(changes.advisories))
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
	if name == "serve" {
		return serve(ctx, env, cfg)
	}
	return pollRounds(ctx, env, cfg, *once)
}

// pollRounds polls once, or on cfg.PollInterval until ctx ends.
func pollRounds(ctx context.Context, env *Env, cfg config.Config, once bool) error {
	log, _ := redactedLogger(env, cfg)
	s, err := openServeStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	svc := service.New(s, cfg.Urgency, env.Now)
	svc.SetLogger(log.With("component", "service"))
	if once {
		pollers := buildPollers(cfg, log)
		if len(pollers) == 0 {
			return errors.New("no feed is enabled in the configuration")
		}
		return pollOnce(ctx, s, svc, pollers, log, newFeedRecorder(s, log, env.Now, nil))
	}
	return asLeader(ctx, s, "poller", func(ctx context.Context) error {
		return pollLoop(ctx, cfg, s, svc, log, newFeedRecorder(s, log, env.Now, nil))
	})
}

// pollLoop polls every feed on cfg.PollInterval until ctx ends.
func pollLoop(ctx context.Context, cfg config.Config, s pollStore, svc *service.Service, log *slog.Logger, rec *feedRecorder) error {
	// After an upgrade, the stored findings are built once, in chunks that
	// let intake and queries go on (they run in their own goroutines).
	if _, err := svc.ReevaluateIfPending(ctx); err != nil && ctx.Err() == nil {
		log.Error("full re-evaluation failed; will retry on the next start", "err", err)
	}
	pollers := buildPollers(cfg, log)
	if len(pollers) == 0 {
		log.Warn("no feed is enabled: nothing is polled")
		<-ctx.Done()
		return nil
	}
	log.Info("polling", "interval", cfg.PollInterval, "db", cfg.DB, "feeds", len(pollers))
	ticker := time.NewTicker(cfg.PollInterval)
	defer ticker.Stop()
	for {
		if err := pollOnce(ctx, s, svc, pollers, log, rec); err != nil && ctx.Err() == nil {
			log.Error("poll round failed; cursors kept, will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
