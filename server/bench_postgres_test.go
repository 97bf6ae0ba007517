package server_test

import (
	"testing"

	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

// BenchmarkReports1500PackagesPostgres is BenchmarkReports1500Packages on
// PostgreSQL ($PATCHWATCH_TEST_POSTGRES_DSN).
func BenchmarkReports1500PackagesPostgres(b *testing.B) {
	benchReports(b, pgtest.Open(b))
}
