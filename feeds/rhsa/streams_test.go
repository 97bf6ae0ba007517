package rhsa_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/rhsa"
)

// TestStreamReleases covers the CPE and product-ID forms of RHEL 7 to 10
// streams. CPEs are those of Red Hat's security-data-guidelines (cpe.md:
// RHEL 10 main CPEs carry the minor, extended streams are
// enterprise_linux_<stream> with cpe:/o, no channel specifiers;
// scanning-vendors.md: unfixed CPEs name the major alone) and of the
// CSAF documents in testdata (RHEL 6 to 9 channel specifiers, rhel_<stream>).
func TestStreamReleases(t *testing.T) {
	tests := []struct {
		productID, cpe string
		want           []string
	}{
		// RHEL 7: variants and channels of the main stream, extended streams.
		{"7Server-7.9.Z", "cpe:/o:redhat:enterprise_linux:7::server", []string{"rhel:7"}},
		{"7Workstation-7.9.Z", "cpe:/o:redhat:enterprise_linux:7::workstation", []string{"rhel:7"}},
		{"7Client-7.9.Z", "cpe:/o:redhat:enterprise_linux:7::client", []string{"rhel:7"}},
		{"7ComputeNode-7.9.Z", "cpe:/o:redhat:enterprise_linux:7::computenode", []string{"rhel:7"}},
		{"7Server-7.4.AUS", "cpe:/o:redhat:rhel_aus:7.4::server", []string{"rhel-aus:7.4"}},
		{"7Server-7.7.EUS", "cpe:/o:redhat:rhel_eus:7.7::server", []string{"rhel-eus:7.7"}},
		{"7Server-7.7.TUS", "cpe:/o:redhat:rhel_tus:7.7::server", []string{"rhel-tus:7.7"}},
		{"7Server-7.7.E4S", "cpe:/o:redhat:rhel_e4s:7.7::server", []string{"rhel-e4s:7.7"}},
		{"7Server-ELS", "cpe:/o:redhat:rhel_els:7", []string{"rhel-els:7"}},
		{"7Server-7.3.EUS-LL", "cpe:/o:redhat:rhel_eus_long_life:7.3::server", []string{"rhel-eus-long-life:7.3"}},
		{"7Server-SAP-7.9.Z", "cpe:/a:redhat:rhel_extras_sap:7", []string{"rhel:7"}},
		{"7Server-SAPHANA-7.9.Z", "cpe:/a:redhat:rhel_extras_sap_hana:7", []string{"rhel:7"}},
		{"7Server-RT-7.9.Z", "cpe:/a:redhat:rhel_extras_rt:7", []string{"rhel:7"}},
		// RHEL 6 ELS, as in RHSA-2025:23414.
		{"6Server-ELS.EXTENSION", "cpe:/o:redhat:rhel_els:6", []string{"rhel-els:6"}},
		// RHEL 8 and 9: main, GA, MAIN.EUS (also the EUS stream of its minor),
		// EUS, AUS, E4S, TUS, SAP.
		{"BaseOS-9.3.0.Z.MAIN", "cpe:/o:redhat:enterprise_linux:9::baseos", []string{"rhel:9"}},
		{"AppStream-9.5.0.GA", "cpe:/a:redhat:enterprise_linux:9::appstream", []string{"rhel:9"}},
		{"AppStream-9.4.0.Z.MAIN.EUS", "cpe:/a:redhat:enterprise_linux:9::appstream", []string{"rhel:9", "rhel-eus:9.4"}},
		{"CRB-9.4.0.Z.MAIN.EUS", "cpe:/a:redhat:enterprise_linux:9::crb", []string{"rhel:9", "rhel-eus:9.4"}},
		{"AppStream-8.8.0.Z.MAIN.EUS", "cpe:/a:redhat:enterprise_linux:8::appstream", []string{"rhel:8", "rhel-eus:8.8"}},
		{"BaseOS-9.2.0.Z.EUS", "cpe:/o:redhat:rhel_eus:9.2::baseos", []string{"rhel-eus:9.2"}},
		{"AppStream-9.0.0.Z.EUS", "cpe:/a:redhat:rhel_eus:9.0::appstream", []string{"rhel-eus:9.0"}},
		{"BaseOS-8.2.0.Z.AUS", "cpe:/o:redhat:rhel_aus:8.2::baseos", []string{"rhel-aus:8.2"}},
		{"HighAvailability-8.2.0.Z.E4S", "cpe:/a:redhat:rhel_e4s:8.2::highavailability", []string{"rhel-e4s:8.2"}},
		{"BaseOS-8.2.0.Z.TUS", "cpe:/o:redhat:rhel_tus:8.2::baseos", []string{"rhel-tus:8.2"}},
		{"SAP-8.4.0.Z.E4S", "cpe:/a:redhat:rhel_e4s:8.4::sap", []string{"rhel-e4s:8.4"}},
		{"SAPHANA-9.2.0.Z.E4S", "cpe:/a:redhat:rhel_e4s:9.2::sap_hana", []string{"rhel-e4s:9.2"}},
		{"SAP-8.10.0.Z.MAIN", "cpe:/a:redhat:enterprise_linux:8::sap", []string{"rhel:8"}},
		{"SAPHANA-9.6.0.Z.MAIN.EUS", "cpe:/a:redhat:enterprise_linux:9::sap_hana", []string{"rhel:9", "rhel-eus:9.6"}},
		{"NFV-9.2.0.Z.EUS", "cpe:/a:redhat:rhel_eus:9.2::nfv", []string{"rhel-eus:9.2"}},
		// RHEL 10: the minor in main CPEs (MAIN, GA and MAIN.EUS alike),
		// enterprise_linux_<stream>, cpe:/o everywhere, no channels.
		{"BaseOS-10.0.Z", "cpe:/o:redhat:enterprise_linux:10.0", []string{"rhel:10", "rhel-eus:10.0"}},
		{"AppStream-10.1.GA", "cpe:/o:redhat:enterprise_linux:10.1", []string{"rhel:10", "rhel-eus:10.1"}},
		{"BaseOS-10.2.Z.MAIN.EUS", "cpe:/o:redhat:enterprise_linux:10.2", []string{"rhel:10", "rhel-eus:10.2"}},
		{"BaseOS-10.2.Z.EUS", "cpe:/o:redhat:enterprise_linux_eus:10.2", []string{"rhel-eus:10.2"}},
		{"AppStream-10.2.Z.EUS", "cpe:/o:redhat:enterprise_linux_eus:10.2", []string{"rhel-eus:10.2"}},
		{"BaseOS-10.4.Z.AUS", "cpe:/o:redhat:enterprise_linux_aus:10.4", []string{"rhel-aus:10.4"}},
		{"BaseOS-10.4.Z.E4S", "cpe:/o:redhat:enterprise_linux_e4s:10.4", []string{"rhel-e4s:10.4"}},
		{"BaseOS-10.4.Z.TUS", "cpe:/o:redhat:enterprise_linux_tus:10.4", []string{"rhel-tus:10.4"}},
		{"", "cpe:/a:redhat:enterprise_linux_eus:10.0", []string{"rhel-eus:10.0"}},
		// Unfixed (VEX) CPEs name the major: the main stream only.
		{"red_hat_enterprise_linux_10", "cpe:/o:redhat:enterprise_linux:10", []string{"rhel:10"}},
		{"red_hat_enterprise_linux_9", "cpe:/o:redhat:enterprise_linux:9", []string{"rhel:9"}},
		{"", "cpe:/o:redhat:enterprise_linux_eus:10", nil},
		// Without a CPE, the product ID alone.
		{"BaseOS-8.6.0.Z.EUS", "", []string{"rhel-eus:8.6"}},
		{"AppStream-9.4.0.Z.MAIN.EUS", "", []string{"rhel:9", "rhel-eus:9.4"}},
		{"7Server-optional-7.6.AUS", "", []string{"rhel-aus:7.6"}},
		// Not RHEL streams.
		{"9Base-RHOS-17.1", "cpe:/a:redhat:openstack:17.1::el9", nil},
		{"", "cpe:/o:redhat:enterprise_linux_nvidia:10::el10", nil},
		{"", "cpe:/a:redhat:satellite:6.15::el8", nil},
		{"", "cpe:/o:fedoraproject:fedora:40", nil},
		{"", "cpe:/o:redhat:enterprise_linux:nine", nil},
		{"", "cpe:/o:redhat:enterprise_linux:9.x", nil},
		{"", "cpe:2.3:o:redhat:enterprise_linux:9:*:*:*:*:*:*:*", nil},
		{"6Server-ELS.EXTENSION", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.productID+" "+tt.cpe, func(t *testing.T) {
			if got := rhsa.StreamReleases(tt.productID, tt.cpe); !slices.Equal(got, tt.want) {
				t.Errorf("StreamReleases(%q, %q) = %v, want %v", tt.productID, tt.cpe, got, tt.want)
			}
		})
	}
}

func FuzzParseCPE(f *testing.F) {
	f.Add("AppStream-9.4.0.Z.MAIN.EUS", "cpe:/a:redhat:enterprise_linux:9::appstream")
	f.Add("BaseOS-10.2.Z.EUS", "cpe:/o:redhat:enterprise_linux_eus:10.2")
	f.Add("", "cpe:/o:redhat:rhel_els:6")
	f.Fuzz(func(t *testing.T, productID, cpe string) {
		if c, ok := rhsa.ParseCPE(cpe); ok {
			if c.Product == "" || c.Version == "" || strings.Contains(c.Product, ":") {
				t.Fatalf("ParseCPE(%q) = %+v", cpe, c)
			}
		}
		for _, r := range rhsa.StreamReleases(productID, cpe) {
			distro, version, ok := strings.Cut(r, ":")
			if !ok || (distro != "rhel" && !strings.HasPrefix(distro, "rhel-")) || version == "" || strings.Trim(version, "0123456789.") != "" {
				t.Fatalf("StreamReleases(%q, %q) gave %q", productID, cpe, r)
			}
		}
	})
}

// TestBugFixAndEnhancementAdvisories: RHBA and RHEA documents are taken
// under their own IDs when they fix a CVE, and skipped otherwise.
func TestBugFixAndEnhancementAdvisories(t *testing.T) {
	bf := parse(t, "2026/rhba-2026_0100.json")
	if bf.ID != "RHBA-2026:0100" || bf.URL != "https://access.redhat.com/errata/RHBA-2026:0100" || bf.Title != "sudo bug fix update" ||
		!slices.Equal(bf.CVEs, []string{"CVE-2025-32462"}) || bf.SourceSeverity != "Low" || bf.Severity != patchwatch.SeverityLow {
		t.Errorf("RHBA = %s %q %q cves %v severity %q/%v", bf.ID, bf.URL, bf.Title, bf.CVEs, bf.SourceSeverity, bf.Severity)
	}
	got := fixes(bf)
	for k, v := range map[string]string{
		"rhel:10 sudo binary ":           "0:1.9.15-8.p5.el10_1.1",
		"rhel-eus:10.1 sudo binary ":     "0:1.9.15-8.p5.el10_1.1",
		"rhel-eus:10.0 sudo binary ":     "0:1.9.15-8.p5.el10_0.2",
		"rhel-eus:10.0 sudo source ":     "0:1.9.15-8.p5.el10_0.2",
		"rhel:10 sudo-debuginfo binary ": "",
	} {
		if got[k] != v {
			t.Errorf("fix %q = %q, want %q", k, got[k], v)
		}
	}
	if _, err := rhsa.Parse(readFile(t, "2026/rhea-2026_0101.json")); !errors.Is(err, patchwatch.ErrNotAdvisory) {
		t.Errorf("RHEA without a CVE: err = %v, want ErrNotAdvisory", err)
	}
	ea := parse(t, "2026/rhea-2026_0102.json")
	if ea.ID != "RHEA-2026:0102" || !ea.RebootHint || ea.Severity != patchwatch.SeverityHigh || fixes(ea)["rhel-eus:10.2 kernel-core binary "] != "0:6.12.0-211.31.1.el10_2" {
		t.Errorf("RHEA with a CVE = %+v", ea)
	}
}

// TestMainEUSFixesReachTheEUSStream: RHSA-2024:6163 ships python3.9 to the
// 9.4.0.Z.MAIN.EUS variants (CPE enterprise_linux:9): the fix applies to
// the main stream and to 9.4 EUS alike.
func TestMainEUSFixesReachTheEUSStream(t *testing.T) {
	got := fixes(parse(t, "2024/rhsa-2024_6163.json"))
	for _, k := range []string{"rhel:9 python3.9 source ", "rhel-eus:9.4 python3.9 source "} {
		if got[k] != "0:3.9.18-3.el9_4.5" {
			t.Errorf("fix %q = %q", k, got[k])
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "rhel-eus:9.") && !strings.HasPrefix(k, "rhel-eus:9.4 ") {
			t.Errorf("unexpected fix %q", k)
		}
	}
}
