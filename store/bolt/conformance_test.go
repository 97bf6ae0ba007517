package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
	"github.com/patchwatch/patchwatch/store/storetest"
)

var _ service.Storage = (*bolt.Store)(nil)

// TestConformance runs the storage contract's suite against bbolt.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Storage {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "pw.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
