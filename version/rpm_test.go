package version_test

import (
	"strings"
	"testing"

	rpmversion "github.com/knqyf263/go-rpm-version"

	"github.com/patchwatch/patchwatch/version"
)

// TestCompareRPMAgainstRPM checks every row of the rpm-verified tables in
// both directions against the native verdict of rpm 4.18: rpmvercmp-level
// rows with RPMVerCmp, EVR-level rows with CompareRPM.
func TestCompareRPMAgainstRPM(t *testing.T) {
	checked := 0
	for _, row := range readTSV(t, "testdata/rpm_cases.tsv") {
		level, want := row["level"], row["native_verdict"]
		if strings.HasPrefix(level, "claircore") || want == "ERR" || want == "" {
			continue
		}
		a, b := row["a"], row["b"]
		var got, rev int
		if level == "rpmvercmp" {
			got, rev = version.RPMVerCmp(a, b), version.RPMVerCmp(b, a)
		} else {
			var err1, err2 error
			got, err1 = version.CompareRPM(a, b)
			rev, err2 = version.CompareRPM(b, a)
			if err1 != nil || err2 != nil {
				t.Errorf("CompareRPM(%q, %q): %v %v; rpm says %s", a, b, err1, err2, want)
				continue
			}
		}
		if got != verdicts[want] || rev != -verdicts[want] {
			t.Errorf("%s: %q vs %q = %d (reverse %d), rpm says %s", level, a, b, got, rev, want)
		}
		checked++
	}
	for _, row := range readTSV(t, "testdata/rpm_oracle.tsv") {
		a, b, want := row["a"], row["b"], row["native_rpm_ver_python"]
		got, err1 := version.CompareRPM(a, b)
		rev, err2 := version.CompareRPM(b, a)
		if err1 != nil || err2 != nil || got != verdicts[want] || rev != -verdicts[want] {
			t.Errorf("oracle %s: %q vs %q = %d (reverse %d) %v %v, rpm says %s", row["kind"], a, b, got, rev, err1, err2, want)
		}
		checked++
	}
	if checked < 9000 {
		t.Errorf("only %d rows checked", checked)
	}
}

// TestEpochTrap uses the rows whose installed side lost its real epoch, as
// rpm -qa prints it: restoring the real epoch gives the true verdict, and
// patchwatch's policy for epoch-less inventories (assume the fix's epoch)
// gives it too wherever the fix carries the package's real epoch, while
// comparing the strings as given would call the host older on every row
// with a nonzero epoch.
func TestEpochTrap(t *testing.T) {
	n, naiveWrong := 0, 0
	for _, row := range readTSV(t, "testdata/rpm_oracle.tsv") {
		kind := row["kind"]
		if !strings.HasPrefix(kind, "epoch-trap(a lost its real epoch ") {
			continue
		}
		realEpoch := strings.TrimSuffix(strings.TrimPrefix(kind, "epoch-trap(a lost its real epoch "), ")")
		a, _ := version.ParseRPM(row["a"])
		b, _ := version.ParseRPM(row["b"])
		want := verdicts[row["verdict_if_true_epochs"]]
		if got := a.WithEpoch(realEpoch).Compare(b); got != want {
			t.Errorf("%s: with the real epoch %s: %d, want %d", row["package"], realEpoch, got, want)
		}
		if b.Epoch() == realEpoch {
			if got := a.WithEpoch(b.Epoch()).Compare(b); got != want {
				t.Errorf("%s: assumed epoch gives %d, want %d", row["package"], got, want)
			}
		}
		if a.Compare(b) != want {
			naiveWrong++
		}
		n++
	}
	if n != 77 || naiveWrong == 0 {
		t.Fatalf("%d epoch-trap rows, %d where the naive comparison is wrong", n, naiveWrong)
	}
}

// TestAgreesWithGoRPMVersion cross-checks the EVR rows with
// github.com/knqyf263/go-rpm-version where that library splits as rpm does.
func TestAgreesWithGoRPMVersion(t *testing.T) {
	disagree := 0
	rows := readTSV(t, "testdata/rpm_oracle.tsv")
	for _, row := range rows {
		a, b := row["a"], row["b"]
		want := rpmversion.NewVersion(a).Compare(rpmversion.NewVersion(b))
		got, _ := version.CompareRPM(a, b)
		if (want > 0) != (got > 0) || (want < 0) != (got < 0) {
			disagree++
			t.Logf("%q vs %q: %d, go-rpm-version %d, rpm %s", a, b, got, want, row["native_rpm_ver_python"])
		}
	}
	if disagree > len(rows)/100 {
		t.Errorf("%d of %d rows disagree with go-rpm-version", disagree, len(rows))
	}
}

func BenchmarkCompareRPM(b *testing.B) {
	x, _ := version.ParseRPM("1:3.0.7-27.el9_3.2")
	y, _ := version.ParseRPM("1:3.0.7-27.el9_3.10")
	for b.Loop() {
		x.Compare(y)
	}
}
