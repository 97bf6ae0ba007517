package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// rhel10OSRelease is /etc/os-release of RHEL 10.0 in its documented shape.
const rhel10OSRelease = `NAME="Red Hat Enterprise Linux"
VERSION="10.0 (Coughlan)"
ID="rhel"
ID_LIKE="centos fedora"
VERSION_ID="10.0"
PLATFORM_ID="platform:el10"
PRETTY_NAME="Red Hat Enterprise Linux 10.0 (Coughlan)"
CPE_NAME="cpe:/o:redhat:enterprise_linux:10.0"
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="10.0"
`

// TestPollRedHatBugFixAdvisoriesAndWithdrawals: `poll --once` against a
// site laid out like security.access.redhat.com stores the RHBA and RHEA
// that fix CVEs beside the RHSAs, matches RHEL 10 EUS hosts with them
// (dnf commands naming the RHBA/RHEA), and a later deletions.csv entry
// removes an advisory and resolves its findings.
func TestPollRedHatBugFixAdvisoriesAndWithdrawals(t *testing.T) {
	archive := tarZst(t, "../../feeds/rhsa/testdata", "2024/rhsa-2024_0010.json")
	var deletions atomic.Value
	deletions.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/csaf/")
		switch name {
		case "archive_latest.txt":
			w.Write([]byte("csaf_advisories_2026-01-01.tar.zst\n"))
		case "csaf_advisories_2026-01-01.tar.zst":
			w.Write(archive)
		case "changes.csv":
			w.Write([]byte(`"2026/rhba-2026_0100.json","2026-01-08T09:12:41+00:00"` + "\n" +
				`"2026/rhea-2026_0101.json","2026-01-08T10:00:00+00:00"` + "\n" +
				`"2026/rhea-2026_0102.json","2026-01-09T08:00:00+00:00"` + "\n" +
				`"2026/rhsa-2026_0404.json","2026-01-09T08:00:00+00:00"` + "\n" +
				`"2026/rhxa-2026_0001.json","2026-01-09T08:00:00+00:00"` + "\n"))
		case "deletions.csv":
			w.Write([]byte(deletions.Load().(string)))
		default:
			http.ServeFile(w, r, "../../feeds/rhsa/testdata/"+name)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	cfgPath := filepath.Join(dir, "patchwatch.yaml")
	cfg := "db: " + db + "\nlog_level: warn\nhttp:\n  attempts: 1\nfeeds:\n  usn:\n    enabled: false\n  debian:\n    enabled: false\n" +
		"  kev:\n    enabled: false\n  almalinux:\n    enabled: false\n  rocky:\n    enabled: false\n" +
		"  rhsa:\n    base_url: " + srv.URL + "/csaf/\n"
	osRelease := filepath.Join(dir, "os-release")
	sudoHost := filepath.Join(dir, "sudo.tsv")
	kernelHost := filepath.Join(dir, "kernel.tsv")
	for path, data := range map[string]string{
		cfgPath:   cfg,
		osRelease: rhel10OSRelease,
		sudoHost:  "sudo\t0\t1.9.15\t8.p5.el10\tx86_64\tsudo-1.9.15-8.p5.el10.src.rpm\t(none)\n",
		kernelHost: "kernel-core\t0\t6.12.0\t211.20.1.el10_2\tx86_64\tkernel-6.12.0-211.20.1.el10_2.src.rpm\t(none)\n" +
			"sudo\t0\t1.9.15\t8.p5.el10_1.1\tx86_64\tsudo-1.9.15-8.p5.el10_1.1.src.rpm\t(none)\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if r := run(t, db, "host", "import", "--name", "eus100", "--stream", "eus", "--os-release", osRelease, sudoHost); r.err != nil {
		t.Fatal(r.err)
	}
	os.WriteFile(osRelease, []byte(strings.ReplaceAll(rhel10OSRelease, "10.0", "10.2")), 0o600)
	if r := run(t, db, "host", "import", "--name", "eus102", "--stream", "eus", "--os-release", osRelease, kernelHost); r.err != nil {
		t.Fatal(r.err)
	}

	if r := run(t, db, "poll", "--once", "--config", cfgPath); r.err != nil {
		t.Fatalf("poll: %v\n%s", r.err, r.stderr)
	}
	for _, id := range []string{"RHSA-2024:0010", "RHBA-2026:0100", "RHEA-2026:0102"} {
		if r := run(t, db, "advisory", id); r.err != nil {
			t.Errorf("%s not stored: %v", id, r.err)
		}
	}
	if r := run(t, db, "advisory", "RHEA-2026:0101"); r.err == nil {
		t.Error("RHEA-2026:0101 fixes no CVE and was stored")
	}
	if got := outstandingIDs(t, db, "eus100"); !slices.Equal(got, []string{"RHBA-2026:0100"}) {
		t.Errorf("eus100 outstanding = %v", got)
	}
	if got := outstandingIDs(t, db, "eus102"); !slices.Equal(got, []string{"RHEA-2026:0102"}) {
		t.Errorf("eus102 outstanding = %v", got)
	}
	r := run(t, db, "outstanding", "--host", "eus100")
	if !strings.Contains(r.stdout, "sudo dnf upgrade --advisory=RHBA-2026:0100") {
		t.Errorf("eus100 table:\n%s", r.stdout)
	}
	if r := run(t, db, "outstanding", "--host", "eus102"); !strings.Contains(r.stdout, "sudo dnf upgrade --advisory=RHEA-2026:0102 && sudo reboot") {
		t.Errorf("eus102 table:\n%s", r.stdout)
	}

	// Red Hat withdraws RHBA-2026:0100.
	deletions.Store(`"2026/rhba-2026_0100.json","2026-01-12T00:00:00+00:00"` + "\n")
	if r := run(t, db, "poll", "--once", "--config", cfgPath); r.err != nil {
		t.Fatalf("poll: %v\n%s", r.err, r.stderr)
	}
	if r := run(t, db, "advisory", "RHBA-2026:0100"); r.err == nil {
		t.Error("withdrawn RHBA-2026:0100 still stored")
	}
	if got := outstandingIDs(t, db, "eus100"); len(got) != 0 {
		t.Errorf("eus100 outstanding after the withdrawal = %v", got)
	}
	s, err := bolt.Open(db, bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	records, _ := s.FindingRecords(t.Context(), "eus100")
	if len(records) != 1 || records[0].Open() || records[0].ResolvedBy != store.ResolvedWithdrawn {
		t.Errorf("eus100 records = %+v", records)
	}
}
