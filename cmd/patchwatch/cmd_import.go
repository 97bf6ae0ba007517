package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/importer"
	"github.com/patchwatch/patchwatch/store"
)

// importBatch bounds the advisories stored in one transaction.
const importBatch = 1000

func runImport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import")
	db := dbFlag(env, fs)
	quiet := fs.Bool("quiet", false, "print only the rejections and the summary: no catalog lines, no progress")
	verbose := fs.Bool("verbose", false, "print one line per record: new, updated, unchanged, stale or skipped")
	configPath := fs.String("config", "", "YAML configuration `file` (urgency rules; store: postgres stores there)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError("import needs at least one file or directory")
	}
	if *quiet && *verbose {
		return usageError("--quiet and --verbose exclude each other")
	}
	s, err := openCLIStore(ctx, env, *db, *configPath, false)
	if err != nil {
		return err
	}
	defer s.Close()

	svc, err := newService(env, s, *configPath)
	if err != nil {
		return err
	}
	prog := startProgress(env, !*quiet && !*verbose)
	defer prog.stop()
	var changed []patchwatch.Advisory
	allHosts := false
	counts := map[store.Outcome]int{}
	rejected, skipped := 0, 0
	var pending []importer.Record
	report := func(r importer.Record, outcomes []store.Outcome) {
		for i, o := range outcomes {
			counts[o]++
			if o == store.Inserted || o == store.Updated {
				changed = append(changed, r.Advisories[i])
			}
			if *verbose {
				fmt.Fprintf(env.Stdout, "%-9s %s (%s)\n", o, r.Advisories[i].ID, r.Name)
			}
		}
	}
	// flush stores the pending records in one transaction; if that fails,
	// it stores them one by one so a bad record rejects only itself.
	flush := func() error {
		defer func() { pending = pending[:0] }()
		var batch []patchwatch.Advisory
		for _, r := range pending {
			batch = append(batch, r.Advisories...)
		}
		if outcomes, err := s.UpsertAdvisories(ctx, batch); err == nil {
			for _, r := range pending {
				report(r, outcomes[:len(r.Advisories)])
				outcomes = outcomes[len(r.Advisories):]
			}
			return nil
		} else if ctx.Err() != nil {
			return err
		}
		for _, r := range pending {
			outcomes, err := s.UpsertAdvisories(ctx, r.Advisories)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				rejected++
				prog.clear()
				fmt.Fprintf(env.Stdout, "rejected  %s: %v\n", r.Name, err)
				continue
			}
			report(r, outcomes)
		}
		return nil
	}
	n := 0
	err = importer.Walk(ctx, fs.Args(), importer.Parsers(), func(r importer.Record) error {
		prog.files.Add(1)
		prog.records.Add(int64(len(r.Advisories)))
		// A file may be rejected in part: a list file reports one error per entry.
		for _, err := range feeds.SplitErrors(r.Err) {
			if errors.Is(err, patchwatch.ErrNotAdvisory) {
				skipped++
				if *verbose {
					fmt.Fprintf(env.Stdout, "skipped   %s: %v\n", r.Name, err)
				}
				continue
			}
			rejected++
			prog.clear()
			fmt.Fprintf(env.Stdout, "rejected  %s: %v\n", r.Name, err)
		}
		switch {
		case r.KEV != nil:
			if err := s.ReplaceKEV(ctx, r.KEV.Entries, "", nil); err != nil {
				return err
			}
			allHosts = true
			if !*quiet {
				prog.clear()
				fmt.Fprintf(env.Stdout, "kev       catalog %s: %d known exploited CVEs (%s)\n", r.KEV.Version, len(r.KEV.Entries), r.Name)
			}
			return nil
		case r.Urgencies != nil:
			if err := s.ReplaceUrgencies(ctx, r.Urgencies, "", nil); err != nil {
				return err
			}
			allHosts = true
			if !*quiet {
				prog.clear()
				fmt.Fprintf(env.Stdout, "tracker   %d Debian CVE urgencies (%s)\n", len(r.Urgencies), r.Name)
			}
			return nil
		case len(r.Advisories) == 0:
			return nil
		}
		pending = append(pending, r)
		n += len(r.Advisories)
		if n >= importBatch {
			n = 0
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	prog.stop()
	if allHosts {
		err = svc.SyncHosts(ctx, nil)
	} else {
		_, err = svc.Rematch(ctx, changed)
	}
	if err != nil {
		return fmt.Errorf("re-evaluate hosts: %w", err)
	}
	fmt.Fprintf(env.Stdout, "imported: %d new, %d updated, %d unchanged, %d stale (older than stored), %d skipped (no fix data), %d rejected\n",
		counts[store.Inserted], counts[store.Updated], counts[store.Unchanged], counts[store.Stale], skipped, rejected)
	if rejected > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d files or records rejected", rejected)}
	}
	return nil
}
