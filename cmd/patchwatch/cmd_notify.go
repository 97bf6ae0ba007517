package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/redact"
)

// notifyEnv opens the database and builds the notifier from --config.
func notifyEnv(ctx context.Context, env *Env, fs *flag.FlagSet, args []string, readOnly bool) (cliStore, *notify.Notifier, config.Config, error) {
	db := dbFlag(env, fs)
	configPath := fs.String("config", "", "YAML configuration `file` (notify section)")
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, config.Config{}, err
	}
	dbSet := false
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	cfg, err := loadConfig(env, *configPath, *db, dbSet)
	if err != nil {
		return nil, nil, cfg, err
	}
	var s cliStore
	if cfg.Store.Postgres() {
		s, err = openCLIPostgres(ctx, env, cfg)
	} else {
		s, err = openStore(cfg.DB, readOnly)
	}
	if err != nil {
		return nil, nil, cfg, err
	}
	svc, err := newService(env, s, *configPath)
	if err != nil {
		s.Close()
		return nil, nil, cfg, err
	}
	log, _ := redactedLogger(env, cfg)
	nt, err := buildNotifier(cfg, s, svc, log, env.Now)
	if err != nil {
		s.Close()
		return nil, nil, cfg, err
	}
	return s, nt, cfg, nil
}

func runDigest(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "digest")
	owner := fs.String("owner", "", "the digest of this owner's hosts")
	admin := fs.Bool("admin", false, "the admin digest of the fleet")
	htmlFile := fs.String("html", "", "write the HTML form to this `file`")
	dryRun := fs.Bool("dry-run", false, "render only (the default unless --send)")
	send := fs.Bool("send", false, "send it to the owner's or the admins' channels now")
	// --send writes the outbox, so the database opens read-write.
	readOnly := true
	for _, a := range args {
		if a == "--send" || a == "-send" {
			readOnly = false
		}
	}
	s, nt, _, err := notifyEnv(ctx, env, fs, args, readOnly)
	if err != nil {
		return err
	}
	defer s.Close()
	if (*owner == "") == !*admin {
		return usageError("digest needs --owner EMAIL or --admin")
	}
	if *send && *dryRun {
		return usageError("--send and --dry-run exclude each other")
	}
	var msg *notify.Message
	if *admin {
		msg, _, err = nt.BuildAdminDigest(ctx)
	} else if msg, err = nt.OwnerDigest(ctx, *owner); err == nil && msg == nil {
		fmt.Fprintf(env.Stdout, "Nothing outstanding on %s's hosts.\n", *owner)
		return nil
	}
	if err != nil {
		return err
	}
	subject, text, html, _ := nt.Render(msg)
	if *htmlFile != "" {
		if err := os.WriteFile(*htmlFile, []byte(html), 0o644); err != nil {
			return err
		}
	}
	if !*send {
		fmt.Fprintf(env.Stdout, "Subject: %s\n\n%s", subject, text)
		return nil
	}
	ds, err := nt.Enqueue(ctx, msg, *owner)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return errors.New("nobody to send it to: configure notify.email or notify.slack, and notify.admins or the owner's contact")
	}
	sent, failed, err := nt.Deliver(ctx)
	fmt.Fprintf(env.Stdout, "%d queued, %d sent, %d failed\n", len(ds), sent, failed)
	return err
}

func runNotifications(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usageError("usage: patchwatch notifications list [--failed] | retry ID|--all")
	}
	fs := newFlags(env, "notifications "+args[0])
	switch args[0] {
	case "list":
		failedOnly := fs.Bool("failed", false, "only deliveries that failed for good")
		format := formatFlag(fs)
		s, _, _, err := notifyEnv(ctx, env, fs, args[1:], true)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := checkFormat(*format); err != nil {
			return err
		}
		ds, err := s.Deliveries(ctx)
		if err != nil {
			return err
		}
		shown := []patchwatch.Delivery{}
		for _, d := range ds {
			if !*failedOnly || d.Failed {
				d.Text, d.HTML, d.Blocks = "", "", nil
				shown = append(shown, d)
			}
		}
		if *format == "json" {
			return writeJSON(env.Stdout, shown)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tCHANNEL\tTARGET\tSTATE\tATTEMPTS\tLAST ERROR")
		for _, d := range shown {
			state := "due " + d.NextAt.Format(time.RFC3339)
			if d.Failed {
				state = "failed"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.Kind, d.Channel, d.Target, state, d.Attempts, oneLine(d.LastError, 80))
		}
		return tw.Flush()
	case "retry":
		all := fs.Bool("all", false, "retry every failed delivery")
		s, nt, _, err := notifyEnv(ctx, env, fs, args[1:], false)
		if err != nil {
			return err
		}
		defer s.Close()
		id := fs.Arg(0)
		if (id == "") != *all {
			return usageError("usage: patchwatch notifications retry ID|--all")
		}
		n, err := nt.Retry(ctx, id)
		if err != nil {
			return err
		}
		sent, failed, err := nt.Deliver(ctx)
		fmt.Fprintf(env.Stdout, "%d made due again: %d sent, %d failed\n", n, sent, failed)
		return err
	}
	return usageError("unknown notifications command %q (list, retry)", args[0])
}

func runNotify(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "test" {
		return usageError("usage: patchwatch notify test --channel email|slack [--to TARGET]")
	}
	fs := newFlags(env, "notify test")
	channel := fs.String("channel", "", "email or slack")
	to := fs.String("to", "", "recipient: an email address, a Slack channel, or user:EMAIL (default: the admins)")
	s, nt, cfg, err := notifyEnv(ctx, env, fs, args[1:], false)
	if err != nil {
		return err
	}
	defer s.Close()
	if *channel != "email" && *channel != "slack" {
		return usageError("--channel must be email or slack")
	}
	target := *to
	if target == "" {
		if *channel == "email" {
			target = cfg.Notify.Admins.Email
		} else {
			target = cfg.Notify.Admins.SlackChannel
		}
	}
	if target == "" {
		return usageError("no recipient: give --to, or configure notify.admins")
	}
	d, err := nt.Test(ctx, *channel, target)
	if err != nil {
		// The senders redact their own secrets; this also covers what
		// they cannot see, such as a wrapped library error.
		return redact.New(configSecrets(cfg)...).Error(err)
	}
	fmt.Fprintf(env.Stdout, "test message %s sent to %s %s\n", d.ID, *channel, target)
	return nil
}
