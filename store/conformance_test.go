package store_test

import (
	"path/filepath"
	"testing"

	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/storetest"
)

// TestConformance runs the storage contract's suite against bbolt.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Storage {
		s, err := store.Open(filepath.Join(t.TempDir(), "pw.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
