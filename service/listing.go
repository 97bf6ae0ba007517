package service

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
)

// outKey is one listed finding: its place in the order of SortFindings
// and what decorating its details needs. A fleet-wide listing holds one
// per open finding (a million at 100,000 hosts) before it streams, so it
// is compact and holds no pointers (the collector never scans the keys):
// times as Unix seconds and nanoseconds, its host and advisory as indexes
// into the listing's tables.
type outKey struct {
	published, firstSeen         int64
	publishedNsec, firstSeenNsec int32
	// firstSeenOffset is firstSeen's zone offset, kept for the output.
	firstSeenOffset   int32
	host, advisory    uint32
	urgency, severity int8
}

// listedHost is what a host's listed findings share.
type listedHost struct {
	name, owner string
	// checks are the host's, for its live-patch state.
	checks []patchwatch.CheckResult
}

// listing holds what a listing's keys share: their hosts and advisory IDs,
// each once. Once sorted, the tables are in name order and an index is a
// rank, so keys compare as integers.
type listing struct {
	hosts       []listedHost
	advisories  []string
	advisoryIDs map[string]uint32
}

func newListing() *listing { return &listing{advisoryIDs: map[string]uint32{}} }

// addHost adds r's host and returns its index.
func (l *listing) addHost(r *patchwatch.HostRecord) uint32 {
	l.hosts = append(l.hosts, listedHost{name: r.Name, owner: r.Owner, checks: r.Checks})
	return uint32(len(l.hosts) - 1)
}

func (l *listing) advisory(id string) uint32 {
	i, ok := l.advisoryIDs[id]
	if !ok {
		i = uint32(len(l.advisories))
		l.advisories = append(l.advisories, id)
		l.advisoryIDs[id] = i
	}
	return i
}

// key is a brief's place in the listing, on the host of index host, with
// what decorating it needs.
func (l *listing) key(v *view, b *patchwatch.FindingBrief, host uint32) outKey {
	_, offset := b.FirstSeen.Zone()
	return outKey{firstSeenOffset: int32(offset), advisory: l.advisory(b.Advisory), host: host, published: b.Published.Unix(), firstSeen: b.FirstSeen.Unix(),
		publishedNsec: int32(b.Published.Nanosecond()), firstSeenNsec: int32(b.FirstSeen.Nanosecond()),
		urgency: int8(b.UrgencyAt(v.rules, v.now)), severity: int8(b.Severity)}
}

// compare orders keys as matcher.Order.Compare does.
func (l *listing) compare(a, b *outKey) int {
	if c := compareRank(a, b); c != 0 {
		return c
	}
	if a.host != b.host {
		if c := strings.Compare(l.hosts[a.host].name, l.hosts[b.host].name); c != 0 {
			return c
		}
	}
	return strings.Compare(l.advisories[a.advisory], l.advisories[b.advisory])
}

// compareRank orders keys by urgency, severity and publication, the most
// pressing first.
func compareRank(a, b *outKey) int {
	if c := cmp.Compare(b.urgency, a.urgency); c != 0 {
		return c
	}
	if c := cmp.Compare(b.severity, a.severity); c != 0 {
		return c
	}
	if c := cmp.Compare(b.published, a.published); c != 0 {
		return c
	}
	return cmp.Compare(b.publishedNsec, a.publishedNsec)
}

// sort puts the tables in name order, renumbers keys to match, and sorts
// keys as compare does, comparing names as their ranks.
func (l *listing) sort(keys []outKey) {
	hostRank := ranks(len(l.hosts), func(i, j int) int { return strings.Compare(l.hosts[i].name, l.hosts[j].name) })
	advisoryRank := ranks(len(l.advisories), func(i, j int) int { return strings.Compare(l.advisories[i], l.advisories[j]) })
	hosts, advisories := make([]listedHost, len(l.hosts)), make([]string, len(l.advisories))
	for i, r := range hostRank {
		hosts[r] = l.hosts[i]
	}
	for i, r := range advisoryRank {
		advisories[r] = l.advisories[i]
		l.advisoryIDs[l.advisories[i]] = r
	}
	l.hosts, l.advisories = hosts, advisories
	for i := range keys {
		keys[i].host, keys[i].advisory = hostRank[keys[i].host], advisoryRank[keys[i].advisory]
	}
	slices.SortFunc(keys, func(a, b outKey) int {
		if c := compareRank(&a, &b); c != 0 {
			return c
		}
		if c := cmp.Compare(a.host, b.host); c != 0 {
			return c
		}
		return cmp.Compare(a.advisory, b.advisory)
	})
}

// ranks returns the rank of each of n items in the order compare gives
// (equal items, as two hosts of one name never are, keep their order).
func ranks(n int, compare func(i, j int) int) []uint32 {
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortStableFunc(order, func(a, b uint32) int { return compare(int(a), int(b)) })
	rank := make([]uint32, n)
	for r, i := range order {
		rank[i] = uint32(r)
	}
	return rank
}

// order returns k's place as a matcher.Order (what a cursor carries).
func (l *listing) order(k *outKey) matcher.Order {
	published := time.Time{}
	if k.published != zeroUnix || k.publishedNsec != 0 {
		published = time.Unix(k.published, int64(k.publishedNsec)).UTC()
	}
	return matcher.Order{Urgency: patchwatch.Urgency(k.urgency), Severity: patchwatch.Severity(k.severity), Published: published,
		Host: l.hosts[k.host].name, Advisory: l.advisories[k.advisory]}
}

func (k *outKey) firstSeenTime() time.Time {
	if k.firstSeen == zeroUnix && k.firstSeenNsec == 0 {
		return time.Time{}
	}
	t := time.Unix(k.firstSeen, int64(k.firstSeenNsec))
	if k.firstSeenOffset == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(k.firstSeenOffset)))
}

// zeroUnix is the zero time's Unix seconds.
var zeroUnix = time.Time{}.Unix()
