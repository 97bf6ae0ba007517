package main

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch/store/postgres"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

// BenchmarkFleetPostgres runs BenchmarkFleet's steps on PostgreSQL (the
// server $PATCHWATCH_TEST_POSTGRES_DSN names, a schema of its own): the
// in-process steps on one store with the default pool, the CLI steps
// through --config as a user's command beside serve would. Peak RSS is
// the Go process's; the PostgreSQL server's memory is its own.
//
//	. .ci/postgres.sh; go test -run XXX -bench 'FleetPostgres/hosts=1000$' -benchtime=1x -timeout 0 ./cmd/patchwatch
func BenchmarkFleetPostgres(b *testing.B) {
	if os.Getenv(pgtest.Variable) == "" {
		b.Skipf("no PostgreSQL: set %s to run", pgtest.Variable)
	}
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dsn := pgtest.DSN(b)
			st, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn})
			if err != nil {
				b.Fatal(err)
			}
			fleetSteps(b, st, n, func() {
				size, err := schemaSize(dsn)
				if err != nil {
					b.Fatal(err)
				}
				fmt.Fprintf(os.Stderr, "database: %d MB, %.1f KB per host\n", size>>20, float64(size)/1024/float64(n+1000))
			}, "--config", writePostgresConfig(b, dsn))
		})
	}
}

// schemaSize returns the bytes of the tables, their indexes and TOAST in
// the schema dsn's connections use.
func schemaSize(dsn string) (int64, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var size int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = current_schema() AND c.relkind = 'r'`).Scan(&size)
	return size, err
}
