package patchwatch

import (
	"reflect"
	"testing"
	"time"
)

// TestReconcileNewBeforeKnown: a new finding listed before known ones
// (findings come most urgent first) leaves the known ones' changes in the
// records: an urgency rise and a reopening each stored, each told once.
func TestReconcileNewBeforeKnown(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	prev := []FindingRecord{
		{Host: "h", Advisory: "B", Urgency: UrgencyLow, Status: StatusUpdate, FirstSeen: t0, LastSeen: t0},
		{Host: "h", Advisory: "C", Urgency: UrgencyLow, Status: StatusUpdate, FirstSeen: t0, LastSeen: t0, ResolvedAt: t0, ResolvedBy: "fixed"},
	}
	current := []Finding{
		{Advisory: "A", Urgency: UrgencyCritical, Status: StatusUpdate},
		{Advisory: "B", Urgency: UrgencyHigh, Status: StatusUpdate},
		{Advisory: "C", Urgency: UrgencyLow, Status: StatusUpdate},
	}
	next, events := Reconcile("h", "", prev, current, now)
	if len(next) != 3 {
		t.Fatalf("records %+v", next)
	}
	for _, r := range next {
		if !r.Open() {
			t.Errorf("%s not open: %+v", r.Advisory, r)
		}
	}
	if next[1].Advisory != "B" || next[1].Urgency != UrgencyHigh || !next[1].LastSeen.Equal(now) {
		t.Errorf("B after its rise: %+v", next[1])
	}
	if next[2].Advisory != "C" || next[2].Reopened != 1 || !next[2].FirstSeen.Equal(now) {
		t.Errorf("C after reopening: %+v", next[2])
	}
	kinds := map[string]int{}
	for _, e := range events {
		kinds[e.Kind+" "+e.Advisory]++
	}
	want := map[string]int{EventOpened + " A": 1, EventUrgencyRaised + " B": 1, EventReopened + " C": 1}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("events %v, want %v", kinds, want)
		}
	}
	// Evaluated again, nothing changes and nothing is told.
	if again, events := Reconcile("h", "", next, current, now.Add(time.Hour)); len(events) != 0 || len(again) != 3 {
		t.Errorf("second pass: %+v %+v", again, events)
	}
}

// TestReconcileIntoReusedArray holds ReconcileInto, given an array left
// over from another host's records, to what Reconcile returns.
func TestReconcileIntoReusedArray(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	before := now.Add(-48 * time.Hour)
	prev := []FindingRecord{
		{Host: "vm1", Owner: "ana", Advisory: "USN-1-1", Urgency: UrgencyLow, Status: StatusUpdate, FirstSeen: before, LastSeen: before},
		{Host: "vm1", Owner: "ana", Advisory: "USN-2-1", Urgency: UrgencyHigh, Status: StatusUpdate, FirstSeen: before, LastSeen: before, ResolvedAt: before, ResolvedBy: "fixed"},
	}
	current := []Finding{
		{Host: "vm1", Advisory: "USN-0-1", Urgency: UrgencyCritical, Status: StatusUpdate},
		{Host: "vm1", Advisory: "USN-2-1", Urgency: UrgencyHigh, Status: StatusUpdate},
	}
	wantRecords, wantEvents := Reconcile("vm1", "ana", prev, current, now)
	left := make([]FindingRecord, 5, 8)
	for i := range left {
		left[i] = FindingRecord{Host: "other", Advisory: "DSA-9-1", ResolvedAt: before}
	}
	gotRecords, gotEvents := ReconcileInto(left, "vm1", "ana", prev, current, now)
	if !reflect.DeepEqual(gotRecords, wantRecords) || !reflect.DeepEqual(gotEvents, wantEvents) {
		t.Fatalf("ReconcileInto = %+v, %+v; want %+v, %+v", gotRecords, gotEvents, wantRecords, wantEvents)
	}
}
