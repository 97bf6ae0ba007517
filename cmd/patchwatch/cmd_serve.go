package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/console"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
)

// serve runs the pollers and the HTTP API in one process until ctx ends
// (SIGTERM, SIGINT), then stops taking requests, lets those in flight
// finish (each report is committed before it is acknowledged), and closes
// the database.
func serve(ctx context.Context, env *Env, cfg config.Config) error {
	log, _ := redactedLogger(env, cfg)
	s, err := openServeStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	svc := service.New(s, cfg.Urgency, env.Now)
	svc.SetLogger(log.With("component", "service"))
	api := server.New(svc, s, server.Options{
		MaxBodyBytes: cfg.Server.MaxBodyBytes, ReportInterval: cfg.Server.ReportInterval, ReportBurst: cfg.Server.ReportBurst,
		StaleAfter: cfg.Server.StaleAfter, Logger: log.With("component", "api"), Clock: env.Now, Feeds: s,
		MaxBodiesInFlight: cfg.Server.MaxBodiesInFlight, MaxBodyBytesInFlight: cfg.Server.MaxBodyBytesInFlight,
		UnauthenticatedTimeout: cfg.Server.UnauthenticatedTimeout, ReadTimeout: serveReadTimeout,
	})
	metrics := api.Metrics()
	if statuses, err := s.FeedStatuses(ctx); err == nil {
		metrics.Feeds(statuses)
	}
	nt, err := buildNotifier(cfg, s, svc, log, env.Now)
	if err != nil {
		return err
	}
	// The web console answers every path the API does not, on the same listener.
	con, err := console.New(svc, api, s, nt, s, console.Options{Secure: cfg.Server.TLSCertFile != "", StaleAfter: cfg.Server.StaleAfter,
		Logger: log.With("component", "console"), Clock: env.Now})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	// Of several replicas on one PostgreSQL, one notifies and one polls.
	g.Go(func() error {
		return asLeader(gctx, s, "notifier", func(ctx context.Context) error { return notifyLoop(ctx, nt, cfg.Notify.Interval, log) })
	})
	g.Go(func() error {
		return asLeader(gctx, s, "poller", func(ctx context.Context) error {
			return pollLoop(ctx, cfg, s, svc, log, newFeedRecorder(s, log, env.Now, metrics.FeedStatus))
		})
	})
	g.Go(func() error {
		// The fleet gauges: hosts (stale ones too), open findings by
		// urgency, failing checks; and the outbox.
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			if counts, err := svc.CountsStale(gctx, cfg.Server.StaleAfter); err == nil {
				metrics.Fleet(counts)
			}
			if counts, err := outboxCounts(gctx, s); err == nil {
				metrics.Outbox(counts)
			}
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	if cfg.Server.Listen != "" {
		g.Go(func() error { return serveHTTP(gctx, cfg.Server, api.WithConsole(con.Handler()), log) })
	}
	err = g.Wait()
	log.Info("stopped")
	return err
}

// serveReadTimeout bounds a whole request with a valid token; one without
// is cut after server.unauthenticated_timeout.
const serveReadTimeout = 2 * time.Minute

// outboxCounts counts the deliveries waiting in the outbox, those retried
// after a failure, and those that failed for good.
func outboxCounts(ctx context.Context, s notify.Store) (server.OutboxCounts, error) {
	var c server.OutboxCounts
	ds, err := s.Deliveries(ctx)
	for _, d := range ds {
		switch {
		case d.Failed:
			c.Failed++
		case d.Attempts > 0:
			c.Pending++
			c.Retrying++
		default:
			c.Pending++
		}
	}
	return c, err
}

func serveHTTP(ctx context.Context, cfg config.Server, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: serveReadTimeout, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	tlsOn := cfg.TLSCertFile != ""
	if tlsOn {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else if !isLoopback(ln.Addr()) {
		log.Warn("SERVING PLAIN HTTP ON A NON-LOOPBACK ADDRESS: tokens and reports cross the network unencrypted; set server.tls_cert_file and server.tls_key_file",
			"listen", ln.Addr().String())
	}
	log.Info("API listening", "addr", ln.Addr().String(), "tls", tlsOn)
	errc := make(chan error, 1)
	go func() {
		if tlsOn {
			errc <- srv.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
