package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// slowBackfill stores its history in three batches, 6 s apart, then
// marks its backfill done in the cursor, as usn and rhsa do.
type slowBackfill struct{}

func (slowBackfill) Name() string      { return "usn" }
func (slowBackfill) hasBackfill() bool { return true }
func (slowBackfill) Run(ctx context.Context, s pollStore, changes *changeSet) ([]any, error) {
	for range 3 {
		changes.stored.Add(1000)
		time.Sleep(6 * time.Second)
	}
	_, err := s.CommitFeed(ctx, "usn", nil, []byte(`{"backfilled":true}`))
	return nil, err
}

// TestBackfillProgressIsLogged: while a first backfill runs, the records
// stored so far are logged every few seconds, and the status says running,
// then done.
func TestBackfillProgressIsLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "pw.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		var seen []patchwatch.FeedStatus
		rec := newFeedRecorder(s, log, nil, func(st patchwatch.FeedStatus, err error) { seen = append(seen, st) })
		svc := service.New(s, patchwatch.DefaultUrgencyRules(), nil)
		if err := pollOnce(context.Background(), s, svc, []poller{slowBackfill{}}, log, rec); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		for _, want := range []string{"msg=\"backfill progress\" feed=usn records=1000", "records=2000", "records=3000"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
		}
		if len(seen) != 1 || seen[0].Backfill != backfillDone || seen[0].LastDuration != 18*time.Second {
			t.Errorf("statuses: %+v", seen)
		}
	})
}

func TestFeedErrorsHideURLPasswords(t *testing.T) {
	got := redactURLPasswords(`fetch https://mirror:s3cret@mirror.example.org/rss.xml: HTTP 401; then http://u:p%40ss@h/x`)
	if strings.Contains(got, "s3cret") || strings.Contains(got, "p%40ss") || !strings.Contains(got, "https://mirror:xxxxx@mirror.example.org/rss.xml") {
		t.Errorf("got %q", got)
	}
}
