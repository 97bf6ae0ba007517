// Command patchwatch-agent runs on a VM: it collects what the VM runs and
// reports it to the patchwatch API. It is a static binary with no
// dependencies; see deploy/ for the systemd units and the cloud-init snippet.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/patchwatch/patchwatch/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "patchwatch-agent:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: patchwatch-agent collect|report [flags]")
	}
	fs := flag.NewFlagSet("patchwatch-agent "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "/", "root of the filesystem to read (a mounted image or a chroot)")
	kernelRelease := fs.String("kernel-release", "", "running kernel (`uname -r`); read from the system when --root is /")
	kernelVersion := fs.String("kernel-version", "", "running kernel version (`uname -v`)")
	rpmCommand := fs.String("rpm", "rpm", "rpm `binary` used to read the rpm database")
	server := fs.String("server", "", "patchwatch API `URL` (report)")
	caFile := fs.String("ca-file", "", "PEM `file` of a CA to trust for --server")
	stateDir := fs.String("state-dir", "/var/lib/patchwatch-agent", "root-only `directory` for the host token")
	enrollFile := fs.String("enroll-token-file", "", "`file` with the enrollment token (else the metadata service's patchwatch_enroll_token)")
	metadataURL := fs.String("metadata-url", agent.DefaultMetadataURL, "OpenStack metadata service `URL`; \"-\" disables it")
	noChecks := fs.Bool("no-checks", false, "do not run the security-guideline checks")
	checkTimeout := fs.Duration("check-timeout", 10*time.Second, "time limit of each security-guideline check")
	verbose := fs.Bool("v", false, "log progress")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := agent.Options{Root: *root, KernelRelease: *kernelRelease, KernelVersion: *kernelVersion, RPMCommand: *rpmCommand,
		Checks: !*noChecks, CheckTimeout: *checkTimeout}
	if *root == "/" {
		opts.Uname = uname
	}
	switch args[0] {
	case "collect":
		rep, err := agent.Collect(ctx, opts)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "report":
		if *server == "" {
			return errors.New("report needs --server")
		}
		rep, err := agent.Collect(ctx, opts)
		if err != nil {
			return err
		}
		var meta agent.Metadata
		if *metadataURL != "-" {
			if meta, err = agent.FetchMetadata(ctx, *metadataURL); err != nil {
				log.Info("no OpenStack metadata", "err", err)
			}
			rep.Host.InstanceID, rep.Host.InstanceName, rep.Host.ProjectID = meta.UUID, meta.Name, meta.ProjectID
		}
		client, err := agent.NewClient(*server, *caFile, log)
		if err != nil {
			return err
		}
		token, err := agent.LoadToken(*stateDir)
		if err != nil {
			return err
		}
		if token != "" {
			err = client.Send(ctx, token, rep)
			if err == nil || !agent.IsUnauthorized(err) {
				return err
			}
			log.Warn("host token refused; enrolling again", "err", err)
		}
		enrollToken := meta.Meta["patchwatch_enroll_token"]
		if *enrollFile != "" {
			b, err := os.ReadFile(*enrollFile)
			if err != nil {
				return err
			}
			enrollToken = strings.TrimSpace(string(b))
		}
		if enrollToken == "" {
			return errors.New("not enrolled: give --enroll-token-file, or set patchwatch_enroll_token in the instance's metadata")
		}
		if token, err = client.Enroll(ctx, enrollToken, rep.Host); err != nil {
			return err
		}
		if err := agent.SaveToken(*stateDir, token); err != nil {
			return fmt.Errorf("save host token: %w", err)
		}
		log.Info("enrolled", "host", rep.Name())
		return client.Send(ctx, token, rep)
	}
	return fmt.Errorf("unknown command %q (collect, report)", args[0])
}
