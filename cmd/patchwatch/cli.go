package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

// Exit codes, documented in README.md.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2
	ExitFindings = 3 // with --exit-code: outstanding findings exist
)

// ExitError carries a process exit code out of a subcommand.
type ExitError struct {
	Code int
	Err  error
	// Hint is a second line for usage errors: where to read the usage.
	Hint string
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Env is what a subcommand may touch of the outside world; tests inject it.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: level}))
}

// configLogger is the logger cfg asks for: its log_level, and text or
// JSON lines by log_format.
func (e *Env) configLogger(cfg config.Config) *slog.Logger {
	level, _ := cfg.SlogLevel()
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(e.Stderr, &slog.HandlerOptions{Level: level}))
	}
	return e.logger(level)
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"import", "import advisory files (USN OSV or legacy JSON, DSA/DLA lists; directories, .gz/.bz2/.xz, zip/tar)", runImport},
		{"host", "host import: record a host's inventory; host show NAME; host remove NAME", runHost},
		{"hosts", "list hosts with their outstanding counts", runHosts},
		{"outstanding", "list outstanding advisories per host", runOutstanding},
		{"advisory", "show one advisory and the hosts it affects", runAdvisory},
		{"silence", "silence add|list|remove: accepted-risk exceptions with a reason and an expiry", runSilence},
		{"report", "report time-to-patch: how long findings stayed open, by host, owner or urgency", runReport},
		{"token", "token create|list|revoke: API credentials (admin, owner, enroll)", runToken},
		{"digest", "render (or --send) the owner or admin digest", runDigest},
		{"notifications", "notifications list [--failed] | retry ID|--all: the outbox", runNotifications},
		{"notify", "notify test --channel email|slack: send a test message", runNotify},
		{"poll", "poll the advisory feeds (--once for one round)", runPoll},
		{"feeds", "each advisory source's freshness: last attempt, success, error, advisories, backfill", runFeeds},
		{"serve", "run the pollers and the HTTP API until stopped (--config FILE)", runServe},
		{"migrate", "migrate the database schema (bolt, or postgres under an advisory lock) and exit", runMigrate},
		{"migrate-store", "migrate-store --from bolt:PATH --to postgres:DSN: copy everything and verify counts", runMigrateStore},
		{"config", "config check FILE: validate a configuration and print it, secrets redacted", runConfig},
		{"version", "print the build: version, VCS revision, Go version (also --version)", runVersion},
		{"completion", "completion bash|zsh: print a shell completion script", runCompletion},
	}
}

// Run executes one patchwatch command line (without the program name).
func Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		printUsage(env.Stderr)
		return &ExitError{Code: ExitUsage}
	}
	switch {
	case args[0] == "--version" || args[0] == "-version":
		return runVersion(ctx, env, args[1:])
	case isHelp(args[0]) && len(args) == 1:
		printUsage(env.Stdout)
		return nil
	case isHelp(args[0]):
		return commandHelp(ctx, env, args[1:])
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		// A command with subcommands answers --help itself; a leaf's flag
		// set does.
		if len(args) > 1 && isHelp(args[1]) && len(helpTable()[c.name].subcommands) > 0 {
			printHelp(env.Stdout, c.name, nil)
			return nil
		}
		err := c.run(ctx, env, args[1:])
		var exit *ExitError
		if errors.As(err, &exit) && exit.Code == ExitUsage && exit.Err != nil && exit.Hint == "" {
			exit.Hint = "see patchwatch " + helpName(c.name, args[1:]) + " --help"
		}
		return err
	}
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf("unknown command %q", args[0]), Hint: "see patchwatch help"}
}

// helpName is the command or subcommand whose help a usage error points to.
func helpName(name string, args []string) string {
	if len(args) > 0 && slices.Contains(helpTable()[name].subcommands, args[0]) {
		return name + " " + args[0]
	}
	return name
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: patchwatch COMMAND [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command that reads the database takes --db PATH (default $PATCHWATCH_DB, else ./patchwatch.db).")
	fmt.Fprintln(w, "patchwatch help COMMAND, or patchwatch COMMAND --help, shows a command's flags and examples.")
}

// newFlags returns a flag set that reports errors instead of exiting and
// prints nothing itself: --help prints the command's help on stdout, a bad
// flag comes back as a one-line usage error.
func newFlags(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("patchwatch "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	h := &helpFlag{}
	h.print = func() { printHelp(env.Stdout, name, fs) }
	fs.Var(h, "help", "show this help")
	fs.Var(h, "h", "show this help")
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	// Allow flags after positional arguments, as users type them.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return flagError(fs, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			positional = append(positional, args[1:]...)
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if err := fs.Parse(append([]string{"--"}, positional...)); err != nil {
		return flagError(fs, err)
	}
	return nil
}

// flagError turns a parse error into an exit: 0 after printing the help
// when it was asked for, else a usage error.
func flagError(fs *flag.FlagSet, err error) error {
	if f := fs.Lookup("help"); f != nil {
		if h, ok := f.Value.(*helpFlag); ok && h.requested {
			h.print()
			return &ExitError{Code: ExitOK}
		}
	}
	if errors.Is(err, flag.ErrHelp) {
		return &ExitError{Code: ExitOK}
	}
	return &ExitError{Code: ExitUsage, Err: errors.New(strings.Replace(err.Error(), " -", " --", 1))}
}

func dbFlag(env *Env, fs *flag.FlagSet) *string {
	def := env.Getenv("PATCHWATCH_DB")
	if def == "" {
		def = "patchwatch.db"
	}
	return fs.String("db", def, "database `path` (default $PATCHWATCH_DB, else ./patchwatch.db)")
}

func formatFlag(fs *flag.FlagSet) *string {
	return fs.String("format", "table", "output format: table or json")
}

func checkFormat(f string) error {
	if f != "table" && f != "json" {
		return usageError("--format must be table or json, not %q", f)
	}
	return nil
}

func openStore(path string, readOnly bool) (*bolt.Store, error) {
	if readOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist yet: run patchwatch import and patchwatch host import first, or pass --db", path)
		}
	}
	s, err := bolt.Open(path, bolt.Options{ReadOnly: readOnly})
	if errors.Is(err, bolt.ErrLocked) {
		return nil, lockedError(path, readOnly)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// lockedError explains a database held by another process (bbolt lets
// one process at a time open it, even to read): most often patchwatch
// serve, whose API answers the same queries.
func lockedError(path string, readOnly bool) error {
	if readOnly {
		return fmt.Errorf("database %s is in use by another process (patchwatch serve or poll?): query the running server instead with --server URL --token-file FILE, or stop it first: %w", path, bolt.ErrLocked)
	}
	return fmt.Errorf("database %s is in use by another process (patchwatch serve or poll?): stop it first, or make the change through its API (commands with --server URL --token-file FILE): %w", path, bolt.ErrLocked)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// query is what every query command shares: its flags, output format,
// the database opened read-only, and the service over it.
type query struct {
	fs     *flag.FlagSet
	format string
	s      queryStore
	svc    *service.Service
	// remote is set in remote mode (--server); s and svc are then nil.
	remote *remote
}

// close releases the local database, if any.
func (q *query) close() {
	if q.s != nil {
		q.s.Close()
	}
}

// newService returns the service over s with the urgency rules of the
// config file at configPath (the defaults when it is empty).
func newService(env *Env, s service.Storage, configPath string) (*service.Service, error) {
	rules := config.Default().Urgency
	if configPath != "" {
		cfg, err := config.Load(configPath)
		if err != nil {
			return nil, err
		}
		rules = cfg.Urgency
	}
	return service.New(s, rules, env.Now), nil
}

// reevaluated opens the database writable to migrate it and run the full
// re-evaluation it asks for, then reopens it read-only for the query.
func reevaluated(env *Env, path, configPath, why string) (*bolt.Store, *service.Service, error) {
	fmt.Fprintf(env.Stderr, "patchwatch: evaluating every host once (%s)\n", why)
	s, err := openStore(path, false)
	if err != nil {
		return nil, nil, err
	}
	svc, err := newService(env, s, configPath)
	if err == nil {
		_, err = svc.ReevaluateIfPending(context.Background())
	}
	s.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("re-evaluate hosts: %w", err)
	}
	if s, err = openStore(path, true); err != nil {
		return nil, nil, err
	}
	if svc, err = newService(env, s, configPath); err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, svc, nil
}

// queryFlags parses the flags every query shares (--db, --format,
// --config) plus the ones add declares, and opens the database read-only.
func queryFlags(env *Env, name string, args []string, add func(*flag.FlagSet)) (*query, error) {
	fs := newFlags(env, name)
	db := dbFlag(env, fs)
	format := formatFlag(fs)
	configPath := fs.String("config", "", "YAML configuration `file` (urgency rules and deadlines)")
	serverURL := fs.String("server", "", "query the patchwatch API at this `URL` instead of a local database")
	token := fs.String("token", "", "API token for --server (or --token-file, or $PATCHWATCH_TOKEN)")
	tokenFile := fs.String("token-file", "", "`file` holding the API token for --server")
	caFile := fs.String("ca-file", "", "PEM `file` of a CA to trust for --server")
	if add != nil {
		add(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := checkFormat(*format); err != nil {
		return nil, err
	}
	if *serverURL != "" {
		r, err := newRemote(env, *serverURL, *token, *tokenFile, *caFile)
		if err != nil {
			return nil, err
		}
		return &query{fs: fs, format: *format, remote: r}, nil
	}
	if q, err := postgresQuery(env, fs, *format, *configPath); q != nil || err != nil {
		return q, err
	}
	s, err := openStore(*db, true)
	if err != nil {
		return nil, err
	}
	svc, err := newService(env, s, *configPath)
	if err != nil {
		s.Close()
		return nil, err
	}
	if why, err := s.EvaluationPending(context.Background()); err == nil && why != "" {
		// Once after an upgrade: migrate and store every host's findings,
		// which the queries read.
		s.Close()
		if s, svc, err = reevaluated(env, *db, *configPath, why); err != nil {
			return nil, err
		}
	}
	return &query{fs: fs, format: *format, s: s, svc: svc}, nil
}
