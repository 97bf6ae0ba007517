package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchwatch/patchwatch/store/postgres"
	"github.com/patchwatch/patchwatch/store/postgres/pgtest"
)

// TestLeaderTakeover: of two replicas one leads; when its session dies
// (pg_terminate_backend, as when the process is killed), the other takes
// over, and at no moment do both lead.
func TestLeaderTakeover(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := pgtest.OpenDSN(t, dsn), pgtest.OpenDSN(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var leaders, maxLeaders atomic.Int32
	led := make(chan string, 4)
	task := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			n := leaders.Add(1)
			if n > maxLeaders.Load() {
				maxLeaders.Store(n)
			}
			led <- name
			<-ctx.Done()
			leaders.Add(-1)
			return nil
		}
	}
	go a.RunAsLeader(ctx, "poller", 50*time.Millisecond, task("a"))
	first := <-led
	go b.RunAsLeader(ctx, "poller", 50*time.Millisecond, task("b"))
	// The other replica keeps trying while the first leads.
	select {
	case who := <-led:
		t.Fatalf("%s led while %s held the lock", who, first)
	case <-time.After(300 * time.Millisecond):
	}
	// Kill the leader's session.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var schema string
	if err := conn.QueryRow(context.Background(), "SELECT coalesce(current_schema(), '')").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
			AND classid::bigint = ($1::bigint >> 32) & 4294967295 AND objid::bigint = $1::bigint & 4294967295`, postgres.LeaderKey(schema, "poller")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-led:
	case <-time.After(10 * time.Second):
		t.Fatal("no replica took over within 10s")
	}
	if maxLeaders.Load() > 1 {
		t.Fatalf("%d leaders at once", maxLeaders.Load())
	}
}
