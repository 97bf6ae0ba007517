package bolt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// BenchmarkRevokeHostTokens revokes one host's tokens among n hosts' tokens:
// with the host index the cost does not grow with n (issue 18).
func BenchmarkRevokeHostTokens(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			s, err := bolt.Open(filepath.Join(b.TempDir(), "pw.db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			for i := range n {
				id := fmt.Sprintf("tok-%d", i)
				if err := s.PutToken(context.Background(), []byte("h-"+id), patchwatch.Token{ID: id, Kind: patchwatch.TokenHost, Host: fmt.Sprintf("h%d", i), CreatedAt: now}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if err := s.RevokeHostTokens(context.Background(), "h7"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
