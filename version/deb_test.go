package version_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	debversion "github.com/knqyf263/go-deb-version"

	"github.com/patchwatch/patchwatch/version"
)

// readTSV loads a table copied from ../shared/upstream/versions (see
// testdata/README.md) as maps from column name to value.
func readTSV(tb testing.TB, path string) []map[string]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	var rows []map[string]string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cols
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			if i < len(cols) {
				row[h] = cols[i]
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return rows
}

var verdicts = map[string]int{"-1": -1, "0": 0, "1": 1}

// TestCompareDebAgainstDpkg checks every row of the dpkg-verified tables in
// both directions against the verdict of the real dpkg --compare-versions.
func TestCompareDebAgainstDpkg(t *testing.T) {
	for _, file := range []string{"testdata/deb_cases.tsv", "testdata/deb_oracle.tsv"} {
		rows := readTSV(t, file)
		if len(rows) < 100 {
			t.Fatalf("%s: only %d rows", file, len(rows))
		}
		for _, row := range rows {
			a, b, want := row["a"], row["b"], row["native_dpkg"]
			got, err := version.CompareDeb(a, b)
			rev, revErr := version.CompareDeb(b, a)
			if want == "ERR" {
				if err == nil || revErr == nil {
					t.Errorf("%s: CompareDeb(%q, %q) = %d, want a syntax error as dpkg gives", file, a, b, got)
				}
				continue
			}
			if a == "" && b == "" {
				// dpkg compares two empty versions as equal; patchwatch
				// refuses an empty version outright.
				if err == nil {
					t.Errorf("empty versions accepted")
				}
				continue
			}
			if err != nil || revErr != nil {
				t.Errorf("%s: CompareDeb(%q, %q): %v / %v, dpkg says %s", file, a, b, err, revErr, want)
				continue
			}
			if got != verdicts[want] || rev != -verdicts[want] {
				t.Errorf("%s: CompareDeb(%q, %q) = %d (reverse %d), dpkg says %s", file, a, b, got, rev, want)
			}
		}
	}
}

func TestCompareDebTricky(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"tilde before end", "1.0~rc1", "1.0", -1},
		{"plus before dot", "1.0+dfsg", "1.0.1", -1},
		{"numeric digits", "1ubuntu1.10", "1ubuntu1.9", 1},
		{"missing revision equals -0", "1.0", "1.0-0", 0},
		{"missing epoch equals 0", "0:1.0", "1.0", 0},
		{"epoch wins", "1:1.0", "9.9", 1},
		{"backport below base", "1.0-1~bpo12+1", "1.0-1", -1},
		{"lenient letter start", "a1.0", "1.0", 1},
		{"lenient caret", "1.0^1", "1.0", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := version.CompareDeb(tt.a, tt.b)
			if err != nil || got != tt.want {
				t.Fatalf("CompareDeb(%q, %q) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
			}
		})
	}
}

func FuzzCompareDeb(f *testing.F) {
	for _, s := range [][2]string{{"1.0-1", "1.0-2"}, {"1:2.3~rc1+dfsg-4ubuntu0.1", "2.3"}, {"a-0", "b-0"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, err1 := version.CompareDeb(a, b)
		ba, err2 := version.CompareDeb(b, a)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("asymmetric errors %v / %v", err1, err2)
		}
		if err1 == nil && ab != -ba {
			t.Fatalf("not antisymmetric: %q vs %q: %d, %d", a, b, ab, ba)
		}
	})
}

// TestAgreesWithGoDebVersion checks dpkg's algorithm as written here
// against github.com/knqyf263/go-deb-version on every row both accept.
func TestAgreesWithGoDebVersion(t *testing.T) {
	compared := 0
	for _, file := range []string{"testdata/deb_cases.tsv", "testdata/deb_oracle.tsv"} {
		for _, row := range readTSV(t, file) {
			la, err1 := debversion.NewVersion(row["a"])
			lb, err2 := debversion.NewVersion(row["b"])
			if err1 != nil || err2 != nil {
				continue
			}
			got, err := version.CompareDeb(row["a"], row["b"])
			if err != nil {
				continue // dpkg refuses it too (checked above)
			}
			want := la.Compare(lb)
			if (want > 0) != (got > 0) || (want < 0) != (got < 0) {
				t.Errorf("%q vs %q: %d, go-deb-version %d", row["a"], row["b"], got, want)
			}
			compared++
		}
	}
	if compared < 4000 {
		t.Errorf("only %d rows compared", compared)
	}
}

func BenchmarkCompareDeb(b *testing.B) {
	x, _ := version.ParseDeb("1:2.36-9+deb12u4")
	y, _ := version.ParseDeb("1:2.36-9+deb12u10")
	for b.Loop() {
		x.Compare(y)
	}
}
