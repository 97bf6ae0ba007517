// Package config loads patchwatch's YAML configuration: documented
// defaults, strict decoding (an unknown key is an error) and validation
// whose errors name the key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/patchwatch/patchwatch"
)

// Config is the whole configuration of a patchwatch process.
type Config struct {
	// DB is the bbolt database path.
	DB string `yaml:"db"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text (logfmt-style key=value lines) or json (one JSON
	// object a line, for log collectors).
	LogFormat string `yaml:"log_format"`
	// PollInterval is the pause between two poll rounds of `serve`.
	PollInterval time.Duration `yaml:"poll_interval"`
	HTTP         HTTP          `yaml:"http"`
	Feeds        Feeds         `yaml:"feeds"`
	// Urgency tunes the rules of docs/urgency.md.
	Urgency patchwatch.UrgencyRules `yaml:"urgency"`
	Server  Server                  `yaml:"server"`
	Notify  Notify                  `yaml:"notify"`
	// Store selects bbolt (default) or PostgreSQL (config/store.go).
	Store Store `yaml:"store"`
}

// Notify configures who is told what, and through which relay or workspace.
type Notify struct {
	Enabled bool `yaml:"enabled"`
	// MinUrgency triggers an immediate message; GroupWait groups an
	// owner's events into one.
	MinUrgency patchwatch.Urgency `yaml:"min_urgency"`
	GroupWait  time.Duration      `yaml:"group_wait"`
	// Reminders per urgency while a finding stays open; 0 sends none.
	Reminders map[string]time.Duration `yaml:"reminders"`
	// NotifyResolved also tells owners when findings are resolved.
	NotifyResolved bool `yaml:"notify_resolved"`
	// OwnerDigest and AdminDigest: daily, weekly or off; at DigestHour UTC.
	OwnerDigest string `yaml:"owner_digest"`
	AdminDigest string `yaml:"admin_digest"`
	DigestHour  int    `yaml:"digest_hour"`
	// Interval is how often the notifier runs and the outbox is worked.
	Interval time.Duration `yaml:"interval"`
	// MaxAttempts ends retries; RatePerMinute limits each channel.
	MaxAttempts   int `yaml:"max_attempts"`
	RatePerMinute int `yaml:"rate_per_minute"`
	// ClaimLease is how long a replica's claim on a delivery lasts on
	// PostgreSQL: a delivery claimed by a replica that died goes out
	// from another after it. It must outlast the longest send.
	ClaimLease time.Duration      `yaml:"claim_lease"`
	Admins     Contact            `yaml:"admins"`
	Owners     map[string]Contact `yaml:"owners"`
	// Projects maps a project to a Slack channel.
	Projects  map[string]string `yaml:"projects"`
	Templates map[string]string `yaml:"templates"`
	Email     Email             `yaml:"email"`
	Slack     Slack             `yaml:"slack"`
	// ConsoleURL is the web console's address as owners reach it
	// (https://patchwatch.example.org); alerts link to each host's page.
	ConsoleURL string `yaml:"console_url"`
	// ConsoleLoginLinks puts a one-time sign-in link in owner alerts,
	// exchanged for a console session on the owner's newest owner token.
	ConsoleLoginLinks bool `yaml:"console_login_links"`
}

// Contact is where an owner or the admins are reached.
type Contact struct {
	Email          string `yaml:"email"`
	SlackUserEmail string `yaml:"slack_user_email"`
	SlackChannel   string `yaml:"slack_channel"`
}

// Email is the SMTP relay; leaving Host empty disables email.
type Email struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is starttls (required, the default), implicit, or none (loopback only).
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	// PasswordFile holds the password; $PATCHWATCH_SMTP_PASSWORD also works.
	PasswordFile string `yaml:"password_file"`
	From         string `yaml:"from"`
	// CAFile adds a CA to trust for the relay's certificate.
	CAFile string `yaml:"ca_file"`
}

// Slack holds the workspace credentials, from files or the environment
// ($PATCHWATCH_SLACK_WEBHOOK_URL, $PATCHWATCH_SLACK_BOT_TOKEN).
type Slack struct {
	WebhookURLFile string `yaml:"webhook_url_file"`
	BotTokenFile   string `yaml:"bot_token_file"`
	// APIURL replaces https://slack.com/api/ (tests, proxies).
	APIURL string `yaml:"api_url"`
}

// Secret reads a secret from a file, or from the environment variable
// when no file is named; it is trimmed of surrounding blanks.
func Secret(file, env string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(env)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Server configures the HTTP API of `patchwatch serve`.
type Server struct {
	// Listen is the address to serve on; empty disables the API.
	Listen string `yaml:"listen"`
	// TLSCertFile and TLSKeyFile enable HTTPS when both are set.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// MaxBodyBytes bounds a request body after decompression.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ReportInterval and ReportBurst rate-limit each host's reports.
	ReportInterval time.Duration `yaml:"report_interval"`
	ReportBurst    int           `yaml:"report_burst"`
	// StaleAfter flags hosts that have not reported for this long.
	StaleAfter time.Duration `yaml:"stale_after"`
	// ShutdownTimeout bounds the wait for requests in flight at SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxBodiesInFlight and MaxBodyBytesInFlight bound the request bodies
	// read at once and the bytes buffered for them (503 with Retry-After
	// beyond); UnauthenticatedTimeout cuts a body still arriving on a
	// request without a valid token (docs/security.md).
	MaxBodiesInFlight      int64         `yaml:"max_bodies_in_flight"`
	MaxBodyBytesInFlight   int64         `yaml:"max_body_bytes_in_flight"`
	UnauthenticatedTimeout time.Duration `yaml:"unauthenticated_timeout"`
}

// HTTP tunes every feed request.
type HTTP struct {
	// Timeout is an idle timeout (the longest wait for the headers or for
	// any read of the body), not a bound on the whole transfer: a bulk
	// archive on a slow link still completes.
	Timeout  time.Duration `yaml:"timeout"`
	MaxBytes int64         `yaml:"max_bytes"`
	Attempts int           `yaml:"attempts"`
	Backoff  time.Duration `yaml:"backoff"`
}

// Feeds configures each advisory source.
type Feeds struct {
	USN       USN     `yaml:"usn"`
	Debian    Debian  `yaml:"debian"`
	KEV       KEV     `yaml:"kev"`
	RHSA      RHSA    `yaml:"rhsa"`
	AlmaLinux Rebuild `yaml:"almalinux"`
	Rocky     Rebuild `yaml:"rocky"`
}

// RHSA locates Red Hat's CSAF advisories: RHSA documents, and RHBA/RHEA
// documents that fix a CVE, listed by changes.csv and index.txt under
// BaseURL, with the withdrawals deletions.csv lists there.
type RHSA struct {
	Enabled bool   `yaml:"enabled"`
	BaseURL string `yaml:"base_url"`
	// Backfill is "archive" (the .tar.zst archive_latest.txt names) or
	// "index" (every document index.txt lists).
	Backfill        string `yaml:"backfill"`
	ArchiveMaxBytes int64  `yaml:"archive_max_bytes"`
	Concurrency     int    `yaml:"concurrency"`
}

// Rebuild locates an OSV archive of a RHEL rebuild's own advisories.
type Rebuild struct {
	Enabled  bool   `yaml:"enabled"`
	URL      string `yaml:"url"`
	MaxBytes int64  `yaml:"max_bytes"`
}

// Debian locates the Debian sources: the DSA RDF feed as the trigger, the
// security tracker's list files for the fix data, and its JSON export for
// per-CVE urgencies.
type Debian struct {
	Enabled    bool   `yaml:"enabled"`
	RDFURL     string `yaml:"rdf_url"`
	DSAListURL string `yaml:"dsa_list_url"`
	// DLAListURL and TrackerURL may be "-" to disable them.
	DLAListURL      string `yaml:"dla_list_url"`
	TrackerURL      string `yaml:"tracker_url"`
	TrackerMaxBytes int64  `yaml:"tracker_max_bytes"`
}

// KEV locates CISA's Known Exploited Vulnerabilities catalog.
type KEV struct {
	Enabled bool `yaml:"enabled"`
	// URLs are tried in order until one answers (CISA's server often
	// answers 403 to cloud addresses; cisagov's GitHub copy follows).
	URLs []string `yaml:"urls"`
	// URL, when set, replaces URLs with itself (configurations written
	// before the list).
	URL string `yaml:"url"`
}

// Sources returns the URLs to try, in order.
func (k KEV) Sources() []string {
	if k.URL != "" {
		return []string{k.URL}
	}
	return k.URLs
}

// USN locates the Ubuntu sources.
type USN struct {
	Enabled bool   `yaml:"enabled"`
	FeedURL string `yaml:"feed_url"`
	// RecordURL is a template; {id} becomes the notice ID (USN-1234-1).
	RecordURL string `yaml:"record_url"`
	// BackfillURL is read once on the first poll; "-" disables the backfill.
	BackfillURL      string `yaml:"backfill_url"`
	BackfillMaxBytes int64  `yaml:"backfill_max_bytes"`
	// ResyncInterval is how often the backfill archive is asked for again
	// (conditionally) to pick up modified notices; 0 disables the resync.
	ResyncInterval time.Duration `yaml:"resync_interval"`
	// MaxProbes bounds the notice numbers asked for by record URL in one
	// round (the holes behind the feed's window of ten).
	MaxProbes int `yaml:"max_probes"`
}

// Default returns the configuration used when no file is given.
func Default() Config {
	return Config{
		Store:   Store{Driver: DriverBolt},
		Urgency: patchwatch.DefaultUrgencyRules(),
		Notify: Notify{
			MinUrgency:    patchwatch.UrgencyHigh,
			GroupWait:     5 * time.Minute,
			Reminders:     map[string]time.Duration{"critical": 24 * time.Hour, "high": 72 * time.Hour, "medium": 0, "low": 0},
			OwnerDigest:   "weekly",
			AdminDigest:   "daily",
			DigestHour:    7,
			Interval:      30 * time.Second,
			MaxAttempts:   10,
			RatePerMinute: 60,
			ClaimLease:    5 * time.Minute,
			Email:         Email{Port: 587, TLS: "starttls"},
		},
		Server: Server{
			Listen:          "127.0.0.1:8080",
			MaxBodyBytes:    32 << 20,
			ReportInterval:  time.Minute,
			ReportBurst:     5,
			StaleAfter:      48 * time.Hour,
			ShutdownTimeout: 30 * time.Second,
			// Four bodies read to the default body limit (their doubling
			// buffers counted) fit the byte budget; ordinary reports, hundreds.
			MaxBodiesInFlight:      32,
			MaxBodyBytesInFlight:   256 << 20,
			UnauthenticatedTimeout: 10 * time.Second,
		},
		DB:           "patchwatch.db",
		LogLevel:     "info",
		LogFormat:    "text",
		PollInterval: time.Hour,
		HTTP: HTTP{
			Timeout:  60 * time.Second,
			MaxBytes: 64 << 20,
			Attempts: 4,
			Backoff:  2 * time.Second,
		},
		Feeds: Feeds{
			USN: USN{
				Enabled:          true,
				FeedURL:          "https://ubuntu.com/security/notices/rss.xml",
				RecordURL:        "https://raw.githubusercontent.com/canonical/ubuntu-security-notices/main/osv/usn/{id}.json",
				BackfillURL:      "https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip",
				BackfillMaxBytes: 2 << 30,
				ResyncInterval:   24 * time.Hour,
				MaxProbes:        5000,
			},
			Debian: Debian{
				Enabled:         true,
				RDFURL:          "https://www.debian.org/security/dsa-long.rdf",
				DSAListURL:      "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DSA/list",
				DLAListURL:      "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DLA/list",
				TrackerURL:      "https://security-tracker.debian.org/tracker/data/json",
				TrackerMaxBytes: 512 << 20,
			},
			KEV: KEV{
				Enabled: true,
				URLs: []string{
					"https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
					"https://raw.githubusercontent.com/cisagov/kev-data/main/known_exploited_vulnerabilities.json",
				},
			},
			RHSA: RHSA{
				Enabled:         true,
				BaseURL:         "https://security.access.redhat.com/data/csaf/v2/advisories/",
				Backfill:        "archive",
				ArchiveMaxBytes: 4 << 30,
				Concurrency:     4,
			},
			AlmaLinux: Rebuild{Enabled: true, URL: "https://osv-vulnerabilities.storage.googleapis.com/AlmaLinux/all.zip", MaxBytes: 1 << 30},
			Rocky:     Rebuild{Enabled: true, URL: "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip", MaxBytes: 1 << 30},
		},
	}
}

// Environment variables that stand in for a key the file leaves unset (or
// for the default when there is no file): containers and units set them.
const (
	EnvDB     = "PATCHWATCH_DB"     // db
	EnvListen = "PATCHWATCH_LISTEN" // server.listen
)

// DefaultEnv returns the defaults with $PATCHWATCH_DB and
// $PATCHWATCH_LISTEN applied; getenv nil means none.
func DefaultEnv(getenv func(string) string) Config {
	cfg := Default()
	if getenv == nil {
		return cfg
	}
	if v := getenv(EnvDB); v != "" {
		cfg.DB = v
	}
	if v := getenv(EnvListen); v != "" {
		cfg.Server.Listen = v
	}
	return cfg
}

// Load reads a YAML file over the defaults.
func Load(path string) (Config, error) {
	return LoadEnv(path, nil)
}

// LoadEnv reads a YAML file over DefaultEnv(getenv): a key the file sets
// wins over the environment, the environment over the default.
func LoadEnv(path string, getenv func(string) string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	cfg, err := ParseEnv(f, getenv)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes YAML over the defaults, refusing unknown keys, and validates.
func Parse(r io.Reader) (Config, error) {
	return ParseEnv(r, nil)
}

// ParseEnv is Parse over DefaultEnv(getenv).
func ParseEnv(r io.Reader, getenv func(string) string) (Config, error) {
	cfg := DefaultEnv(getenv)
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return Config{}, err
	}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, err
		}
	}
	return cfg, cfg.Validate()
}

// Validate checks every value and names the key of the first bad one.
func (c *Config) Validate() error {
	var errs []error
	if c.DB == "" {
		errs = append(errs, errors.New("db: must not be empty"))
	}
	errs = append(errs, c.Urgency.Validate())
	errs = append(errs, c.Store.validate())
	if n := c.Notify; n.Enabled {
		if n.GroupWait <= 0 || n.Interval <= 0 || n.MaxAttempts < 1 || n.RatePerMinute < 1 {
			errs = append(errs, errors.New("notify.group_wait, interval, max_attempts, rate_per_minute: must be positive"))
		}
		if n.ClaimLease < time.Second {
			errs = append(errs, errors.New("notify.claim_lease: must be at least 1s"))
		}
		for key, v := range map[string]string{"notify.owner_digest": n.OwnerDigest, "notify.admin_digest": n.AdminDigest} {
			if v != "daily" && v != "weekly" && v != "off" && v != "" {
				errs = append(errs, fmt.Errorf("%s: %q is not daily, weekly or off", key, v))
			}
		}
		if n.DigestHour < 0 || n.DigestHour > 23 {
			errs = append(errs, errors.New("notify.digest_hour: must be 0 to 23"))
		}
		for name := range n.Reminders {
			if _, err := patchwatch.ParseUrgency(name); err != nil {
				errs = append(errs, fmt.Errorf("notify.reminders.%s: %w", name, err))
			}
		}
		if n.Email.Host == "" && n.Slack.WebhookURLFile == "" && n.Slack.BotTokenFile == "" &&
			os.Getenv("PATCHWATCH_SLACK_WEBHOOK_URL") == "" && os.Getenv("PATCHWATCH_SLACK_BOT_TOKEN") == "" {
			errs = append(errs, errors.New("notify: enabled, but neither notify.email.host nor a Slack webhook or bot token is set"))
		}
		if n.Email.Host != "" {
			if n.Email.From == "" {
				errs = append(errs, errors.New("notify.email.from: required with notify.email.host"))
			}
			if n.Email.TLS != "starttls" && n.Email.TLS != "implicit" && n.Email.TLS != "none" {
				errs = append(errs, fmt.Errorf("notify.email.tls: %q is not starttls, implicit or none", n.Email.TLS))
			}
		}
		for key, path := range map[string]string{"notify.email.password_file": n.Email.PasswordFile, "notify.email.ca_file": n.Email.CAFile,
			"notify.slack.webhook_url_file": n.Slack.WebhookURLFile, "notify.slack.bot_token_file": n.Slack.BotTokenFile} {
			if path != "" {
				if _, err := os.Stat(path); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", key, err))
				}
			}
		}
	}
	if u := c.Notify.ConsoleURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			errs = append(errs, fmt.Errorf("notify.console_url: %q is not an http or https URL", u))
		}
	}
	if c.Notify.ConsoleLoginLinks && c.Notify.ConsoleURL == "" {
		errs = append(errs, errors.New("notify.console_login_links: needs notify.console_url"))
	}
	if sv := c.Server; sv.Listen != "" {
		if (sv.TLSCertFile == "") != (sv.TLSKeyFile == "") {
			errs = append(errs, errors.New("server.tls_cert_file, server.tls_key_file: set both or neither"))
		}
		for key, path := range map[string]string{"server.tls_cert_file": sv.TLSCertFile, "server.tls_key_file": sv.TLSKeyFile} {
			if path != "" {
				if _, err := os.Stat(path); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", key, err))
				}
			}
		}
		if sv.MaxBodyBytes <= 0 || sv.ReportInterval <= 0 || sv.ReportBurst <= 0 || sv.StaleAfter <= 0 || sv.ShutdownTimeout <= 0 {
			errs = append(errs, errors.New("server.max_body_bytes, report_interval, report_burst, stale_after, shutdown_timeout: must be positive"))
		}
		if sv.MaxBodiesInFlight <= 0 || sv.UnauthenticatedTimeout <= 0 {
			errs = append(errs, errors.New("server.max_bodies_in_flight, unauthenticated_timeout: must be positive"))
		}
		if sv.MaxBodyBytesInFlight < sv.MaxBodyBytes {
			errs = append(errs, fmt.Errorf("server.max_body_bytes_in_flight: %d is less than max_body_bytes (%d): no body at its limit would fit", sv.MaxBodyBytesInFlight, sv.MaxBodyBytes))
		}
	}
	if _, err := c.SlogLevel(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log_format: %q is not text or json", c.LogFormat))
	}
	if c.PollInterval < time.Minute {
		errs = append(errs, fmt.Errorf("poll_interval: %v is shorter than 1m; be kind to the sources", c.PollInterval))
	}
	if c.HTTP.Timeout <= 0 {
		errs = append(errs, errors.New("http.timeout: must be positive"))
	}
	if c.HTTP.MaxBytes <= 0 {
		errs = append(errs, errors.New("http.max_bytes: must be positive"))
	}
	if c.HTTP.Attempts < 1 {
		errs = append(errs, errors.New("http.attempts: must be at least 1"))
	}
	if c.HTTP.Backoff < 0 {
		errs = append(errs, errors.New("http.backoff: must not be negative"))
	}
	if c.Feeds.USN.Enabled {
		errs = append(errs, checkURL("feeds.usn.feed_url", c.Feeds.USN.FeedURL))
		if !strings.Contains(c.Feeds.USN.RecordURL, "{id}") {
			errs = append(errs, errors.New("feeds.usn.record_url: must contain {id}"))
		} else {
			errs = append(errs, checkURL("feeds.usn.record_url", strings.ReplaceAll(c.Feeds.USN.RecordURL, "{id}", "USN-1-1")))
		}
		if c.Feeds.USN.BackfillURL != "-" {
			errs = append(errs, checkURL("feeds.usn.backfill_url", c.Feeds.USN.BackfillURL))
		}
		if c.Feeds.USN.ResyncInterval < 0 || (c.Feeds.USN.ResyncInterval > 0 && c.Feeds.USN.ResyncInterval < time.Hour) {
			errs = append(errs, fmt.Errorf("feeds.usn.resync_interval: %v: 0 (off) or at least 1h", c.Feeds.USN.ResyncInterval))
		}
		if c.Feeds.USN.MaxProbes < 1 {
			errs = append(errs, errors.New("feeds.usn.max_probes: must be at least 1"))
		}
	}
	if d := c.Feeds.Debian; d.Enabled {
		errs = append(errs, checkURL("feeds.debian.rdf_url", d.RDFURL), checkURL("feeds.debian.dsa_list_url", d.DSAListURL))
		if d.DLAListURL != "-" {
			errs = append(errs, checkURL("feeds.debian.dla_list_url", d.DLAListURL))
		}
		if d.TrackerURL != "-" {
			errs = append(errs, checkURL("feeds.debian.tracker_url", d.TrackerURL))
		}
		if d.TrackerMaxBytes <= 0 {
			errs = append(errs, errors.New("feeds.debian.tracker_max_bytes: must be positive"))
		}
	}
	if k := c.Feeds.KEV; k.Enabled {
		if k.URL != "" {
			errs = append(errs, checkURL("feeds.kev.url", k.URL))
		} else if len(k.URLs) == 0 {
			errs = append(errs, errors.New("feeds.kev.urls: must list at least one URL"))
		}
		for i, u := range k.URLs {
			errs = append(errs, checkURL(fmt.Sprintf("feeds.kev.urls[%d]", i), u))
		}
	}
	if r := c.Feeds.RHSA; r.Enabled {
		errs = append(errs, checkURL("feeds.rhsa.base_url", r.BaseURL))
		if r.Backfill != "archive" && r.Backfill != "index" {
			errs = append(errs, fmt.Errorf("feeds.rhsa.backfill: %q is not archive or index", r.Backfill))
		}
		if r.Concurrency < 1 || r.Concurrency > 32 {
			errs = append(errs, errors.New("feeds.rhsa.concurrency: must be 1 to 32"))
		}
		if r.ArchiveMaxBytes <= 0 {
			errs = append(errs, errors.New("feeds.rhsa.archive_max_bytes: must be positive"))
		}
	}
	for key, r := range map[string]Rebuild{"feeds.almalinux": c.Feeds.AlmaLinux, "feeds.rocky": c.Feeds.Rocky} {
		if r.Enabled {
			errs = append(errs, checkURL(key+".url", r.URL))
			if r.MaxBytes <= 0 {
				errs = append(errs, errors.New(key+".max_bytes: must be positive"))
			}
		}
	}
	return errors.Join(errs...)
}

func checkURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http(s) URL", key, raw)
	}
	return nil
}

// SlogLevel returns LogLevel as a slog level.
func (c *Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("log_level: %q is not debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Redacted returns a copy fit to print: the password of any URL with
// credentials, in any key, is replaced by "xxxxx". The secrets themselves
// are never in the configuration, only the names of the files that hold
// them.
func (c Config) Redacted() Config {
	c.Urgency.Deadlines = maps.Clone(c.Urgency.Deadlines)
	c.Notify.Reminders = maps.Clone(c.Notify.Reminders)
	c.Notify.Owners = maps.Clone(c.Notify.Owners)
	c.Notify.Projects = maps.Clone(c.Notify.Projects)
	c.Notify.Templates = maps.Clone(c.Notify.Templates)
	redactValue(reflect.ValueOf(&c).Elem())
	return c
}

// redactValue walks structs, slices and string maps, redacting URLs.
func redactValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.CanSet() {
			fresh := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(fresh, v)
			v.Set(fresh)
		}
		for i := range v.Len() {
			redactValue(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.String {
			for _, k := range v.MapKeys() {
				v.SetMapIndex(k, reflect.ValueOf(redactURL(v.MapIndex(k).String())).Convert(v.Type().Elem()))
			}
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(redactURL(v.String()))
		}
	}
}

func redactURL(raw string) string {
	if !strings.Contains(raw, "@") || !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); !has {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), "xxxxx")
	return u.Scheme + "://" + u.User.String() + "@" + strings.SplitN(raw, "@", 2)[1]
}
