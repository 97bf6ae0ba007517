package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
)

// rpmRow is one installed rpm with everything a full inventory carries.
type rpmRow struct {
	name, epoch, version, release, arch, sourceRPM, module string
}

// TestRPMFormatsOneResult gives the real RHEL 9 nodejs image (Red Hat's
// catalog rpm manifest, 301 rpms) in every rpm inventory form and checks
// every form finds the same advisories among the stored RHSA records, in
// a fleet where the forms with source rpms came first. RHSA-2024:6163 and
// RHSA-2024:9371 name only the source rpm python3.9 for rhel:9, not the
// python3 binaries the image has: the forms without source rpms (plain
// rpm -qa, kiwi, a Vuls query without them) find those through the
// binary → source map the others taught, and alone find nothing.
func TestRPMFormatsOneResult(t *testing.T) {
	const manifest = "../../inventory/testdata/rhel-9-nodejs.rpm-manifest.json"
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	list, err := inventory.ParseRPMPackages(manifest, data)
	if err != nil {
		t.Fatal(err)
	}
	var rows []rpmRow
	for _, p := range list.Packages {
		epoch, vr, _ := strings.Cut(p.Version, ":")
		ver, rel, _ := strings.Cut(vr, "-")
		_, srcVR, _ := strings.Cut(p.SourceVersion, ":")
		module := "(none)"
		if p.Module != "" {
			module = p.Module + ":9020020230302200010:rhel9" // name:stream:version:context
		}
		rows = append(rows, rpmRow{p.Name, epoch, ver, rel, p.Arch, p.SourceName + "-" + srcVR + ".src.rpm", module})
	}
	forms := map[string]func() string{
		"rpm query (recommended)": func() string {
			var b strings.Builder
			for _, r := range rows {
				fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.name, r.epoch, r.version, r.release, r.arch, r.sourceRPM, r.module)
			}
			return b.String()
		},
		"rpm -qa": func() string {
			var b strings.Builder
			for _, r := range rows {
				fmt.Fprintf(&b, "%s-%s-%s.%s\n", r.name, r.version, r.release, r.arch)
			}
			return b.String()
		},
		"kiwi .packages": func() string {
			var b strings.Builder
			for _, r := range rows {
				epoch := r.epoch
				if epoch == "0" {
					epoch = "(none)"
				}
				fmt.Fprintf(&b, "%s|%s|%s|%s|%s|obs://x|MIT\n", r.name, epoch, r.version, r.release, r.arch)
			}
			return b.String()
		},
		"rpm manifest (catalog)": func() string { return string(data) },
		"cyclonedx (syft)": func() string {
			var comps []string
			for _, r := range rows {
				q := "arch=" + r.arch + "&upstream=" + r.sourceRPM
				if r.epoch != "0" {
					q += "&epoch=" + r.epoch
				}
				comps = append(comps, fmt.Sprintf(`{"type":"library","name":%q,"purl":"pkg:rpm/redhat/%s@%s-%s?%s&distro=rhel-9.2"}`, r.name, r.name, r.version, r.release, q))
			}
			return `{"bomFormat":"CycloneDX","components":[` + strings.Join(comps, ",") + `]}`
		},
		"agent report": func() string {
			rep := inventory.Report{Schema: inventory.ReportSchema, Host: inventory.ReportHost{Hostname: "x"}, Format: "rpm",
				OSRelease: inventory.ReportOSRelease{ID: "rhel", VersionID: "9.4"}}
			for _, r := range rows {
				e, _ := strconv.Atoi(r.epoch)
				src, _ := strings.CutSuffix(r.sourceRPM, ".src.rpm")
				srcName := src[:strings.LastIndexByte(src[:strings.LastIndexByte(src, '-')], '-')]
				p := inventory.ReportPackage{Name: r.name, Epoch: &e, Version: r.version + "-" + r.release, Arch: r.arch,
					SourceName: srcName, SourceVersion: strings.TrimPrefix(src, srcName+"-")}
				if r.module != "(none)" {
					p.Module = r.module
				}
				rep.Packages = append(rep.Packages, p)
			}
			b, _ := json.Marshal(rep)
			return string(b)
		},
		"vuls (full)": func() string {
			var b strings.Builder
			for _, r := range rows {
				fmt.Fprintf(&b, "%s %s %s %s %s %s %s\n", r.name, r.epoch, r.version, r.release, r.arch, r.sourceRPM, r.module)
			}
			return b.String()
		},
		"vuls (no source)": func() string {
			var b strings.Builder
			for _, r := range rows {
				fmt.Fprintf(&b, "%s %s %s %s %s\n", r.name, r.epoch, r.version, r.release, r.arch)
			}
			return b.String()
		},
	}
	binaryOnly := map[string]bool{"rpm -qa": true, "kiwi .packages": true, "vuls (no source)": true}
	newDB := func() string {
		db := filepath.Join(t.TempDir(), "pw.db")
		if r := run(t, db, "import", "--quiet", "../../feeds/rhsa/testdata"); r.err != nil {
			t.Fatalf("import: %v\n%s", r.err, r.stdout)
		}
		return db
	}
	fleet := newDB()
	names := make([]string, 0, len(forms))
	for name := range forms {
		names = append(names, name)
	}
	// The forms with source rpms first: they teach the map.
	slices.SortFunc(names, func(a, b string) int {
		if binaryOnly[a] != binaryOnly[b] {
			if binaryOnly[a] {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	var want []string
	summary := []string{"rhel-9 nodejs image (301 rpms):"}
	for _, form := range names {
		if binaryOnly[form] {
			db := newDB()
			importRPMForm(t, db, form, "alone", forms[form]())
			if got := outstandingIDs(t, db, "alone"); len(got) != 0 {
				t.Errorf("%s alone: %v, want none (the advisories name only the source rpm)", form, got)
			}
		}
		host := "nodejs-" + strings.NewReplacer(" ", "", "(", "", ")", "", ".", "").Replace(form)
		importRPMForm(t, fleet, form, host, forms[form]())
		db := fleet
		got := outstandingIDs(t, db, host)
		if want == nil {
			want = got
			if len(want) == 0 {
				t.Fatalf("%s: no findings; python3 3.9.16-1.el9_2.1 predates RHSA-2024:6163", form)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s in a fleet: %v, want %v", form, got, want)
		}
		s, _ := openStoreForTest(t, db)
		h, err := s.Host(context.Background(), host)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		summary = append(summary, fmt.Sprintf("  %-24s %d findings %v (epochs %v, sources %v, modules %v)", form, len(got), got, h.EpochInfo, h.SourceInfo, h.ModuleInfo))
	}
	t.Log("\n" + strings.Join(summary, "\n"))
}

// importRPMForm imports one rendering of the rpm host as host.
func importRPMForm(t *testing.T, db, form, host, body string) {
	t.Helper()
	{
		path := filepath.Join(t.TempDir(), "packages")
		os.WriteFile(path, []byte(body), 0o600)
		switch {
		case form == "agent report":
			if r := run(t, db, "host", "import", "--report", path, "--name", host); r.err != nil {
				t.Fatalf("%s: %v", form, r.err)
			}
		case strings.HasPrefix(form, "vuls"):
			hd := inventory.VulsHeaders{Family: "redhat", Release: "9.4", ServerName: host}
			h, err := inventory.HostFromVuls(hd, []byte(body), time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatalf("%s: %v", form, err)
			}
			env := &Env{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}, Getenv: func(string) string { return "" }, Now: func() time.Time { return h.ReportedAt }}
			if err := putHost(context.Background(), env, db, "", h); err != nil {
				t.Fatal(err)
			}
		default:
			if r := run(t, db, "host", "import", "--name", host, "--os-release", "../../inventory/testdata/rhel-9.4-trivy.os-release", path); r.err != nil {
				t.Fatalf("%s: %v\n%s", form, r.err, r.stderr)
			}
		}
	}
}

func openStoreForTest(t *testing.T, db string) (interface {
	Host(context.Context, string) (patchwatch.Host, error)
	Close() error
}, error) {
	t.Helper()
	return openStore(db, false)
}
