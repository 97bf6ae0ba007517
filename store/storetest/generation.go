package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

// testAdvisoryGeneration: the generation moves with every write that
// changes the advisories (insert, update, withdrawal) and with none that
// does not (an identical or stale copy, an unknown withdrawal).
func testAdvisoryGeneration(t *testing.T, s Storage) {
	ctx := context.Background()
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	adv := func(modified time.Time, fixed string) patchwatch.Advisory {
		return patchwatch.Advisory{ID: "USN-1-1", Source: patchwatch.SourceUSN, Published: at, Modified: modified,
			Fixes: []patchwatch.Fix{{Release: "ubuntu:22.04", Package: "openssl", Kind: patchwatch.KindSource, FixedVersion: fixed}}}
	}
	last, err := s.AdvisoryGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		write func() error
		moves bool
	}{
		{"insert", func() error { _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{adv(at, "1.0-2")}); return err }, true},
		{"identical", func() error { _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{adv(at, "1.0-2")}); return err }, false},
		{"update", func() error {
			_, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{adv(at.Add(time.Hour), "1.0-3")})
			return err
		}, true},
		{"stale", func() error { _, err := s.UpsertAdvisories(ctx, []patchwatch.Advisory{adv(at, "1.0-4")}); return err }, false},
		{"unknown withdrawal", func() error {
			_, err := s.WithdrawAdvisories(ctx, "", []store.Withdrawal{{ID: "USN-9-9"}}, nil, at)
			return err
		}, false},
		{"withdrawal", func() error {
			_, err := s.WithdrawAdvisories(ctx, "", []store.Withdrawal{{ID: "USN-1-1"}}, nil, at.Add(2*time.Hour))
			return err
		}, true},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		gen, err := s.AdvisoryGeneration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if moved := gen != last; moved != st.moves {
			t.Errorf("%s: generation %d -> %d, want moved=%v", st.name, last, gen, st.moves)
		}
		last = gen
	}
}
