package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/internal/fleetgen"
)

// everyField is an advisory with each field set, in the shapes the feeds
// give (a Red Hat modular fix, Ubuntu's binary versions, markup and
// non-ASCII text, a time with nanoseconds outside UTC).
func everyField() patchwatch.Advisory {
	return patchwatch.Advisory{
		ID: "RHSA-2024:3671", Source: patchwatch.SourceRHSA, Title: "Important: ruby:3.1 security update <b>&</b> «fix»",
		Summary: "An update for the ruby:3.1 module is now available.\nIt fixes CVE-2023-36617.", Details: "Ruby is an extensible, interpreted language \u2028 with \"quotes\".",
		Published: time.Date(2024, 6, 5, 12, 1, 2, 345678901, time.FixedZone("", 2*3600)), Modified: time.Date(2024, 6, 6, 0, 0, 0, 0, time.UTC),
		SourceSeverity: "Important", Severity: patchwatch.SeverityHigh, CVEs: []string{"CVE-2023-36617", "CVE-2024-27281"},
		CVSS: 7.5, CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", URL: "https://access.redhat.com/errata/RHSA-2024:3671",
		Fixes: []patchwatch.Fix{
			{Release: "rhel:8", Package: "ruby", Kind: patchwatch.KindSource, FixedVersion: "0:3.1.5-144.module+el8.10.0+21627+e1ac0cab", Binaries: []string{"ruby", "ruby-libs"}, Module: "ruby:3.1"},
			{Release: "ubuntu:22.04", Package: "util-linux", Kind: patchwatch.KindSource, FixedVersion: "2.37.2-4ubuntu3.4", Binaries: []string{"bsdutils", "util-linux"},
				BinaryVersions: map[string]string{"bsdutils": "1:2.37.2-4ubuntu3.4"}, Subscription: "Ubuntu Pro (esm-apps)"},
		},
		RebootHint: true,
	}
}

// The advisories are stored by encoding/json and decoded by goccy/go-json:
// both decoders must give the same advisory.
func TestDecodeAdvisoryAgreesWithEncodingJSON(t *testing.T) {
	advisories := append(fleetgen.New().Advisories[:3000:3000], everyField(), patchwatch.Advisory{ID: "USN-1-1", Source: patchwatch.SourceUSN})
	for _, a := range advisories {
		a.Normalize()
		data, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var want, got patchwatch.Advisory
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if err := decodeAdvisory(data, &got); err != nil {
			t.Fatalf("%s: %v", a.ID, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s decodes as\n%+v\nwant\n%+v", a.ID, got, want)
		}
	}
}

// EachAdvisory decodes in batches on every core; fn still sees every
// advisory once, in ID order, and its error, a bad value's or the
// context's stops the walk.
func TestEachAdvisoryInBatches(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "pw.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Not a multiple of the batch: the last one is short.
	advisories := fleetgen.New().Advisories[:1000]
	if _, err := s.UpsertAdvisories(ctx, advisories); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range advisories {
		want = append(want, a.ID)
	}
	slices.Sort(want)
	var walked []string
	if err := s.EachAdvisory(ctx, func(a patchwatch.Advisory) error {
		if len(a.Fixes) == 0 {
			t.Fatalf("%s decoded without its fixes", a.ID)
		}
		walked = append(walked, a.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(walked, want) {
		t.Fatalf("walked %d advisories, want the %d stored in ID order", len(walked), len(want))
	}

	stop := errors.New("stop")
	calls := 0
	if err := s.EachAdvisory(ctx, func(patchwatch.Advisory) error {
		if calls++; calls == 300 {
			return stop
		}
		return nil
	}); !errors.Is(err, stop) || calls != 300 {
		t.Fatalf("walk stopped by fn at call %d: %v", calls, err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.EachAdvisory(canceled, func(patchwatch.Advisory) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("walk under a canceled context: %v", err)
	}

	bad := want[700]
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketAdvisories).Put([]byte(bad), []byte(`{"id":`))
	}); err != nil {
		t.Fatal(err)
	}
	walked = walked[:0]
	err = s.EachAdvisory(ctx, func(a patchwatch.Advisory) error { walked = append(walked, a.ID); return nil })
	if err == nil || !slices.Equal(walked, want[:700]) {
		t.Fatalf("a corrupt advisory: error %v after %d advisories, want one after the 700 before it", err, len(walked))
	}
}

// Whatever decodeAdvisory accepts, stored again, decodes to the same
// advisory under both decoders.
func FuzzDecodeAdvisory(f *testing.F) {
	for _, a := range []patchwatch.Advisory{everyField(), fleetgen.New().Advisories[0]} {
		data, err := json.Marshal(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"id":"DSA-1-1","fixes":null,"severity":"nonsense"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a patchwatch.Advisory
		if decodeAdvisory(data, &a) != nil {
			return
		}
		again, err := json.Marshal(a)
		if err != nil {
			return // a time outside JSON's years
		}
		var want, got patchwatch.Advisory
		if err := json.Unmarshal(again, &want); err != nil {
			t.Fatalf("encoding/json rejects its own encoding %s: %v", again, err)
		}
		if err := decodeAdvisory(again, &got); err != nil {
			t.Fatalf("re-encoded %s: %v", again, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s decodes as %+v, want %+v", again, got, want)
		}
	})
}
