package service

import (
	"slices"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store"
)

func evaluationsOf(names ...string) []store.Evaluation {
	out := make([]store.Evaluation, len(names))
	for i, n := range names {
		out[i] = store.Evaluation{Host: patchwatch.Host{Name: n}}
	}
	return out
}

func hostNames(evs []store.Evaluation) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Host.Name)
	}
	return out
}

// TestGatherWrites: the chunks waiting are added to the one taken, in
// order, without writing into the first chunk's page batch; a closed or
// empty queue ends the gathering.
func TestGatherWrites(t *testing.T) {
	page := evaluationsOf("a", "b", "c", "d")
	first := chunkWrite{changed: page[:1], hosts: 4} // a changed, b c d not
	writes := make(chan chunkWrite, 3)
	writes <- chunkWrite{changed: evaluationsOf("e", "f"), hosts: 2}
	writes <- chunkWrite{hosts: 3}
	writes <- chunkWrite{changed: evaluationsOf("g"), hosts: 1}
	got := gatherWrites(first, writes)
	if want := []string{"a", "e", "f", "g"}; !slices.Equal(hostNames(got.changed), want) || got.hosts != 10 {
		t.Fatalf("gathered %v of %d hosts, want %v of 10", hostNames(got.changed), got.hosts, want)
	}
	if !slices.Equal(hostNames(page), []string{"a", "b", "c", "d"}) {
		t.Fatalf("the page's batch was written into: %v", hostNames(page))
	}
	if got := gatherWrites(first, writes); len(got.changed) != 1 || got.hosts != 4 {
		t.Fatalf("with nothing waiting: %+v", got)
	}
	close(writes)
	if got := gatherWrites(first, writes); len(got.changed) != 1 || got.hosts != 4 {
		t.Fatalf("with the queue closed: %+v", got)
	}
}
