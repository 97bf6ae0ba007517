package rhsa_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/feeds"
	"github.com/patchwatch/patchwatch/feeds/rhsa"
)

// warnings counts the warnings logged, by message.
type warnings struct {
	mu  sync.Mutex
	got map[string]int
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.Level == slog.LevelWarn {
		var file string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "file" {
				file = " " + a.Value.String()
			}
			return true
		})
		w.got[r.Message+file]++
	}
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

func (w *warnings) count(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for k, v := range w.got {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// backfilled is the cursor of a feed whose backfill is done, before any
// change of these tests.
var backfilled = []byte(`{"backfilled":true,"changes":{},"since":"2020-01-01T00:00:00Z"}`)

func indexPoller(srv *httptest.Server, batch int, timeout time.Duration, log *slog.Logger) *rhsa.Poller {
	fetch := feeds.NewFetcher(feeds.FetcherOptions{Attempts: 1, Timeout: timeout, Sleep: func(context.Context, time.Duration) error { return nil }})
	return rhsa.NewPoller(rhsa.Config{BaseURL: srv.URL + "/csaf/", Backfill: "index", BatchSize: batch}, fetch, log)
}

// serve adds testdata documents to the fake site under their own paths.
func serve(t *testing.T, up *redHat, paths ...string) {
	t.Helper()
	for _, p := range paths {
		up.files[p] = readFile(t, p)
	}
}

// TestOneRoundStoresEverythingPublished: a site whose changes.csv mixes
// rhsa, rhba and rhea rows with rows of other shapes, names a document
// that answers 404, and withdraws one advisory. One round stores every
// advisory it publishes, skips the rest with one warning per file, records
// the 404, and applies the withdrawal.
func TestOneRoundStoresEverythingPublished(t *testing.T) {
	// After an index backfill changes.csv is read from a day before it
	// began: these changes are newer.
	base := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	at := func(minutes int) string { return base.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339) }
	up := newRedHat(map[string][]byte{
		"index.txt": []byte("2023/rhsa-2023_7434.json\n2023/rhsa-2023_7438.json\n2024/cve-2024_1234.json\n"),
		"changes.csv": []byte(strings.Join([]string{
			`"2026/rhba-2026_0100.json","` + at(0) + `"`,
			`"2026/rhea-2026_0101.json","` + at(1) + `"`,
			`"2026/rhea-2026_0102.json","` + at(2) + `"`,
			`"2024/rhsa-2024_0811.json","` + at(2) + `"`,
			`"2024/rhsa-2024_9999.json","` + at(2) + `"`, // listed, answers 404
			`"2025/rhsa-2025_23414.json","` + at(3) + `"`,
			`"2026/rhsa-2026_0001.json","` + at(3) + `"`, // withdrawn: 404 too
			`"2026/rhsx-2026_0002.json","` + at(3) + `"`, // unknown kind
			`"2026/rhsa-2026_0003.json","yesterday"`,     // bad time
			`"../../etc/passwd","` + at(3) + `"`,
			`"2025/rhsa-2026_0004.json","` + at(3) + `"`, // folder year differs
			`not,csv,at all`,
		}, "\n") + "\n"),
		"deletions.csv": []byte(`"2026/rhsa-2026_0001.json","2026-01-10T00:00:00+00:00"` + "\n" +
			`"2023/rhsa-2023_7434.json","2026-01-11T00:00:00+00:00"` + "\n" + `garbage` + "\n"),
	})
	serve(t, up, "2023/rhsa-2023_7434.json", "2023/rhsa-2023_7438.json", "2026/rhba-2026_0100.json", "2026/rhea-2026_0101.json",
		"2026/rhea-2026_0102.json", "2024/rhsa-2024_0811.json", "2025/rhsa-2025_23414.json")
	up.etags["deletions.csv"] = `"d1"`
	srv := httptest.NewServer(up)
	defer srv.Close()
	warn := &warnings{got: map[string]int{}}
	p := indexPoller(srv, 2, 0, slog.New(warn))
	st := newStore()
	stats, err := p.Poll(context.Background(), nil, st.sink())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range st.advisories {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// 7434 came from the backfill and was withdrawn; 7438 is OpenStack
	// only; RHEA-2026:0101 fixes no CVE.
	want := []string{"RHBA-2026:0100", "RHEA-2026:0102", "RHSA-2024:0811", "RHSA-2025:23414"}
	if !slices.Equal(ids, want) {
		t.Errorf("stored %v, want %v (stats %+v)", ids, want, stats)
	}
	if stats.Skipped != 7 || stats.Missing != 2 || stats.Withdrawn != 2 {
		t.Errorf("stats = %+v, want 7 skipped rows, 2 missing, 2 withdrawn", stats)
	}
	for _, file := range []string{"changes.csv", "index.txt", "deletions.csv"} {
		if n := warn.count("index rows skipped: not a YYYY/{rhsa,rhba,rhea}-YYYY_NNNN.json path with a time " + file); n != 1 {
			t.Errorf("%s: %d warnings about skipped rows, want 1", file, n)
		}
	}
	cur := st.decodeCursor(t)
	if !slices.Equal(cur.Missing, []string{"2024/rhsa-2024_9999.json", "2026/rhsa-2026_0001.json"}) {
		t.Errorf("missing = %v", cur.Missing)
	}
	if !cur.Since.Equal(base.Add(3*time.Minute)) || cur.SincePath != "2026/rhsa-2026_0001.json" || cur.Deletions.ETag != `"d1"` {
		t.Errorf("cursor = %+v", cur)
	}

	// The next round: nothing new, the 404s are not asked again and the
	// unchanged deletions.csv is not applied again.
	up.etags["changes.csv"] = `"c1"`
	before := up.fetched["2024/rhsa-2024_9999.json"]
	if _, err := p.Poll(context.Background(), st.cursor, st.sink()); err != nil {
		t.Fatal(err)
	}
	if up.fetched["2024/rhsa-2024_9999.json"] != before || len(st.withdrawn) != 1 {
		t.Errorf("second round: 404 asked %d more times, %d withdrawals", up.fetched["2024/rhsa-2024_9999.json"]-before, len(st.withdrawn))
	}
}

// TestTimeoutAndServerErrorKeepTheCursor: a document that stalls past the
// timeout, then answers 502, holds the cursor before its batch; the next
// round stores it without fetching the committed batch again.
func TestTimeoutAndServerErrorKeepTheCursor(t *testing.T) {
	up := newRedHat(map[string][]byte{
		"changes.csv": []byte(`"2024/rhsa-2024_0010.json","2026-02-01T00:00:00+00:00"` + "\n" +
			`"2024/rhsa-2024_0811.json","2026-02-01T00:00:01+00:00"` + "\n" +
			`"2024/rhsa-2024_1431.json","2026-02-01T00:00:02+00:00"` + "\n"),
	})
	serve(t, up, "2024/rhsa-2024_0010.json", "2024/rhsa-2024_0811.json", "2024/rhsa-2024_1431.json")
	up.stall["2024/rhsa-2024_1431.json"] = true
	srv := httptest.NewServer(up)
	defer srv.Close()
	p := indexPoller(srv, 2, 200*time.Millisecond, nil)
	st := newStore()
	ctx := context.Background()
	if _, err := p.Poll(ctx, backfilled, st.sink()); err == nil || !strings.Contains(err.Error(), "rhsa-2024_1431") {
		t.Fatalf("stalled document: err = %v", err)
	}
	if cur := st.decodeCursor(t); cur.SincePath != "2024/rhsa-2024_0811.json" {
		t.Fatalf("cursor after the timeout = %+v", cur)
	}
	up.mu.Lock()
	up.stall = map[string]bool{}
	up.fail["2024/rhsa-2024_1431.json"] = 502
	up.mu.Unlock()
	if _, err := p.Poll(ctx, st.cursor, st.sink()); err == nil {
		t.Fatal("502 accepted")
	}
	up.mu.Lock()
	up.fail = map[string]int{}
	up.mu.Unlock()
	if _, err := p.Poll(ctx, st.cursor, st.sink()); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.advisories["RHSA-2024:1431"]; !ok {
		t.Error("RHSA-2024:1431 not stored once its server recovered")
	}
	if n := up.fetched["2024/rhsa-2024_0010.json"]; n != 1 {
		t.Errorf("the committed batch was fetched %d times", n)
	}
}

// TestCursorKeepsTies: rows sharing one timestamp, read in batches of two,
// with a crash between batches and then a failing document. Every row is
// stored exactly once across the rounds (RHSA-2024:1431 was lost when the
// cursor was a timestamp alone).
func TestCursorKeepsTies(t *testing.T) {
	same := "2026-03-01T12:00:00+00:00"
	docs := []string{"2023/rhsa-2023_3821.json", "2023/rhsa-2023_7025.json", "2024/rhsa-2024_0010.json",
		"2024/rhsa-2024_1431.json", "2024/rhsa-2024_6163.json", "2024/rhsa-2024_9371.json"}
	var rows []string
	for _, d := range slices.Backward(docs) { // the file's order is not the cursor's
		rows = append(rows, `"`+d+`","`+same+`"`)
	}
	up := newRedHat(map[string][]byte{"changes.csv": []byte(strings.Join(rows, "\n") + "\n")})
	serve(t, up, docs...)
	srv := httptest.NewServer(up)
	defer srv.Close()
	p := indexPoller(srv, 2, 0, nil)
	ctx := context.Background()

	st := newStore()
	// Round 1: the first batch is committed, then the process dies.
	st.failAfter = 1
	if _, err := p.Poll(ctx, backfilled, st.sink()); err == nil {
		t.Fatal("the simulated crash did not fail the round")
	}
	if cur := st.decodeCursor(t); cur.SincePath != docs[1] {
		t.Fatalf("after the crash the cursor is %+v, want it after %s", cur, docs[1])
	}
	// Round 2: the document after the next batch answers 503.
	st.failAfter = 0
	up.fail[docs[4]] = 503
	if _, err := p.Poll(ctx, st.cursor, st.sink()); err == nil {
		t.Fatal("503 accepted")
	}
	// Round 3: all well.
	delete(up.fail, docs[4])
	if _, err := p.Poll(ctx, st.cursor, st.sink()); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		id, _ := rhsa.PathID(d)
		if _, ok := st.advisories[id]; !ok {
			t.Errorf("%s lost", id)
		}
	}
	// Each document was read once, except the two of the batch the crash
	// interrupted (read again: nothing of theirs was committed) and the
	// one the 503 failed; its batch-mate may or may not have been asked
	// before the failure cancelled the batch.
	if n := up.fetched[docs[5]]; n < 1 || n > 2 {
		t.Errorf("%s fetched %d times", docs[5], n)
	}
	want := map[string]int{docs[0]: 1, docs[1]: 1, docs[2]: 2, docs[3]: 2, docs[4]: 2}
	for d, n := range want {
		if up.fetched[d] != n {
			t.Errorf("%s fetched %d times, want %d", d, up.fetched[d], n)
		}
	}
}

// TestOldCursorRereadsItsSecond: a cursor written before SincePath existed
// re-reads the rows of its last second once, recovering a lost tie.
func TestOldCursorRereadsItsSecond(t *testing.T) {
	up := newRedHat(map[string][]byte{"changes.csv": []byte(
		`"2024/rhsa-2024_0010.json","2026-03-01T12:00:00+00:00"` + "\n" + `"2024/rhsa-2024_1431.json","2026-03-01T12:00:00+00:00"` + "\n")})
	serve(t, up, "2024/rhsa-2024_0010.json", "2024/rhsa-2024_1431.json")
	srv := httptest.NewServer(up)
	defer srv.Close()
	st := newStore()
	old := []byte(`{"backfilled":true,"changes":{},"since":"2026-03-01T12:00:00Z"}`)
	if _, err := indexPoller(srv, 1, 0, nil).Poll(context.Background(), old, st.sink()); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.advisories["RHSA-2024:1431"]; !ok {
		t.Error("the tie lost under the old cursor was not recovered")
	}
}

// TestBackfillRereadsDeletions: documents withdrawn after the archive was
// made are removed in the round that completes the backfill, even when
// deletions.csv is unchanged since an earlier, failed backfill.
func TestBackfillRereadsDeletions(t *testing.T) {
	up := newRedHat(map[string][]byte{
		"archive_latest.txt":                 []byte("csaf_advisories_2026-01-01.tar.zst\n"),
		"csaf_advisories_2026-01-01.tar.zst": tarZst(t, "2023/rhsa-2023_7434.json", "2024/rhsa-2024_0010.json"),
		"changes.csv":                        nil,
		"deletions.csv":                      []byte(`"2023/rhsa-2023_7434.json","2026-01-02T00:00:00+00:00"` + "\n"),
	})
	up.etags["deletions.csv"] = `"d1"`
	srv := httptest.NewServer(up)
	defer srv.Close()
	st := newStore()
	cursor := []byte(`{"backfilled":false,"changes":{},"since":"0001-01-01T00:00:00Z","deletions":{"etag":"\"d1\""}}`)
	if _, err := newPoller(srv, "archive").Poll(context.Background(), cursor, st.sink()); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.advisories["RHSA-2023:7434"]; ok {
		t.Error("withdrawn advisory kept from the archive")
	}
	if _, ok := st.advisories["RHSA-2024:0010"]; !ok {
		t.Error("archive advisory missing")
	}
}

func TestParseChanges(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []rhsa.Change
		skipped int
	}{
		{"rhsa", `"2024/rhsa-2024_0010.json","2025-02-18T14:28:08+00:00"`, []rhsa.Change{{Path: "2024/rhsa-2024_0010.json", At: time.Date(2025, 2, 18, 14, 28, 8, 0, time.UTC)}}, 0},
		{"rhba unquoted", "2026/rhba-2026_0100.json,2026-01-08T09:12:41Z", []rhsa.Change{{Path: "2026/rhba-2026_0100.json", At: time.Date(2026, 1, 8, 9, 12, 41, 0, time.UTC)}}, 0},
		{"rhea five digits, offset", `"2025/rhea-2025_12345.json","2025-05-01T02:00:00+02:00"`, []rhsa.Change{{Path: "2025/rhea-2025_12345.json", At: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)}}, 0},
		{"traversal", `"../../etc/passwd","2025-01-01T00:00:00+00:00"`, nil, 1},
		{"url", `"https://evil.example/2024/rhsa-2024_0010.json","2025-01-01T00:00:00+00:00"`, nil, 1},
		{"bad time", `"2024/rhsa-2024_0010.json","yesterday"`, nil, 1},
		{"one field", `"2024/rhsa-2024_0010.json"`, nil, 1},
		{"three fields", `"2024/rhsa-2024_0010.json","2025-01-01T00:00:00+00:00","x"`, nil, 1},
		{"other kind", `"2024/cve-2024_0010.json","2025-01-01T00:00:00+00:00"`, nil, 1},
		{"upper case", `"2024/RHSA-2024_0010.json","2025-01-01T00:00:00+00:00"`, nil, 1},
		{"year mismatch", `"2023/rhsa-2024_0010.json","2025-01-01T00:00:00+00:00"`, nil, 1},
		{"bare quote", `"2024/rhsa-2024_0010.json,"2025`, nil, 1},
		{"blank lines and CRLF", "\r\n\"2024/rhsa-2024_0010.json\",\"2025-02-18T14:28:08+00:00\"\r\n\r\n", []rhsa.Change{{Path: "2024/rhsa-2024_0010.json", At: time.Date(2025, 2, 18, 14, 28, 8, 0, time.UTC)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped := rhsa.ParseChanges([]byte(tt.data))
			if !slices.Equal(got, tt.want) || skipped.Rows != tt.skipped {
				t.Errorf("ParseChanges = %v, %+v; want %v, %d skipped", got, skipped, tt.want, tt.skipped)
			}
		})
	}
}

func TestParseDeletions(t *testing.T) {
	got, skipped := rhsa.ParseDeletions([]byte(`"2024/rhsa-2024_2030.json","2024-04-26T14:35:15+00:00"` + "\n" +
		`"2026/rhba-2026_0100.json","2026-02-01T00:00:00+00:00"` + "\n" +
		`"2024/rhsa-2024_2030.json","2024-04-27T00:00:00+00:00"` + "\n" + "nonsense\n" + "2025/rhea-2025_0007.json\n"))
	want := []rhsa.Deletion{
		{ID: "RHSA-2024:2030", At: time.Date(2024, 4, 27, 0, 0, 0, 0, time.UTC)},
		{ID: "RHBA-2026:0100", At: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "RHEA-2025:0007"}, // a path alone: time unknown
	}
	if !slices.Equal(got, want) || skipped.Rows != 1 || skipped.First != "nonsense" {
		t.Errorf("ParseDeletions = %v, %+v", got, skipped)
	}
}

func FuzzParseChanges(f *testing.F) {
	f.Add([]byte(`"2024/rhsa-2024_0010.json","2025-02-18T14:28:08+00:00"` + "\n" + `"2026/rhba-2026_0100.json","2026-01-08T09:12:41+00:00"`))
	f.Add([]byte("\"a\nb\",\"c\"\n,,,\n\"\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		changes, skipped := rhsa.ParseChanges(data)
		if skipped.Rows < 0 || skipped.Rows == 0 && skipped.First != "" {
			t.Fatalf("skipped = %+v", skipped)
		}
		for _, c := range changes {
			id, ok := rhsa.PathID(c.Path)
			if !ok || strings.Contains(c.Path, "..") || !strings.HasSuffix(c.Path, ".json") || c.At.Location() != time.UTC {
				t.Fatalf("bad change %+v", c)
			}
			if !strings.HasPrefix(id, "RHSA-") && !strings.HasPrefix(id, "RHBA-") && !strings.HasPrefix(id, "RHEA-") {
				t.Fatalf("id %q from %q", id, c.Path)
			}
		}
	})
}

func FuzzParseDeletions(f *testing.F) {
	f.Add([]byte(`"2024/rhsa-2024_2030.json","2024-04-26T14:35:15+00:00"` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		deletions, _ := rhsa.ParseDeletions(data)
		seen := map[string]bool{}
		for _, d := range deletions {
			if seen[d.ID] || len(d.ID) < len("RHSA-2024:0001") {
				t.Fatalf("deletions %v", deletions)
			}
			seen[d.ID] = true
		}
	})
}
