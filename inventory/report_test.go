package inventory_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch/inventory"
)

const sampleReport = `{"schema":"patchwatch.report/v1","host":{"hostname":"vm1"},"os_release":{"id":"ubuntu","version_id":"22.04"},
"kernel":{"release":"5.15.0-91-generic"},"reboot":{"required":true},"package_format":"deb",
"packages":[{"name":"libssl3","version":"3.0.2-0ubuntu1.12","arch":"amd64","source_name":"openssl","source_version":"3.0.2-0ubuntu1.12"}]}`

func TestDecodeReport(t *testing.T) {
	rep, err := inventory.DecodeReport(strings.NewReader(sampleReport))
	if err != nil {
		t.Fatal(err)
	}
	h, err := inventory.HostFromReport(&rep, time.Unix(0, 0))
	if err != nil || h.Name != "vm1" || h.Release != "ubuntu:22.04" || !h.RebootRequired || h.Packages[0].SourceName != "openssl" {
		t.Fatalf("host = %+v, %v", h, err)
	}
	rpm := `{"schema":"patchwatch.report/v1","host":{"hostname":"r1","instance_name":"web-r1"},"os_release":{"id":"rocky","version_id":"9.3"},"package_format":"rpm",
"packages":[{"name":"bind","epoch":32,"version":"9.16.23-14.el9_3","arch":"x86_64","source_name":"bind","source_version":"9.16.23-14.el9_3"},{"name":"ruby","version":"3.1.4-142.module+el9.3.0+1+1","module":"ruby:3.1"}]}`
	rep, err = inventory.DecodeReport(strings.NewReader(rpm))
	if err != nil {
		t.Fatal(err)
	}
	h, err = inventory.HostFromReport(&rep, time.Unix(0, 0))
	if err != nil || h.Name != "web-r1" || h.Packages[0].Version != "32:9.16.23-14.el9_3" || h.EpochInfo || h.Packages[1].Module != "ruby:3.1" {
		t.Fatalf("rpm host = %+v, %v", h, err)
	}
	for name, bad := range map[string]string{
		"wrong schema":  strings.Replace(sampleReport, "v1", "v9", 1),
		"unknown field": strings.Replace(sampleReport, `"schema"`, `"x":1,"schema"`, 1),
		"trailing data": sampleReport + "{}",
		"no packages":   strings.Replace(sampleReport, `"packages":[`, `"packages":[],"p":[`, 1),
		"bad format":    strings.Replace(sampleReport, `"deb"`, `"apk"`, 1),
		"no hostname":   strings.Replace(sampleReport, `"vm1"`, `""`, 1),
		"invalid utf-8": strings.Replace(sampleReport, "vm1", "vm\xff", 1),
		"package twice": strings.Replace(sampleReport, `"packages":[`, `"packages":[{"name":"libssl3","version":"3.0.2-0ubuntu1.12","arch":"amd64"},`, 1),
	} {
		if _, err := inventory.DecodeReport(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestHostFromVuls(t *testing.T) {
	body := "libssl3:amd64,ii ,3.0.2-0ubuntu1.12,openssl,3.0.2-0ubuntu1.12\nlibc6:amd64,ii ,2.35-0ubuntu3.5,glibc,2.35-0ubuntu3.5\nold,rc ,1.0,old,1.0\n"
	h, err := inventory.HostFromVuls(inventory.VulsHeaders{Family: "ubuntu", Release: "22.04", KernelRelease: "5.15.0-91-generic", ServerName: "web1"}, []byte(body), time.Unix(0, 0))
	if err != nil || len(h.Packages) != 2 || h.Packages[0].Arch != "amd64" || h.Packages[1].SourceName != "glibc" {
		t.Fatalf("host = %+v, %v", h, err)
	}
	rpm := "bash 0 5.1.8 6.el9_1 x86_64\nopenssl-libs 1 3.0.7 27.el9 x86_64\n"
	h, err = inventory.HostFromVuls(inventory.VulsHeaders{Family: "redhat", Release: "9.3", ServerName: "r1"}, []byte(rpm), time.Unix(0, 0))
	if err != nil || h.Release != "rhel:9" || h.Packages[1].Version != "1:3.0.7-27.el9" || h.SourceInfo {
		t.Fatalf("rpm host = %+v, %v", h, err)
	}
	if _, err := inventory.HostFromVuls(inventory.VulsHeaders{Family: "windows", Release: "11", ServerName: "w"}, []byte(body), time.Unix(0, 0)); err == nil {
		t.Error("unsupported family accepted")
	}
}

func FuzzDecodeReport(f *testing.F) {
	f.Add([]byte(sampleReport))
	f.Add([]byte(strings.TrimSuffix(sampleReport, "}") + `,"checks":[{"id":"accounts","status":"fail","evidence":"UID 0 accounts besides root: toor","items":["toor (UID 0)"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := inventory.DecodeReport(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		if h, err := inventory.HostFromReport(&rep, time.Unix(0, 0)); err == nil {
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzHostFromVuls(f *testing.F) {
	f.Add("ubuntu", "22.04", []byte("libssl3:amd64,ii ,3.0.2-0ubuntu1.12,openssl,3.0.2-0ubuntu1.12\n"))
	f.Add("redhat", "9", []byte("bash 0 5.1.8 6.el9_1 x86_64\n"))
	f.Fuzz(func(t *testing.T, family, release string, body []byte) {
		h, err := inventory.HostFromVuls(inventory.VulsHeaders{Family: family, Release: release, ServerName: "x"}, body, time.Unix(0, 0))
		if err == nil {
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestReportChecksValidated(t *testing.T) {
	base := `{"schema":"patchwatch.report/v1","host":{"hostname":"h"},"os_release":{"id":"debian","version_id":"12"},"package_format":"deb","packages":[{"name":"bash","version":"5.2.15-2+b2"}],"checks":%s}`
	for checks, want := range map[string]string{
		`[{"id":"accounts","status":"fail","items":["alice"]},{"id":"auto-updates","status":"pass","evidence":"x"}]`: "",
		`[{"id":"accounts","status":"maybe"}]`:                                               `status "maybe" is not pass, fail or unknown`,
		`[{"id":"accounts","status":"pass"},{"id":"accounts","status":"fail"}]`:              `duplicate check "accounts"`,
		`[{"id":"","status":"pass"}]`:                                                        "id is missing",
		`[{"id":"accounts","status":"pass","secret":"x"}]`:                                   "unknown field",
		`[{"id":"accounts","status":"pass","evidence":"` + strings.Repeat("x", 3000) + `"}]`: "evidence or items too long",
	} {
		rep, err := inventory.DecodeReport(strings.NewReader(fmt.Sprintf(base, checks)))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", checks, err)
		case want == "" && len(rep.Checks) != 2:
			t.Errorf("%s: checks %+v", checks, rep.Checks)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%.60s: err %v, want %s", checks, err, want)
		}
	}
}
