package patchwatch_test

import (
	"testing"

	"github.com/patchwatch/patchwatch"
)

func TestResolveRelease(t *testing.T) {
	tests := []struct {
		name    string
		os      patchwatch.OSRelease
		want    string
		wantErr bool
	}{
		{"ubuntu by version", patchwatch.OSRelease{ID: "ubuntu", VersionID: "24.04"}, "ubuntu:24.04", false},
		{"ubuntu by codename", patchwatch.OSRelease{ID: "ubuntu", VersionCodename: "jammy"}, "ubuntu:22.04", false},
		{"debian", patchwatch.OSRelease{ID: "debian", VersionID: "12", VersionCodename: "bookworm"}, "debian:12", false},
		{"debian testing by debian_version", patchwatch.OSRelease{ID: "debian", DebianVersion: "trixie/sid"}, "debian:13", false},
		{"ubuntu newer than the table", patchwatch.OSRelease{ID: "ubuntu", VersionID: "26.10", VersionCodename: "stonking"}, "ubuntu:26.10", false},
		{"ubuntu far newer", patchwatch.OSRelease{ID: "ubuntu", VersionID: "30.04"}, "ubuntu:30.04", false},
		{"ubuntu not a release month", patchwatch.OSRelease{ID: "ubuntu", VersionID: "26.11"}, "", true},
		{"ubuntu older unknown", patchwatch.OSRelease{ID: "ubuntu", VersionID: "11.10"}, "", true},
		{"ubuntu unknown codename only", patchwatch.OSRelease{ID: "ubuntu", VersionCodename: "zesty-next"}, "", true},
		{"debian newer than the table", patchwatch.OSRelease{ID: "debian", VersionID: "16"}, "debian:16", false},
		{"debian newer by debian_version", patchwatch.OSRelease{ID: "debian", DebianVersion: "16.1"}, "debian:16", false},
		{"debian junk", patchwatch.OSRelease{ID: "debian", VersionID: "016"}, "", true},
		{"rhel 10", patchwatch.OSRelease{ID: "rhel", VersionID: "10.1"}, "rhel:10", false},
		{"almalinux 10", patchwatch.OSRelease{ID: "almalinux", VersionID: "10.0"}, "almalinux:10", false},
		{"rocky 10", patchwatch.OSRelease{ID: "rocky", VersionID: "10.1"}, "rocky:10", false},
		{"unsupported", patchwatch.OSRelease{ID: "plan9"}, "", true},
		{"no id", patchwatch.OSRelease{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := patchwatch.ResolveRelease(tt.os)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ResolveRelease = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	for word, want := range map[string]patchwatch.Severity{
		"negligible": patchwatch.SeverityNegligible, "low": patchwatch.SeverityLow, "Moderate": patchwatch.SeverityMedium,
		"Important": patchwatch.SeverityHigh, "critical": patchwatch.SeverityCritical, "": patchwatch.SeverityUnknown,
	} {
		if got, ok := patchwatch.ParseSeverity(word); !ok || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v", word, got, ok)
		}
	}
	if _, ok := patchwatch.ParseSeverity("spicy"); ok {
		t.Error("unknown word accepted")
	}
	var s patchwatch.Severity
	if err := s.UnmarshalText([]byte("high")); err != nil || s != patchwatch.SeverityHigh {
		t.Errorf("UnmarshalText: %v %v", s, err)
	}
}

func TestKernelABI(t *testing.T) {
	tests := []struct{ binary, source, want string }{
		{"linux-modules-5.4.0-1059-bluefield", "linux-bluefield", "5.4.0-1059"},
		{"linux-image-6.1.0-13-amd64", "linux-signed-amd64", "6.1.0-13"},
		{"linux-libc-dev", "linux", ""},
		{"linux-image-generic", "linux-meta", ""},
		{"linux-firmware", "linux-firmware", ""},
		{"libfoo-1.2-3", "foo", ""},
	}
	for _, tt := range tests {
		if got := patchwatch.KernelABI(tt.binary, tt.source); got != tt.want {
			t.Errorf("KernelABI(%s, %s) = %q, want %q", tt.binary, tt.source, got, tt.want)
		}
	}
}
