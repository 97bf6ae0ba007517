package bolt

import "hash/maphash"

// internSlots is how many strings an interner holds: 128 KB of string
// headers, which stay in cache.
const internSlots = 1 << 13

// interner shares one copy of the strings that recur across decoded
// values (advisory IDs, owners, statuses). It is a direct-mapped cache:
// a lookup is a hash and a compare, and a string whose slot another took
// is copied again, which is all a miss costs. A map holding every string
// of a fleet's records missed the processor's cache on most lookups: a
// third of a microsecond each, more than the copies it saved.
type interner struct {
	seed  maphash.Seed
	slots [internSlots]string
}

func newInterner() *interner {
	return &interner{seed: maphash.MakeSeed()}
}

// str returns b as a string, shared with an earlier one when it is in
// the cache. A nil interner copies every time.
func (in *interner) str(b []byte) string {
	if in == nil || len(b) == 0 {
		return string(b)
	}
	slot := &in.slots[maphash.Bytes(in.seed, b)&(internSlots-1)]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}
