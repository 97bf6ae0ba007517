package inventory_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/inventory"
)

// inventoryPath turns n package lines (name, version) into a host through
// one of the intake paths.
type inventoryPath struct {
	name  string
	build func(t *testing.T, pkgs [][2]string) (patchwatch.Host, error)
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var inventoryPaths = []inventoryPath{
	{"json report", func(t *testing.T, pkgs [][2]string) (patchwatch.Host, error) {
		rep := inventory.Report{Schema: inventory.ReportSchema, Host: inventory.ReportHost{Hostname: "vm1"},
			OSRelease: inventory.ReportOSRelease{ID: "ubuntu", VersionID: "22.04"}, Format: "deb"}
		for _, p := range pkgs {
			rep.Packages = append(rep.Packages, inventory.ReportPackage{Name: p[0], Version: p[1]})
		}
		data, _ := json.Marshal(rep)
		r, err := inventory.DecodeReport(strings.NewReader(string(data)))
		if err != nil {
			return patchwatch.Host{}, err
		}
		return inventory.HostFromReport(&r, now)
	}},
	{"vuls dpkg", func(t *testing.T, pkgs [][2]string) (patchwatch.Host, error) {
		var b strings.Builder
		for _, p := range pkgs {
			fmt.Fprintf(&b, "%s,ii ,%s,,\n", p[0], p[1])
		}
		return inventory.HostFromVuls(inventory.VulsHeaders{Family: "ubuntu", Release: "22.04", ServerName: "vm1"}, []byte(b.String()), now)
	}},
	{"vuls rpm", func(t *testing.T, pkgs [][2]string) (patchwatch.Host, error) {
		var b strings.Builder
		for _, p := range pkgs {
			fmt.Fprintf(&b, "%s 0 %s 1.el9 x86_64\n", p[0], p[1])
		}
		return inventory.HostFromVuls(inventory.VulsHeaders{Family: "rocky", Release: "9.3", ServerName: "vm1"}, []byte(b.String()), now)
	}},
	{"imported dpkg-query", func(t *testing.T, pkgs [][2]string) (patchwatch.Host, error) {
		var b strings.Builder
		for _, p := range pkgs {
			fmt.Fprintf(&b, "%s\t%s\n", p[0], p[1])
		}
		return inventory.BuildHost(inventory.HostInput{Name: "vm1", OSReleaseName: "os-release", OSRelease: read(t, "ubuntu-22.04.os-release"),
			PackagesName: "pkgs", Packages: []byte(b.String()), Now: now})
	}},
	{"imported rpm -qa", func(t *testing.T, pkgs [][2]string) (patchwatch.Host, error) {
		var b strings.Builder
		for _, p := range pkgs {
			fmt.Fprintf(&b, "%s-%s-1.el9.x86_64\n", p[0], p[1])
		}
		return inventory.BuildHost(inventory.HostInput{Name: "vm1", OSReleaseName: "os-release", OSRelease: read(t, "rocky-9.3.os-release"),
			PackagesName: "pkgs", Packages: []byte(b.String()), Now: now})
	}},
}

// TestSameLimitsOnEveryPath: a JSON report, a Vuls body and a hand
// import are held to the same package count, field sizes and duplicates.
func TestSameLimitsOnEveryPath(t *testing.T) {
	many := make([][2]string, inventory.MaxReportPackages+1)
	for i := range many {
		many[i] = [2]string{fmt.Sprintf("p%d", i), "1.0"}
	}
	tests := []struct {
		name    string
		pkgs    [][2]string
		wantErr string
		tooBig  bool
	}{
		{"at the limit", many[:inventory.MaxReportPackages], "", false},
		{"over the limit", many, "more than 50000", true},
		{"duplicate", [][2]string{{"bash", "5.1"}, {"zlib", "1.2"}, {"bash", "5.1"}}, "listed twice", false},
		{"oversized field", [][2]string{{"bash", "5.1"}, {strings.Repeat("a", 1100), "1.0"}}, "longer than 1024", false},
	}
	for _, path := range inventoryPaths {
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				h, err := path.build(t, tt.pkgs)
				if tt.wantErr == "" {
					if err != nil || len(h.Packages) != len(tt.pkgs) {
						t.Fatalf("%d packages, %v", len(h.Packages), err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if errors.Is(err, inventory.ErrTooLarge) != tt.tooBig {
					t.Errorf("errors.Is(ErrTooLarge) = %v", !tt.tooBig)
				}
			})
		}
	}
}
