package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch/inventory"
)

// helpEntry documents one command or subcommand; the flags come from the
// command's own flag set.
type helpEntry struct {
	// usage lines, without "usage: ".
	usage []string
	// about is a paragraph after the usage lines.
	about    string
	examples []string
	// subcommands, in the order they are shown; each has its own entry
	// under "command sub".
	subcommands []string
}

// helpTable holds every command's and subcommand's help, by name as typed
// ("host import"). A command missing here still gets its summary and flags.
func helpTable() map[string]helpEntry {
	return map[string]helpEntry{
		"import": {
			usage: []string{"patchwatch import [--db PATH] [--quiet|--verbose] PATH..."},
			about: "Import advisory files: Ubuntu USN (OSV or legacy JSON), Debian DSA/DLA lists, Red Hat CSAF, OSV, the KEV catalog and the Debian tracker JSON; directories, .gz/.bz2/.xz/.zst files and zip/tar archives are walked. Prints one summary; --verbose prints each record.",
			examples: []string{
				"patchwatch import ubuntu-security-notices/osv/usn/",
				"patchwatch import security-tracker/data/DSA/list csaf_advisories_2025-02-15.tar.zst",
				"patchwatch import --verbose samples/usn",
			},
		},
		"host": {
			usage:       []string{"patchwatch host import|show|remove ..."},
			about:       "Record, show and remove hosts.",
			subcommands: []string{"import", "show", "remove"},
			examples:    []string{"patchwatch host import --name web1 --owner alice@example.org --os-release os-release packages.tsv", "patchwatch host show web1"},
		},
		"host import": {
			usage: []string{
				"patchwatch host import --name NAME [--owner EMAIL] --os-release FILE [--kernel-release STR] PACKAGES_FILE",
				"patchwatch host import --report FILE [--name NAME] [--owner EMAIL]",
			},
			about: "Record a host's inventory and evaluate it.\nPACKAGES_FILE: /var/lib/dpkg/status, or dpkg-query -W -f='${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${Architecture}\\n'\n  (plain dpkg-query -W, dpkg -l and image .manifest files work too, without source package names;\n  so do image SBOMs: CycloneDX, SPDX or syft JSON, which may stand in for --os-release, and Red Hat catalog rpm manifests)\n  on the RHEL family: " + inventory.RecommendedRPMQuery + " (plain rpm -qa works too, without epochs)",
			examples: []string{
				"patchwatch host import --name web1 --owner alice@example.org --os-release os-release --kernel-release \"$(uname -r)\" packages.tsv",
				"patchwatch host import --report web1.json",
			},
		},
		"host show": {
			usage:    []string{"patchwatch host show NAME [--format table|json] [--server URL --token-file FILE]"},
			about:    "Show one host: its release, kernel, outstanding advisories and security-guideline checks.",
			examples: []string{"patchwatch host show web1", "patchwatch host show web1 --format json"},
		},
		"host remove": {
			usage:    []string{"patchwatch host remove NAME"},
			about:    "Forget a host, its findings and its tokens.",
			examples: []string{"patchwatch host remove old-vm", "patchwatch host remove old-vm --config /etc/patchwatch/patchwatch.yaml   # store: postgres"},
		},
		"hosts": {
			usage:    []string{"patchwatch hosts [--owner EMAIL] [--reboot-required] [--checks] [--format table|json]"},
			about:    "List hosts with their outstanding, overdue and reboot counts.",
			examples: []string{"patchwatch hosts", "patchwatch hosts --reboot-required", "patchwatch hosts --checks --format json"},
		},
		"outstanding": {
			usage:    []string{"patchwatch outstanding [--host NAME] [--min-severity LEVEL] [--exit-code] [--format table|json]"},
			about:    "List outstanding advisories per host. With --exit-code, exits 3 when any are outstanding (for scripts and cron).",
			examples: []string{"patchwatch outstanding --host web1", "patchwatch outstanding --format json", "patchwatch outstanding --server https://patchwatch.example.org --token-file alice.token"},
		},
		"advisory": {
			usage:    []string{"patchwatch advisory ID [--format table|json]"},
			about:    "Show one advisory, its fixes and the hosts it affects.",
			examples: []string{"patchwatch advisory USN-6000-1", "patchwatch advisory RHSA-2024:0010 --format json"},
		},
		"silence": {
			usage:       []string{"patchwatch silence add|list|remove ..."},
			about:       "Accepted-risk exceptions with a reason and an expiry, and disabled checks.",
			subcommands: []string{"add", "list", "remove"},
			examples:    []string{"patchwatch silence add --cve CVE-2024-1234 --host web1 --reason \"service not exposed\" --expires 30d", "patchwatch silence list"},
		},
		"silence add": {
			usage: []string{"patchwatch silence add --advisory ID|--cve CVE|--package NAME|--check ID [--host NAME|--owner EMAIL] --reason TEXT --expires DURATION"},
			about: "Silence an advisory, CVE or package, or disable a check, on a host, an owner's hosts or everywhere.",
			examples: []string{
				"patchwatch silence add --cve CVE-2024-1234 --host web1 --reason \"service not exposed\" --expires 30d",
				"patchwatch silence add --check no-mail-server --host lists1 --reason \"the project's list server\" --expires 180d",
			},
		},
		"silence list": {
			usage:    []string{"patchwatch silence list [--all] [--format table|json]"},
			examples: []string{"patchwatch silence list", "patchwatch silence list --all --format json"},
		},
		"silence remove": {
			usage:    []string{"patchwatch silence remove ID"},
			examples: []string{"patchwatch silence remove sil-1a2b3c"},
		},
		"report": {
			usage:       []string{"patchwatch report time-to-patch [--by host|owner|urgency]"},
			subcommands: []string{"time-to-patch"},
			examples:    []string{"patchwatch report time-to-patch --by owner"},
		},
		"report time-to-patch": {
			usage:    []string{"patchwatch report time-to-patch [--by host|owner|urgency] [--format table|json]"},
			about:    "How long findings stayed open (first seen to resolved), with the median and 90th percentile in days.",
			examples: []string{"patchwatch report time-to-patch --by owner", "patchwatch report time-to-patch --format json"},
		},
		"token": {
			usage:       []string{"patchwatch token create|list|revoke ..."},
			about:       "API credentials: admin, owner and enroll tokens (host tokens come from enrollment).",
			subcommands: []string{"create", "list", "revoke"},
			examples:    []string{"patchwatch token create --kind admin > admin.token"},
		},
		"token create": {
			usage: []string{"patchwatch token create --kind admin|owner|enroll [--owner EMAIL] [--project NAME] [--expires DURATION]"},
			about: "Create a token; its secret is printed once.",
			examples: []string{
				"patchwatch token create --kind admin > admin.token",
				"patchwatch token create --kind enroll --owner alice@example.org --project research --expires 720h",
				"patchwatch token create --kind admin --config /etc/patchwatch/patchwatch.yaml   # store: postgres, beside the running serve",
			},
		},
		"token list":   {usage: []string{"patchwatch token list [--format table|json]"}, examples: []string{"patchwatch token list"}},
		"token revoke": {usage: []string{"patchwatch token revoke ID"}, examples: []string{"patchwatch token revoke tok-0123456789ab"}},
		"digest": {
			usage:    []string{"patchwatch digest --owner EMAIL|--admin [--dry-run|--send] [--html FILE]"},
			about:    "Render, or send, the owner or admin digest.",
			examples: []string{"patchwatch digest --admin --dry-run", "patchwatch digest --owner alice@example.org --html digest.html", "patchwatch digest --admin --send"},
		},
		"notifications": {
			usage:       []string{"patchwatch notifications list [--failed] | retry ID|--all"},
			about:       "The outbox of notifications.",
			subcommands: []string{"list", "retry"},
			examples:    []string{"patchwatch notifications list --failed", "patchwatch notifications retry --all"},
		},
		"notifications list":  {usage: []string{"patchwatch notifications list [--failed] [--format table|json]"}, examples: []string{"patchwatch notifications list --failed"}},
		"notifications retry": {usage: []string{"patchwatch notifications retry ID|--all"}, examples: []string{"patchwatch notifications retry --all"}},
		"notify": {
			usage:       []string{"patchwatch notify test --channel email|slack [--to TARGET]"},
			subcommands: []string{"test"},
			examples:    []string{"patchwatch notify test --channel slack --config patchwatch.yaml"},
		},
		"notify test": {
			usage:    []string{"patchwatch notify test --channel email|slack [--to TARGET] [--config FILE]"},
			about:    "Send a test message to check the SMTP relay or the Slack workspace.",
			examples: []string{"patchwatch notify test --channel email --to ops@example.org --config patchwatch.yaml"},
		},
		"poll": {
			usage:    []string{"patchwatch poll [--once] [--config FILE]"},
			about:    "Poll the advisory feeds, every poll_interval, or once with --once. See patchwatch feeds for each source's freshness.",
			examples: []string{"patchwatch poll --once", "patchwatch poll --config patchwatch.yaml"},
		},
		"feeds": {
			usage:    []string{"patchwatch feeds [--format table|json] [--server URL --token-file FILE]"},
			about:    "Each advisory source's freshness: last attempt, last success, last error, advisories stored, the newest advisory's publication, backfill state. A feed without a successful round for more than 6 hours is STALE.",
			examples: []string{"patchwatch feeds", "patchwatch feeds --format json", "patchwatch feeds --server https://patchwatch.example.org --token-file admin.token"},
		},
		"serve": {
			usage:    []string{"patchwatch serve [--config FILE]"},
			about:    "Run the pollers, the notifier and the HTTP API until SIGTERM or SIGINT.",
			examples: []string{"patchwatch serve --config /etc/patchwatch/patchwatch.yaml"},
		},
		"migrate": {
			usage:    []string{"patchwatch migrate [--db PATH] [--config FILE]"},
			about:    "Bring the database schema up to this build and exit. With store.driver postgres, the migrations embedded in the binary run under a PostgreSQL advisory lock, so replicas starting together migrate once; serve also migrates on start.",
			examples: []string{"patchwatch migrate --config /etc/patchwatch/patchwatch.yaml"},
		},
		"migrate-store": {
			usage:    []string{"patchwatch migrate-store --from bolt:PATH --to postgres:DSN"},
			about:    "Copy a bbolt database into an empty PostgreSQL database in one transaction: advisories, hosts, findings with their history, read models, tokens and enrollments, silences, notification events and outbox, cursors, KEV, urgencies, feed status. Every table's count is verified after the commit. With --to postgres: alone the DSN is read from $PATCHWATCH_POSTGRES_DSN (keeps the password out of the process list). Stop serve first: the source is opened read-only.",
			examples: []string{"patchwatch migrate-store --from bolt:/var/lib/patchwatch/patchwatch.db --to postgres:   # DSN in $PATCHWATCH_POSTGRES_DSN"},
		},
		"config": {
			usage:       []string{"patchwatch config check FILE"},
			subcommands: []string{"check"},
			examples:    []string{"patchwatch config check /etc/patchwatch/patchwatch.yaml"},
		},
		"config check": {
			usage:    []string{"patchwatch config check FILE"},
			about:    "Validate a configuration file and print the effective configuration (defaults filled in, $PATCHWATCH_DB and $PATCHWATCH_LISTEN applied where the file is silent), secrets redacted. Exits 1 when the file is invalid.",
			examples: []string{"patchwatch config check patchwatch.yaml"},
		},
		"version": {
			usage:    []string{"patchwatch version [--format table|json]", "patchwatch --version"},
			about:    "Print the build: module version, VCS revision and time, Go version.",
			examples: []string{"patchwatch version", "patchwatch --version"},
		},
		"completion": {
			usage:    []string{"patchwatch completion bash|zsh"},
			about:    "Print a shell completion script.",
			examples: []string{"source <(patchwatch completion bash)", "patchwatch completion zsh > \"${fpath[1]}/_patchwatch\""},
		},
	}
}

// helpWords are the arguments that ask for help in any position a
// subcommand could take.
var helpWords = []string{"-h", "-help", "--help", "help"}

func isHelp(arg string) bool { return slices.Contains(helpWords, arg) }

// helpFlag is the -h/--help flag of every flag set: setting it records the
// request, and parseFlags prints the help on stdout and exits 0.
type helpFlag struct {
	requested bool
	print     func()
}

func (h *helpFlag) String() string   { return "false" }
func (h *helpFlag) IsBoolFlag() bool { return true }
func (h *helpFlag) Set(string) error {
	h.requested = true
	return errHelpRequested
}

var errHelpRequested = fmt.Errorf("help requested")

// printHelp writes a command's help: usage, summary, subcommands, flags
// (each default printed once), examples.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	entry, known := helpTable()[name]
	summary := commandSummary(name)
	if len(entry.usage) == 0 {
		entry.usage = []string{"patchwatch " + name + " [flags]"}
	}
	for i, u := range entry.usage {
		prefix := "usage: "
		if i > 0 {
			prefix = "       "
		}
		fmt.Fprintln(w, prefix+u)
	}
	if entry.about != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, entry.about)
	} else if summary != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, summary)
	}
	if len(entry.subcommands) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Commands:")
		for _, sub := range entry.subcommands {
			about := helpTable()[name+" "+sub].about
			if about == "" && len(helpTable()[name+" "+sub].usage) > 0 {
				about = helpTable()[name+" "+sub].usage[0]
			}
			fmt.Fprintf(w, "  %-14s %s\n", sub, firstSentence(about))
		}
		fmt.Fprintf(w, "\nRun patchwatch %s COMMAND --help for a command's flags.\n", name)
	}
	if fs != nil {
		printFlags(w, fs)
	}
	if len(entry.examples) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Examples:")
		for _, e := range entry.examples {
			fmt.Fprintln(w, "  "+e)
		}
	}
	_ = known
}

// printFlags lists a flag set's flags with two dashes, as users type them;
// a default already stated in the flag's usage is not repeated.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var b bytes.Buffer
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(*helpFlag); ok {
			return
		}
		argName, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if argName != "" {
			fmt.Fprintf(&b, " %s", argName)
		}
		fmt.Fprintf(&b, "\n        %s", strings.ReplaceAll(usage, "\n", "\n        "))
		if !strings.Contains(usage, "(default") && f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(&b, " (default %q)", f.DefValue)
		}
		b.WriteString("\n")
	})
	if b.Len() > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Flags:")
		w.Write(b.Bytes())
	}
}

func firstSentence(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

// commandSummary is the one-line summary of the command table, for a
// top-level command.
func commandSummary(name string) string {
	for _, c := range commands() {
		if c.name == name {
			return c.summary
		}
	}
	return ""
}

// commandHelp answers `patchwatch help NAME [SUB]` and `NAME --help` for
// commands with subcommands (whose own flag sets belong to the subcommands).
func commandHelp(ctx context.Context, env *Env, args []string) error {
	name := strings.Join(args, " ")
	if _, ok := helpTable()[name]; !ok && commandSummary(args[0]) == "" {
		return usageError("unknown command %q (see patchwatch help)", name)
	}
	if entry := helpTable()[name]; len(entry.subcommands) > 0 || len(args) > 2 {
		printHelp(env.Stdout, name, nil)
		return nil
	}
	// A leaf: its flag set prints the help, flags included.
	return Run(ctx, env, append(args, "--help"))
}
