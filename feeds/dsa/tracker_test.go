package dsa_test

import (
	"fmt"
	"testing"

	"github.com/patchwatch/patchwatch/feeds/dsa"
)

func TestParseTracker(t *testing.T) {
	data := readFile(t, "tracker.json")
	if !dsa.DetectTracker(data) || dsa.Detect(data) {
		t.Fatal("detection")
	}
	got, err := dsa.ParseTracker(data)
	if err != nil {
		t.Fatal(err)
	}
	// sid is not a release patchwatch knows; "not yet assigned" and
	// "end-of-life" carry no level; TEMP entries have no CVE; "**" is dropped.
	want := "[{debian:11 openssl CVE-2023-0286 high} {debian:11 xorg-server CVE-2023-1393 medium}]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %s", got, want)
	}
	if _, err := dsa.ParseTracker([]byte(`{"openssl": []}`)); err == nil {
		t.Error("malformed tracker JSON accepted")
	}
}

func FuzzParseTracker(f *testing.F) {
	f.Add(readFile(f, "tracker.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dsa.ParseTracker(data)
	})
}
