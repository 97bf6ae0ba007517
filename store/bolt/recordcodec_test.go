package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

func fullHostRecord() patchwatch.HostRecord {
	t0 := time.Date(2026, 11, 30, 8, 15, 0, 123456789, time.UTC)
	return patchwatch.HostRecord{Name: "vm1", Owner: "ann@example.org", Project: "genomics", Release: "ubuntu:24.04", Family: patchwatch.FamilyDebian,
		Packages: 1532, SourceInfo: true, SourcesKnown: true, RebootRequired: true, RebootSince: t0.Add(-time.Hour), ReportedAt: t0.In(time.FixedZone("", 2*3600)),
		Checks: []patchwatch.CheckResult{{ID: "ssh-password-auth", Status: "fail", Evidence: "/etc/ssh/sshd_config:12 PasswordAuthentication yes",
			Items: []string{"root", "ubuntu"}, State: "x", Command: "systemctl restart sshd"}, {ID: "firewall", Status: "pass"}},
		Findings: []patchwatch.FindingBrief{{Advisory: "USN-7000-1", Urgency: patchwatch.UrgencyCritical, Severity: patchwatch.SeverityHigh,
			Status: patchwatch.StatusUpdate, Published: t0.Add(-48 * time.Hour), FirstSeen: t0.Add(-24 * time.Hour),
			CVEs: []string{"CVE-2026-1", "CVE-2026-2"}, Packages: []string{"libssl3", "openssl"}}, {Advisory: "USN-7001-1", Urgency: patchwatch.UrgencyLow}}}
}

func fullFinding() patchwatch.Finding {
	t0 := time.Date(2026, 11, 30, 8, 15, 0, 0, time.UTC)
	return patchwatch.Finding{Host: "vm1", Advisory: "DSA-5000-1", Source: patchwatch.SourceDSA, Title: "openssl <security update>",
		Severity: patchwatch.SeverityCritical, Urgency: patchwatch.UrgencyCritical, UrgencyReasons: []string{"in CISA KEV"}, CVSS: 9.8,
		SourceSeverity: "high", Published: t0, CVEs: []string{"CVE-2026-1"}, URL: "https://www.debian.org/security/2026/dsa-5000",
		Status: patchwatch.StatusSubscription, Subscription: "esm-apps",
		Packages:   []patchwatch.FindingPackage{{Name: "libssl3", Installed: "3.0.1-1", Fixed: "3.0.2-1", Source: "openssl", Via: "binary map"}, {Name: "openssl"}},
		Command:    "sudo apt-get install --only-upgrade libssl3",
		RebootHint: true, RunningKernel: true, FirstSeen: t0.Add(time.Hour), Deadline: t0.Add(48 * time.Hour), Overdue: true,
		Silenced: &patchwatch.Silence{ID: "s1", Target: "advisory", Value: "DSA-5000-1", Scope: "host", ScopeValue: "vm1", Reason: "accepted", Expires: t0, CreatedAt: t0},
		KEV:      []patchwatch.KEVEntry{{CVE: "CVE-2026-1", Name: "OpenSSL", DateAdded: "2026-11-01", DueDate: "2026-11-22", Ransomware: "Known"}},
		Notes:    []string{"note"}}
}

// TestRecordCodecRoundTrip: every field of both records survives the
// binary form, as it survives JSON; a field added to either type without
// the codec fails here.
func TestRecordCodecRoundTrip(t *testing.T) {
	if n := reflect.TypeFor[patchwatch.HostRecord]().NumField(); n != 13 {
		t.Fatalf("HostRecord has %d fields: encode the new ones in recordcodec.go", n)
	}
	if n := reflect.TypeFor[patchwatch.FindingBrief]().NumField(); n != 8 {
		t.Fatalf("FindingBrief has %d fields: encode the new ones in recordcodec.go", n)
	}
	if n := reflect.TypeFor[patchwatch.CheckResult]().NumField(); n != 6 {
		t.Fatalf("CheckResult has %d fields: encode the new ones in recordcodec.go", n)
	}
	if n := reflect.TypeFor[patchwatch.FindingRecord]().NumField(); n != 10 {
		t.Fatalf("FindingRecord has %d fields: encode the new ones in recordcodec.go", n)
	}
	viaJSON := func(in, out any) {
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatal(err)
		}
	}
	for _, rec := range []patchwatch.HostRecord{fullHostRecord(), {Name: "bare"}} {
		var got, want patchwatch.HostRecord
		if err := decodeHostRecord(encodeHostRecord(&rec), &got); err != nil {
			t.Fatal(err)
		}
		viaJSON(rec, &want)
		if !reflect.DeepEqual(got, want) && !reflect.DeepEqual(got, rec) {
			t.Fatalf("host record:\n got %+v\nwant %+v", got, want)
		}
		// The JSON form of older databases still decodes.
		data, _ := json.Marshal(rec)
		if err := decodeHostRecord(data, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("JSON host record: %v\n got %+v\nwant %+v", err, got, want)
		}
	}
	if n := reflect.TypeFor[patchwatch.Finding]().NumField(); n != 24 {
		t.Fatalf("Finding has %d fields: encode the new ones in recordcodec.go", n)
	}
	if n := reflect.TypeFor[patchwatch.FindingPackage]().NumField(); n != 5 {
		t.Fatalf("FindingPackage has %d fields: encode the new ones in recordcodec.go", n)
	}
	if n := reflect.TypeFor[patchwatch.KEVEntry]().NumField(); n != 5 {
		t.Fatalf("KEVEntry has %d fields: encode the new ones in recordcodec.go", n)
	}
	for _, f := range []patchwatch.Finding{fullFinding(), {Host: "h", Advisory: "a", Severity: patchwatch.SeverityLow, Urgency: patchwatch.UrgencyLow}} {
		var got, want patchwatch.Finding
		data, err := encodeFinding(&f)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeFinding(data, &got); err != nil {
			t.Fatal(err)
		}
		viaJSON(f, &want)
		if !reflect.DeepEqual(got, want) && !reflect.DeepEqual(got, f) {
			t.Fatalf("finding:\n got %+v\nwant %+v", got, want)
		}
		js, _ := json.Marshal(f)
		if err := decodeFinding(js, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("JSON finding: %v\n got %+v\nwant %+v", err, got, want)
		}
	}
	t0 := time.Date(2026, 11, 30, 8, 15, 0, 0, time.UTC)
	for _, rec := range []patchwatch.FindingRecord{
		{Host: "vm1", Owner: "ann", Advisory: "RHSA-2026:1234", Urgency: patchwatch.UrgencyHigh, Status: patchwatch.StatusPendingReboot,
			FirstSeen: t0, LastSeen: t0.Add(time.Hour), ResolvedAt: t0.Add(2 * time.Hour), ResolvedBy: "fixed", Reopened: 2},
		{Host: "vm2", Advisory: "DSA-1-1", Urgency: patchwatch.UrgencyLow},
	} {
		var got, want patchwatch.FindingRecord
		if err := decodeFindingRecord(encodeFindingRecord(&rec), &got); err != nil {
			t.Fatal(err)
		}
		viaJSON(rec, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("finding record:\n got %+v\nwant %+v", got, want)
		}
	}
	if n := reflect.TypeFor[patchwatch.Event]().NumField(); n != 6 {
		t.Fatalf("Event has %d fields: encode the new ones in recordcodec.go", n)
	}
	if n := reflect.TypeFor[patchwatch.NotifyEvent]().NumField(); n != 4 {
		t.Fatalf("NotifyEvent has %d fields: encode the new ones in recordcodec.go", n)
	}
	for _, ev := range []patchwatch.NotifyEvent{
		{Seq: 1 << 40, Owner: "Ann@example.org", Project: "p<1>", Event: patchwatch.Event{Kind: patchwatch.EventUrgencyRaised, Host: "vm1", Advisory: "USN-1-1",
			Urgency: patchwatch.UrgencyCritical, Previous: patchwatch.UrgencyMedium, At: t0.In(time.FixedZone("", 3600))}},
		{Seq: 2, Event: patchwatch.Event{Kind: patchwatch.EventOpened, Host: "vm2", Advisory: "DSA-1-1", At: t0}},
		{},
	} {
		// The same instant and offset as a JSON round trip gives (whose
		// location is Local where the offset is the machine's).
		same := func(a, b patchwatch.NotifyEvent) bool {
			_, oa := a.At.Zone()
			_, ob := b.At.Zone()
			if !a.At.Equal(b.At) || oa != ob {
				return false
			}
			a.At, b.At = time.Time{}, time.Time{}
			return reflect.DeepEqual(a, b)
		}
		var got, want patchwatch.NotifyEvent
		if err := decodeEvent(encodeEvent(&ev), &got); err != nil {
			t.Fatal(err)
		}
		viaJSON(ev, &want)
		if !same(got, want) {
			t.Fatalf("event:\n got %+v\nwant %+v", got, want)
		}
		// Events queued as JSON by earlier builds still decode.
		js, _ := json.Marshal(ev)
		if err := decodeEvent(js, &got); err != nil || !same(got, want) {
			t.Fatalf("JSON event: %v\n got %+v\nwant %+v", err, got, want)
		}
	}
}

// TestRecordCodecRejects: truncated, trailing and unknown values are
// errors, never panics or partial records passed on.
func TestRecordCodecRejects(t *testing.T) {
	full := fullHostRecord()
	data := encodeHostRecord(&full)
	var r patchwatch.HostRecord
	for _, bad := range [][]byte{nil, {9}, data[:len(data)-1], append(data[:len(data):len(data)], 0)} {
		if err := decodeHostRecord(bad, &r); err == nil {
			t.Fatalf("decoded %x", bad)
		}
	}
	var f patchwatch.FindingRecord
	if err := decodeFindingRecord([]byte{1, 200}, &f); err == nil {
		t.Fatal("decoded a truncated finding record")
	}
	ev := patchwatch.NotifyEvent{Seq: 7, Event: patchwatch.Event{Kind: patchwatch.EventOpened, Host: "h", Advisory: "a", At: time.Unix(1, 0)}}
	evData := encodeEvent(&ev)
	var e patchwatch.NotifyEvent
	for _, bad := range [][]byte{nil, {9}, evData[:len(evData)-1], append(evData[:len(evData):len(evData)], 0)} {
		if err := decodeEvent(bad, &e); err == nil {
			t.Fatalf("decoded event %x", bad)
		}
	}
}

// withoutLists is r as decodeHostSkeleton reads it: no CVEs or packages
// in its briefs, no items in its checks.
func withoutLists(r patchwatch.HostRecord) patchwatch.HostRecord {
	r.Checks = nil
	r.Findings = slices.Clone(r.Findings)
	for i := range r.Findings {
		r.Findings[i].CVEs, r.Findings[i].Packages = nil, nil
	}
	return r
}

// TestHostSkeleton: a skeleton has every field of the record but the
// string lists and the checks, and decodes a JSON record as well.
func TestHostSkeleton(t *testing.T) {
	rec := fullHostRecord()
	for _, data := range [][]byte{encodeHostRecord(&rec), mustJSON(t, rec)} {
		var skel patchwatch.HostRecord
		if err := decodeHostSkeleton(data, &skel, newInterner()); err != nil {
			t.Fatal(err)
		}
		want := withoutLists(rec)
		if data[0] == '{' {
			want = rec // a JSON record is decoded whole
		}
		if !reflect.DeepEqual(skel.Findings, want.Findings) || !reflect.DeepEqual(skel.Checks, want.Checks) || skel.Owner != want.Owner || !skel.ReportedAt.Equal(want.ReportedAt) {
			t.Fatalf("skeleton of %.20q:\n got %+v\nwant %+v", data, skel, want)
		}
	}
}

func distinctBriefs(r *patchwatch.HostRecord) bool {
	seen := map[string]bool{}
	for _, b := range r.Findings {
		if seen[b.Advisory] {
			return false
		}
		seen[b.Advisory] = true
	}
	return true
}

// findingsOf returns findings that the record's briefs brief, in reverse.
func findingsOf(r *patchwatch.HostRecord) []patchwatch.Finding {
	var out []patchwatch.Finding
	for i := len(r.Findings) - 1; i >= 0; i-- {
		b := &r.Findings[i]
		out = append(out, patchwatch.Finding{Host: r.Name, Advisory: b.Advisory, Urgency: b.Urgency, Severity: b.Severity, Status: b.Status})
	}
	return out
}

// TestBriefsMatchEncoded: the encoded briefs are compared field by field
// without decoding the record; JSON is left to the caller.
func TestBriefsMatchEncoded(t *testing.T) {
	rec := fullHostRecord()
	data := encodeHostRecord(&rec)
	findings := findingsOf(&rec)
	if match, known := briefsMatchEncoded(data, findings); !match || !known {
		t.Fatalf("own briefs: match %v known %v", match, known)
	}
	for name, change := range map[string]func(f []patchwatch.Finding) []patchwatch.Finding{
		"urgency":  func(f []patchwatch.Finding) []patchwatch.Finding { f[0].Urgency++; return f },
		"severity": func(f []patchwatch.Finding) []patchwatch.Finding { f[1].Severity++; return f },
		"status": func(f []patchwatch.Finding) []patchwatch.Finding {
			f[0].Status = patchwatch.StatusPendingReboot
			return f
		},
		"advisory": func(f []patchwatch.Finding) []patchwatch.Finding { f[1].Advisory = "USN-1-1"; return f },
		"fewer":    func(f []patchwatch.Finding) []patchwatch.Finding { return f[:1] },
		"more": func(f []patchwatch.Finding) []patchwatch.Finding {
			return append(f, patchwatch.Finding{Advisory: "USN-2-1"})
		},
	} {
		if match, known := briefsMatchEncoded(data, change(slices.Clone(findings))); match || !known {
			t.Errorf("%s changed: match %v known %v", name, match, known)
		}
	}
	if _, known := briefsMatchEncoded(mustJSON(t, rec), findings); known {
		t.Error("a JSON record is read as encoded")
	}
	if _, known := briefsMatchEncoded(data[:len(data)-3], findings); known {
		t.Error("a truncated record is read")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func FuzzDecodeHostRecord(f *testing.F) {
	full := fullHostRecord()
	f.Add(encodeHostRecord(&full))
	fr := patchwatch.FindingRecord{Host: "h", Advisory: "a", FirstSeen: time.Unix(1, 0)}
	f.Add(encodeFindingRecord(&fr))
	ff := fullFinding()
	if data, err := encodeFinding(&ff); err == nil {
		f.Add(data)
	}
	f.Add(encodeEvent(&patchwatch.NotifyEvent{Seq: 3, Owner: "o", Event: patchwatch.Event{Kind: patchwatch.EventResolved, Host: "h", Advisory: "a", At: time.Unix(5, 6)}}))
	f.Add(encodeEvents([]patchwatch.NotifyEvent{{Seq: 4, Owner: "o", Event: patchwatch.Event{Kind: patchwatch.EventOpened, Host: "h", Advisory: "a"}}, {Seq: 5, Project: "p"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 && data[0] == '{' {
			return // JSON: goccy's own
		}
		var r patchwatch.HostRecord
		if decodeHostRecord(data, &r) == nil {
			// A skeleton of what decodes is the record without its lists.
			var skel patchwatch.HostRecord
			if err := decodeHostSkeleton(data, &skel, newInterner()); err != nil || !reflect.DeepEqual(skel, withoutLists(r)) {
				t.Fatalf("skeleton of %x: %v\n%+v\n%+v", data, err, skel, withoutLists(r))
			}
			// Its briefs match the findings they brief (when each advisory
			// is briefed once, as a write leaves them).
			if match, known := briefsMatchEncoded(data, findingsOf(&r)); distinctBriefs(&r) && (!known || !match) {
				t.Fatalf("briefs of %x do not match their own findings (known %v)", data, known)
			}
			// What decodes survives another round trip.
			var again patchwatch.HostRecord
			if err := decodeHostRecord(encodeHostRecord(&r), &again); err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("round trip of %x: %v\n%+v\n%+v", data, err, again, r)
			}
		}
		var fr patchwatch.FindingRecord
		_ = decodeFindingRecord(data, &fr)
		var ev patchwatch.NotifyEvent
		if decodeEvent(data, &ev) == nil {
			var back patchwatch.NotifyEvent
			if err := decodeEvent(encodeEvent(&ev), &back); err != nil || !reflect.DeepEqual(back, ev) {
				t.Fatalf("event round trip of %x: %v\n%+v\n%+v", data, err, back, ev)
			}
		}
		// A value of several events: what decodes encodes back to it.
		if events, err := appendEvents(nil, nil, data); err == nil && len(data) > 0 && data[0] == eventBatchV1 {
			back, err := appendEvents(nil, nil, encodeEvents(events))
			if err != nil || !reflect.DeepEqual(back, events) {
				t.Fatalf("events round trip of %x: %v\n%+v\n%+v", data, err, back, events)
			}
		}
		var fd patchwatch.Finding
		if decodeFinding(data, &fd) == nil {
			again, err := encodeFinding(&fd)
			var back patchwatch.Finding
			if err != nil || decodeFinding(again, &back) != nil || !reflect.DeepEqual(back, fd) {
				t.Fatalf("finding round trip of %x: %v", data, err)
			}
		}
	})
}

// TestMigrateToSchema7: a schema 6 database, its host and finding records
// in JSON, opens as schema 7 with every record re-encoded (more than one
// batch of them) and read back unchanged.
func TestMigrateToSchema7(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pw.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const hosts = 1500
	var entries []store.HostEntry
	var batch []store.Evaluation
	for i := range hosts {
		h := patchwatch.Host{Name: fmt.Sprintf("vm%04d", i), Owner: "ann@example.org", Release: "ubuntu:22.04", Family: patchwatch.FamilyDebian,
			SourceInfo: true, ReportedAt: t0, Packages: []patchwatch.Package{{Name: "openssl", Version: "1", SourceName: "openssl", SourceVersion: "1"}}}
		f := patchwatch.Finding{Host: h.Name, Advisory: "USN-1-1", Urgency: patchwatch.UrgencyHigh, Status: patchwatch.StatusUpdate,
			CVEs: []string{"CVE-2026-1"}, Packages: []patchwatch.FindingPackage{{Name: "openssl", Installed: "1", Fixed: "2"}}}
		index := []store.ReleasePackage{{Release: h.Release, Package: "openssl"}}
		entries = append(entries, store.HostEntry{Host: h, Index: index})
		batch = append(batch, store.Evaluation{Host: h, Findings: []patchwatch.Finding{f}, Index: index})
	}
	if err := s.PutHosts(ctx, entries); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncBatch(ctx, batch, t0); err != nil {
		t.Fatal(err)
	}
	wantRec, err := s.HostRecord(ctx, "vm0042")
	if err != nil {
		t.Fatal(err)
	}
	wantDetails, err := s.HostFindings(ctx, "vm0042")
	if err != nil || len(wantDetails) != 1 {
		t.Fatalf("%d details, %v", len(wantDetails), err)
	}
	wantFindings, err := s.FindingRecords(ctx, "")
	if err != nil || len(wantFindings) != hosts {
		t.Fatalf("%d finding records, %v", len(wantFindings), err)
	}
	// Back to schema 6: every record as JSON, the details one key each.
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if err := toLegacyDetails(tx); err != nil {
			return err
		}
		if err := toLegacyRecords(tx); err != nil {
			return err
		}
		for _, bucket := range [][]byte{bucketHostRecords, bucketFindings, bucketFindingDetails} {
			b := tx.Bucket(bucket)
			var keys, values [][]byte
			err := b.ForEach(func(k, v []byte) error {
				var data []byte
				var err error
				switch string(bucket) {
				case string(bucketHostRecords):
					var r patchwatch.HostRecord
					if err = decodeHostRecord(v, &r); err == nil {
						data, err = json.Marshal(r)
					}
				case string(bucketFindingDetails):
					var f patchwatch.Finding
					if err = decodeFinding(v, &f); err == nil {
						data, err = json.Marshal(f)
					}
				default:
					var r patchwatch.FindingRecord
					if err = decodeFindingRecord(v, &r); err == nil {
						data, err = json.Marshal(r)
					}
				}
				keys, values = append(keys, bytes.Clone(k)), append(values, data)
				return err
			})
			if err != nil {
				return err
			}
			for i := range keys {
				if err := b.Put(keys[i], values[i]); err != nil {
					return err
				}
			}
		}
		// Schema 6 had no urgency index.
		if err := tx.DeleteBucket(bucketUrgencyIndex); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, 6))
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySchema); binary.BigEndian.Uint64(v) != SchemaVersion {
			t.Errorf("schema %x", v)
		}
		for _, bucket := range [][]byte{bucketHostRecords, bucketOpenRecords, bucketHostDetails} {
			n := 0
			_ = tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				if string(bucket) != string(bucketHostRecords) {
					return eachDetail(v, func(advisory, v []byte) error {
						n++
						if v[0] != recordCodecV1 {
							t.Errorf("%s %s %s still %.20q", bucket, k, advisory, v)
						}
						return nil
					})
				}
				n++
				if v[0] != recordCodecV1 {
					t.Errorf("%s %s still %.20q", bucket, k, v)
				}
				return nil
			})
			if n != hosts {
				t.Errorf("%s: %d records, want %d", bucket, n, hosts)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if hosts, err := s.HostsWithUrgency(ctx, []patchwatch.Urgency{patchwatch.UrgencyHigh}); err != nil || len(hosts) != 1500 {
		t.Fatalf("urgency index after the migration: %d hosts, %v", len(hosts), err)
	}
	gotRec, err := s.HostRecord(ctx, "vm0042")
	if err != nil || !reflect.DeepEqual(gotRec, wantRec) {
		t.Fatalf("record after the migration: %v\n got %+v\nwant %+v", err, gotRec, wantRec)
	}
	gotFindings, err := s.FindingRecords(ctx, "")
	if err != nil || !reflect.DeepEqual(gotFindings, wantFindings) {
		t.Fatalf("finding records after the migration differ: %v", err)
	}
	gotDetails, err := s.HostFindings(ctx, "vm0042")
	if err != nil || !reflect.DeepEqual(gotDetails, wantDetails) {
		t.Fatalf("finding details after the migration: %v\n got %+v\nwant %+v", err, gotDetails, wantDetails)
	}
}

// FuzzDecodeTuple: a stored package tuple and a stored host value decode
// without panicking whatever their bytes, and a tuple that decodes comes
// back from its encoding.
func FuzzDecodeTuple(f *testing.F) {
	p := patchwatch.Package{Name: "libc6", Version: "2.36-9+deb12u4", Arch: "amd64", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4", Module: "m:1"}
	f.Add(encodeTuple(&p))
	f.Add([]byte{hostFormatTuples, 2, '{', '}', 3, 1, 2, 200, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, err := decodeTuple(data); err == nil {
			if again, err := decodeTuple(encodeTuple(&got)); err != nil || again != got {
				t.Fatalf("round trip of %x: %v, %+v, %+v", data, err, again, got)
			}
		}
		var h patchwatch.Host
		_, _ = decodeHostHead([]byte("h"), data, &h, nil)
	})
}
