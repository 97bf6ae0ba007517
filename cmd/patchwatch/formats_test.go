package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// The inventory formats a host can be given in, and what each loses.
const (
	formStatus     = "dpkg-status"
	formQuery      = "dpkg-query+source"
	formDefault    = "dpkg-query -W"
	formList       = "dpkg -l"
	formVuls       = "vuls"
	formReport     = "agent report"
	formVulsNoSrc  = "vuls (no source)"
	formReportBare = "report (no source)"
	formCycloneDX  = "cyclonedx (syft)"
	formSPDX       = "spdx (trivy)"
)

// binaryOnlyForms lose the source package names.
var binaryOnlyForms = map[string]bool{formDefault: true, formList: true, formVulsNoSrc: true, formReportBare: true}

// debRow is one installed package as dpkg-query with source fields gives it.
type debRow struct{ name, version, source, sourceVersion, arch string }

func readDebRows(t *testing.T, path string) []debRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []debRow
	for line := range strings.Lines(string(data)) {
		c := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(c) != 5 {
			t.Fatalf("%s: %q is not a five-column dpkg-query line", path, line)
		}
		if c[2] == "" {
			c[2] = c[0]
		}
		if c[3] == "" {
			c[3] = c[1]
		}
		rows = append(rows, debRow{c[0], c[1], c[2], c[3], c[4]})
	}
	return rows
}

// render writes the same packages in one inventory format, as the
// command that produces it would.
func render(rows []debRow, form string) string {
	var b strings.Builder
	switch form {
	case formStatus:
		for _, r := range rows {
			fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nArchitecture: %s\n", r.name, r.arch)
			switch {
			case r.source != r.name && r.sourceVersion != r.version:
				fmt.Fprintf(&b, "Source: %s (%s)\n", r.source, r.sourceVersion)
			case r.source != r.name:
				fmt.Fprintf(&b, "Source: %s\n", r.source)
			case r.sourceVersion != r.version:
				fmt.Fprintf(&b, "Source: %s (%s)\n", r.source, r.sourceVersion)
			}
			fmt.Fprintf(&b, "Version: %s\nDescription: x\n\n", r.version)
		}
	case formQuery:
		for _, r := range rows {
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", r.name, r.version, r.source, r.sourceVersion, r.arch)
		}
	case formDefault:
		for _, r := range rows {
			fmt.Fprintf(&b, "%s\t%s\n", r.name, r.version)
		}
	case formList:
		b.WriteString("Desired=Unknown/Install/Remove/Purge/Hold\n| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n" +
			"|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n||/ Name Version Architecture Description\n+++-====-====-====-====\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "ii  %-40s %-30s %-12s %s\n", r.name+":"+r.arch, r.version, r.arch, "description")
		}
	case formCycloneDX:
		// syft: the source in the purl's upstream qualifier when it differs.
		b.WriteString(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[`)
		for i, r := range rows {
			q := "arch=" + r.arch
			switch {
			case r.source != r.name && r.sourceVersion != r.version:
				q += "&upstream=" + r.source + "%40" + url.QueryEscape(r.sourceVersion)
			case r.source != r.name:
				q += "&upstream=" + r.source
			}
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"type":"library","name":%q,"version":%q,"purl":"pkg:deb/x/%s@%s?%s"}`, r.name, r.version, r.name, url.PathEscape(r.version), q)
		}
		b.WriteString(`]}`)
	case formSPDX:
		// trivy: the source in sourceInfo.
		b.WriteString(`{"spdxVersion":"SPDX-2.3","packages":[`)
		for i, r := range rows {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"name":%q,"versionInfo":%q,"sourceInfo":"built package from: %s %s","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/x/%s@%s?arch=%s"}]}`,
				r.name, r.version, r.source, r.sourceVersion, r.name, url.PathEscape(r.version), r.arch)
		}
		b.WriteString(`]}`)
	case formVuls:
		// ${binary:Package},${db:Status-Abbrev},${Version},${Source},${source:Version}
		for _, r := range rows {
			src := r.source
			if src == r.name {
				src = ""
			}
			fmt.Fprintf(&b, "%s:%s,ii ,%s,%s,%s\n", r.name, r.arch, r.version, src, r.sourceVersion)
		}
	}
	return b.String()
}

func reportJSON(t *testing.T, name string, osr inventory.ReportOSRelease, kernel string, rows []debRow, withSource bool) []byte {
	t.Helper()
	rep := inventory.Report{Schema: inventory.ReportSchema, Host: inventory.ReportHost{Hostname: name}, OSRelease: osr,
		Kernel: inventory.ReportKernel{Release: kernel}, Format: "deb"}
	for _, r := range rows {
		p := inventory.ReportPackage{Name: r.name, Version: r.version, Arch: r.arch}
		if withSource {
			p.SourceName, p.SourceVersion = r.source, r.sourceVersion
		}
		rep.Packages = append(rep.Packages, p)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type formHost struct {
	name      string
	osRelease string
	osr       inventory.ReportOSRelease
	kernel    string
	// rows is the full inventory; files gives real captures of a format,
	// used instead of a rendering.
	rows  []debRow
	files map[string]string
	forms []string
}

// importForm imports host h given in form under the name host and returns
// its findings as "advisory package" pairs.
func importForm(t *testing.T, db string, h formHost, form, host string) []string {
	t.Helper()
	dir := t.TempDir()
	var r result
	switch form {
	case formVuls, formVulsNoSrc:
		body := render(h.rows, formVuls)
		if form == formVulsNoSrc {
			// A Vuls query without ${Source},${source:Version}.
			var b strings.Builder
			for _, r := range h.rows {
				fmt.Fprintf(&b, "%s:%s,ii ,%s\n", r.name, r.arch, r.version)
			}
			body = b.String()
		}
		hd := inventory.VulsHeaders{Family: h.osr.ID, Release: h.osr.VersionID, KernelRelease: h.kernel, ServerName: host}
		vh, err := inventory.HostFromVuls(hd, []byte(body), time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		env := &Env{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}, Getenv: func(string) string { return "" }, Now: func() time.Time { return vh.ReportedAt }}
		if err := putHost(context.Background(), env, db, "", vh); err != nil {
			t.Fatal(err)
		}
	case formReport, formReportBare:
		path := filepath.Join(dir, "report.json")
		os.WriteFile(path, reportJSON(t, host, h.osr, h.kernel, h.rows, form == formReport), 0o600)
		r = run(t, db, "host", "import", "--report", path)
	default:
		path := h.files[form]
		if path == "" {
			path = filepath.Join(dir, "packages")
			os.WriteFile(path, []byte(render(h.rows, form)), 0o600)
		}
		args := []string{"host", "import", "--name", host, "--os-release", h.osRelease}
		if h.kernel != "" {
			args = append(args, "--kernel-release", h.kernel)
		}
		r = run(t, db, append(args, path)...)
	}
	if r.err != nil {
		t.Fatalf("%s as %s: %v\n%s", h.name, form, r.err, r.stderr)
	}
	r = run(t, db, "outstanding", "--host", host, "--format", "json")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var findings []struct {
		Advisory string   `json:"advisory"`
		Notes    []string `json:"notes"`
		Packages []struct {
			Name string `json:"name"`
			Via  string `json:"via"`
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	var got []string
	for _, f := range findings {
		if binaryOnlyForms[form] != slices.Contains(f.Notes, matcher.NoteNoSourceInfo) {
			t.Errorf("%s as %s, %s: notes %q: the note on missing source names must appear exactly for binary-only forms", h.name, form, f.Advisory, f.Notes)
		}
		for _, p := range f.Packages {
			got = append(got, f.Advisory+" "+p.Name)
			if p.Via != "" && !binaryOnlyForms[form] {
				t.Errorf("%s as %s: %s matched via %s with source fields at hand", h.name, form, p.Name, p.Via)
			}
		}
	}
	slices.Sort(got)
	return got
}

func advisoriesOf(pairs []string) []string {
	var out []string
	for _, p := range pairs {
		a, _, _ := strings.Cut(p, " ")
		out = append(out, a)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var allForms = []string{formStatus, formQuery, formVuls, formReport, formCycloneDX, formSPDX, formDefault, formList, formVulsNoSrc, formReportBare}

// TestEveryFormatOneResult gives each host in every inventory format it
// can be written in and checks the findings agree: formats with source
// fields exactly; binary-only formats alone (a fresh database) on every
// advisory whose record lists the binaries, and, in a fleet where another
// inventory of the release carried source fields, exactly.
func TestEveryFormatOneResult(t *testing.T) {
	jammyOSR := inventory.ReportOSRelease{ID: "ubuntu", VersionID: "22.04", VersionCodename: "jammy"}
	focalOSR := inventory.ReportOSRelease{ID: "ubuntu", VersionID: "20.04", VersionCodename: "focal"}
	hosts := []struct {
		host formHost
		// want are the advisories of the full inventory; alone are those a
		// binary-only form finds with no other host to learn from.
		want, alone []string
	}{
		{
			host: formHost{name: "jammy-desktop", osRelease: "../../inventory/testdata/ubuntu-22.04.os-release", osr: jammyOSR,
				rows: readDebRows(t, "testdata/jammy-desktop.dpkg-query.tsv"), forms: allForms},
			want:  []string{"USN-5614-1", "USN-8259-1"},
			alone: []string{"USN-5614-1", "USN-8259-1"},
		},
		{
			// The kernel's ABI packages (linux-image-5.4.0-1058-bluefield) are
			// not in USN-6000-1's list, which names the fixed ABI's: alone, a
			// binary-only form cannot tie them to linux-bluefield.
			host: formHost{name: "focal-bluefield", osRelease: "../../samples/hosts/focal-bluefield.os-release", osr: focalOSR, kernel: "5.4.0-1058-bluefield",
				rows: readDebRows(t, "../../samples/hosts/focal-bluefield.dpkg-query.tsv"), forms: allForms},
			want:  []string{"USN-5614-1", "USN-6000-1"},
			alone: []string{"USN-5614-1"},
		},
	}
	summary := []string{fmt.Sprintf("%-16s %-20s %-9s %s", "host", "format", "findings", "advisories")}
	for _, tc := range hosts {
		h := tc.host
		t.Run(h.name, func(t *testing.T) {
			fleet := filepath.Join(t.TempDir(), "fleet.db")
			if r := run(t, fleet, "import", "--quiet", "../../samples/usn"); r.err != nil {
				t.Fatal(r.err)
			}
			var full []string
			for _, form := range h.forms {
				got := importForm(t, fleet, h, form, h.name+"-"+strings.NewReplacer(" ", "", "+", "", "(", "", ")", "").Replace(form))
				if full == nil {
					full = got
					if !slices.Equal(advisoriesOf(full), tc.want) {
						t.Fatalf("%s: full inventory finds %v, want %v", form, advisoriesOf(full), tc.want)
					}
				}
				if !slices.Equal(got, full) {
					t.Errorf("%s in a fleet: %v\nwant (as %s) %v", form, got, h.forms[0], full)
				}
				summary = append(summary, fmt.Sprintf("%-16s %-20s %-9d %s", h.name, form+" (fleet)", len(advisoriesOf(got)), strings.Join(advisoriesOf(got), " ")))
				if !binaryOnlyForms[form] {
					continue
				}
				alone := filepath.Join(t.TempDir(), "alone.db")
				if r := run(t, alone, "import", "--quiet", "../../samples/usn"); r.err != nil {
					t.Fatal(r.err)
				}
				got = importForm(t, alone, h, form, h.name)
				if !slices.Equal(advisoriesOf(got), tc.alone) {
					t.Errorf("%s alone: %v, want %v", form, advisoriesOf(got), tc.alone)
				}
				summary = append(summary, fmt.Sprintf("%-16s %-20s %-9d %s", h.name, form+" (alone)", len(advisoriesOf(got)), strings.Join(advisoriesOf(got), " ")))
			}
		})
	}
	t.Log("\n" + strings.Join(summary, "\n"))
}

// TestNobleDpkgList is the case: the real Ubuntu 24.04 EduVM
// `dpkg -l` (2,393 packages) has libopenexr-3-1-30 3.1.5-5.1build3, older
// than USN-8259-1's 3.1.5-5.1ubuntu0.1~esm1, and nothing else the sample
// notices fix.
func TestNobleDpkgList(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	if r := run(t, db, "import", "--quiet", "../../samples/usn"); r.err != nil {
		t.Fatal(r.err)
	}
	r := run(t, db, "host", "import", "--name", "eduvm", "--os-release", "../../inventory/testdata/ubuntu-24.04.os-release", "../../inventory/testdata/noble-eduvm.dpkg-l.txt")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !strings.Contains(r.stdout, "2393 packages") {
		t.Errorf("import said %q", r.stdout)
	}
	r = run(t, db, "outstanding", "--host", "eduvm", "--format", "json")
	var findings []struct {
		Advisory string `json:"advisory"`
		Status   string `json:"status"`
		Packages []struct {
			Name, Installed, Fixed, Source, Via string
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 || findings[0].Advisory != "USN-8259-1" || findings[0].Status != "subscription-required" || len(findings[0].Packages) != 1 {
		t.Fatalf("findings %+v, want USN-8259-1 alone", findings)
	}
	p := findings[0].Packages[0]
	if p.Name != "libopenexr-3-1-30" || p.Installed != "3.1.5-5.1build3" || p.Fixed != "3.1.5-5.1ubuntu0.1~esm1" || p.Source != "openexr" || p.Via != matcher.ViaBinaryList {
		t.Errorf("package %+v", p)
	}
}

// tracksSource is the binary map's rule: a binary's version follows its
// source's when equal or a binNMU (+bN) of it.
func tracksSource(r debRow) bool {
	if r.version == r.sourceVersion {
		return true
	}
	rest, ok := strings.CutPrefix(r.version, r.sourceVersion+"+b")
	return ok && rest != "" && strings.Trim(rest, "0123456789") == ""
}

// TestDebianFormatsThroughBinaryMap gives the real Debian 12 build machine
// in every format, its own captures where they exist (status, dpkg-query
// with source fields, dpkg-query -W, dpkg -l), against a DSA list written
// for the test: one advisory per source package of the host, a third fixed
// after the installed version, a third fixed at it. The findings of each
// format are checked against a direct computation over the dpkg-query
// capture: formats with source fields find every binary of an exposed
// source; binary-only formats in a fleet find the same through the learnt
// binary map, less the binaries whose version does not follow their
// source's (gcc 4:12.2.0-3 of gcc-defaults 1.203, an epoch added to
// bsdutils), which the map refuses rather than compare wrongly; alone they
// find the binaries named like their source.
func TestDebianFormatsThroughBinaryMap(t *testing.T) {
	rows := readDebRows(t, "../../inventory/testdata/debian12.dpkg-query.tsv")
	sourceVersion := map[string]string{}
	for _, r := range rows {
		sourceVersion[r.source] = r.sourceVersion
	}
	sources := make([]string, 0, len(sourceVersion))
	for s := range sourceVersion {
		sources = append(sources, s)
	}
	slices.Sort(sources)
	var list strings.Builder
	exposed := map[string]string{} // source -> advisory
	advisories := 0
	for i, s := range sources {
		id := fmt.Sprintf("DSA-%d-1", 9000+i)
		fixed := sourceVersion[s]
		switch i % 3 {
		case 0:
			fixed += "+deb12u99"
			exposed[s] = id
		case 1: // fixed at the installed version: not exposed
		default:
			continue
		}
		advisories++
		fmt.Fprintf(&list, "[01 Nov 2026] %s %s - security update\n\t{CVE-2026-%d}\n\t[bookworm] - %s %s\n", id, s, 10000+i, s, fixed)
	}
	dir := t.TempDir()
	listPath := filepath.Join(dir, "DSA.list")
	os.WriteFile(listPath, []byte(list.String()), 0o600)

	var full, fleetWant, aloneWant []string
	lost := 0
	for _, r := range rows {
		id, ok := exposed[r.source]
		if !ok {
			continue
		}
		full = append(full, id+" "+r.name)
		switch {
		case r.name == r.source:
			aloneWant = append(aloneWant, id+" "+r.name)
			fleetWant = append(fleetWant, id+" "+r.name)
		case tracksSource(r):
			fleetWant = append(fleetWant, id+" "+r.name)
		default:
			lost++
		}
	}
	for _, s := range []*[]string{&full, &fleetWant, &aloneWant} {
		slices.Sort(*s)
	}
	h := formHost{name: "debian12", osRelease: "../../inventory/testdata/debian12.os-release",
		osr: inventory.ReportOSRelease{ID: "debian", VersionID: "12", VersionCodename: "bookworm"}, rows: rows,
		files: map[string]string{
			formStatus:  "../../inventory/testdata/debian12.status",
			formQuery:   "../../inventory/testdata/debian12.dpkg-query.tsv",
			formDefault: "../../inventory/testdata/debian12.dpkg-query-default.txt",
			formList:    "../../inventory/testdata/debian12.dpkg-l.txt",
		}}
	fleet := filepath.Join(dir, "fleet.db")
	if r := run(t, fleet, "import", "--quiet", listPath); r.err != nil {
		t.Fatal(r.err)
	}
	summary := []string{fmt.Sprintf("debian12: %d advisories over %d sources; full inventory: %d (advisory, binary) pairs; binary-only in a fleet: %d (%d refused: version does not follow the source's); alone: %d",
		advisories, len(sources), len(full), len(fleetWant), lost, len(aloneWant))}
	for _, form := range allForms {
		want := full
		if binaryOnlyForms[form] {
			want = fleetWant
		}
		got := importForm(t, fleet, h, form, "debian12-"+strings.NewReplacer(" ", "", "+", "", "(", "", ")", "").Replace(form))
		if !slices.Equal(got, want) {
			t.Errorf("%s in a fleet: %d pairs, want %d\nmissing %v\nextra %v", form, len(got), len(want), missing(want, got), missing(got, want))
		}
		summary = append(summary, fmt.Sprintf("  %-20s fleet: %d findings, %d packages", form, len(advisoriesOf(got)), len(got)))
		if !binaryOnlyForms[form] {
			continue
		}
		alone := filepath.Join(t.TempDir(), "alone.db")
		if r := run(t, alone, "import", "--quiet", listPath); r.err != nil {
			t.Fatal(r.err)
		}
		if got := importForm(t, alone, h, form, "debian12"); !slices.Equal(got, aloneWant) {
			t.Errorf("%s alone: %d pairs, want %d\nmissing %v\nextra %v", form, len(got), len(aloneWant), missing(aloneWant, got), missing(got, aloneWant))
		} else {
			summary[len(summary)-1] += fmt.Sprintf("; alone: %d findings, %d packages", len(advisoriesOf(got)), len(got))
		}
	}
	t.Log("\n" + strings.Join(summary, "\n"))
}

func missing(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}

// openRecords returns the stored (open) finding records of a host as
// "advisory" strings.
func openRecords(t *testing.T, db, host string) []string {
	t.Helper()
	s, err := bolt.Open(db, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	records, err := s.FindingRecords(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range records {
		if r.Open() {
			out = append(out, r.Advisory)
		}
	}
	slices.Sort(out)
	return out
}

// TestBinaryOnlyHostRecordsFollowChanges checks the stored findings (what
// notifications and reports read), not only the live ones: a binary-only
// host gets its record when an advisory listing its binaries is imported
// after it, and when another host teaches the map a binary it has.
func TestBinaryOnlyHostRecordsFollowChanges(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	if r := run(t, db, "host", "import", "--name", "eduvm", "--os-release", "../../inventory/testdata/ubuntu-24.04.os-release", "../../inventory/testdata/noble-eduvm.dpkg-l.txt"); r.err != nil {
		t.Fatal(r.err)
	}
	if r := run(t, db, "import", "--quiet", "../../samples/usn"); r.err != nil {
		t.Fatal(r.err)
	}
	if got := openRecords(t, db, "eduvm"); !slices.Equal(got, []string{"USN-8259-1"}) {
		t.Errorf("eduvm records after the import: %v, want [USN-8259-1]", got)
	}

	// Debian: the binary-only host first, then a host with source fields.
	list := filepath.Join(dir, "DSA.list")
	os.WriteFile(list, []byte("[01 Nov 2026] DSA-9999-1 glibc - security update\n\t{CVE-2026-9999}\n\t[bookworm] - glibc 2.36-9+deb12u99\n"), 0o600)
	if r := run(t, db, "import", "--quiet", list); r.err != nil {
		t.Fatal(r.err)
	}
	if r := run(t, db, "host", "import", "--name", "image", "--os-release", "../../inventory/testdata/debian12.os-release", "../../inventory/testdata/debian12.dpkg-l.txt"); r.err != nil {
		t.Fatal(r.err)
	}
	if got := openRecords(t, db, "image"); len(got) != 0 {
		t.Errorf("image records before any host taught the map: %v", got)
	}
	if r := run(t, db, "host", "import", "--name", "full", "--os-release", "../../inventory/testdata/debian12.os-release", "../../inventory/testdata/debian12.status"); r.err != nil {
		t.Fatal(r.err)
	}
	if got := openRecords(t, db, "image"); !slices.Equal(got, []string{"DSA-9999-1"}) {
		t.Errorf("image records once the map knows libc6: %v, want [DSA-9999-1]", got)
	}
}

// TestHostImportSBOM: an image SBOM names its distribution, so host import
// takes it without --os-release; any other list still needs one.
func TestHostImportSBOM(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "pw.db")
	if r := run(t, db, "import", "--quiet", "../../samples/usn"); r.err != nil {
		t.Fatal(r.err)
	}
	rows := readDebRows(t, "testdata/jammy-desktop.dpkg-query.tsv")
	sbom := strings.Replace(render(rows, formCycloneDX), `"components":[`, `"components":[{"type":"operating-system","name":"ubuntu","version":"22.04"},`, 1)
	path := filepath.Join(dir, "sbom.json")
	os.WriteFile(path, []byte(sbom), 0o600)
	r := run(t, db, "host", "import", "--name", "image", path)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !strings.Contains(r.stdout, "host image: ubuntu:22.04, 106 packages") || strings.Contains(r.stdout, "no source package information") {
		t.Errorf("import said %q", r.stdout)
	}
	r = run(t, db, "outstanding", "--host", "image", "--format", "json")
	var findings []struct {
		Advisory string `json:"advisory"`
	}
	json.Unmarshal([]byte(r.stdout), &findings)
	var got []string
	for _, f := range findings {
		got = append(got, f.Advisory)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"USN-5614-1", "USN-8259-1"}) {
		t.Errorf("findings %v", got)
	}
	r = run(t, db, "host", "import", "--name", "list", "../../inventory/testdata/debian12.dpkg-l.txt")
	if r.err == nil || !strings.Contains(r.err.Error(), "needs --os-release") {
		t.Errorf("dpkg -l without os-release: %v", r.err)
	}
}
