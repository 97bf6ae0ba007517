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
	"github.com/patchwatch/patchwatch/internal/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var usage *usageError
	switch {
	case err == nil:
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "patchwatch-agent:", err)
		fmt.Fprintln(os.Stderr, "patchwatch-agent: see patchwatch-agent --help")
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "patchwatch-agent:", err)
		os.Exit(1)
	}
}

// usageError is a wrong command line: exit 2, with a hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const agentUsage = `usage: patchwatch-agent collect [flags]
       patchwatch-agent report --server URL [flags]
       patchwatch-agent --version

Commands:
  collect   print this machine's report (packages, release, kernel, checks) as JSON
  report    collect and send the report to the patchwatch API, enrolling first if needed

Examples:
  patchwatch-agent collect > web1.json
  patchwatch-agent report --server https://patchwatch.example.org --ca-file /etc/patchwatch-agent/ca.pem
  patchwatch-agent collect --root /mnt/image --kernel-release 5.15.0-91-generic

Run patchwatch-agent COMMAND --help for the flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"a command is needed: collect or report"}
	}
	switch args[0] {
	case "--version", "-version", "version":
		_, err := fmt.Fprintln(stdout, "patchwatch-agent", buildinfo.Read())
		return err
	case "-h", "-help", "--help", "help":
		_, err := io.WriteString(stdout, agentUsage)
		return err
	case "collect", "report":
	default:
		return &usageError{fmt.Sprintf("unknown command %q (collect, report)", args[0])}
	}
	fs := flag.NewFlagSet("patchwatch-agent "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
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
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "usage: patchwatch-agent %s [flags]\n\nFlags:\n", args[0])
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			fmt.Fprintf(stdout, "\n%s", agentUsage[strings.Index(agentUsage, "Examples:"):])
			return nil
		}
		return &usageError{err.Error()}
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
			return &usageError{"report needs --server"}
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
	return nil
}
