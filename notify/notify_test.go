package notify_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/usn"
	"github.com/patchwatch/patchwatch/notify"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store"
	"github.com/patchwatch/patchwatch/store/bolt"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// recorder is a Sender that keeps what it was given and fails on demand.
type recorder struct {
	mu   sync.Mutex
	sent []patchwatch.Delivery
	fail []error // errors to return first, then success
}

func (r *recorder) Send(_ context.Context, d patchwatch.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.fail) > 0 {
		err := r.fail[0]
		r.fail = r.fail[1:]
		return err
	}
	r.sent = append(r.sent, d)
	return nil
}

type world struct {
	t    *testing.T
	path string
	st   *bolt.Store
	svc  *service.Service
	now  time.Time
	rec  *recorder
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, path: filepath.Join(t.TempDir(), "pw.db"), now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), rec: &recorder{}}
	w.open()
	for _, f := range []string{"USN-5614-1.json", "USN-6000-1.json"} {
		data, _ := os.ReadFile("../samples/usn/" + f)
		a, err := usn.ParseOSV(data)
		if err != nil {
			t.Fatal(err)
		}
		w.st.UpsertAdvisories(context.Background(), []patchwatch.Advisory{a})
	}
	return w
}

func (w *world) open() {
	st, err := bolt.Open(w.path, bolt.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	w.st = st
	w.svc = service.New(st, patchwatch.DefaultUrgencyRules(), func() time.Time { return w.now })
	w.t.Cleanup(func() { st.Close() })
}

func (w *world) host(name, owner string, checks ...patchwatch.CheckResult) {
	w.t.Helper()
	f, _ := os.Open("../samples/hosts/focal-bluefield.dpkg-query.tsv")
	defer f.Close()
	h := patchwatch.Host{Name: name, Owner: owner, Release: "ubuntu:20.04", Family: patchwatch.FamilyDebian, SourceInfo: true,
		KernelRelease: "5.4.0-1058-bluefield", ReportedAt: w.now, OS: patchwatch.OSRelease{ID: "ubuntu", VersionID: "20.04"}, Checks: checks}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		h.Packages = append(h.Packages, patchwatch.Package{Name: c[0], Version: c[1], SourceName: c[2], SourceVersion: c[3], Arch: c[4]})
	}
	if _, err := w.svc.PutHost(context.Background(), h); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) notifier(cfg notify.Config) *notify.Notifier {
	w.t.Helper()
	if cfg.Reminders == nil {
		cfg.Reminders = map[patchwatch.Urgency]time.Duration{patchwatch.UrgencyHigh: 72 * time.Hour}
	}
	n, err := notify.New(cfg, w.st, w.svc, map[string]notify.Sender{"email": w.rec}, nil, func() time.Time { return w.now })
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// emailAndSlackNotifier reaches alice by email and in a Slack channel.
func (w *world) emailAndSlackNotifier() *notify.Notifier {
	w.t.Helper()
	cfg := notify.Config{Reminders: map[patchwatch.Urgency]time.Duration{},
		Owners: map[string]notify.Contact{"alice@example.org": {Email: "alice@example.org", SlackChannel: "#alice"}}}
	n, err := notify.New(cfg, w.st, w.svc, map[string]notify.Sender{"email": w.rec, "slack": w.rec}, nil, func() time.Time { return w.now })
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) outbox() []patchwatch.Delivery {
	ds, err := w.st.Deliveries(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return ds
}

func TestGroupedAlertDeliveredOnceDespiteAFailure(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("web1", "alice@example.org")
	w.host("web2", "alice@example.org")
	n := w.notifier(notify.Config{Admins: notify.Contact{Email: "ops@example.org"}})

	w.now = w.now.Add(time.Minute)
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.outbox()) != 0 {
		t.Fatal("sent before the group window closed")
	}
	w.now = w.now.Add(5 * time.Minute)
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	ds := w.outbox()
	// Two hosts, four events: one message to alice.
	if len(ds) != 1 || ds[0].Target != "alice@example.org" || !strings.Contains(ds[0].Text, "web1") || !strings.Contains(ds[0].Text, "web2") {
		t.Fatalf("outbox = %+v", ds)
	}
	if !strings.Contains(ds[0].Text, "USN-6000-1") || strings.Contains(ds[0].Text, "USN-5614-1") {
		t.Errorf("the alert must carry the high finding only:\n%s", ds[0].Text)
	}
	// The relay is down once: the message stays queued and goes later.
	w.rec.fail = []error{&notify.RetryError{Err: errors.New("421 try later")}}
	if sent, _, err := n.Deliver(ctx); err != nil || sent != 0 {
		t.Fatalf("first attempt: %d %v", sent, err)
	}
	if ds := w.outbox(); len(ds) != 1 || ds[0].Attempts != 1 || !ds[0].NextAt.After(w.now) {
		t.Fatalf("after a temporary failure: %+v", ds)
	}
	if sent, _, _ := n.Deliver(ctx); sent != 0 {
		t.Fatal("retried before its backoff")
	}
	w.now = w.now.Add(time.Minute)
	if sent, _, err := n.Deliver(ctx); err != nil || sent != 1 || len(w.rec.sent) != 1 || len(w.outbox()) != 0 {
		t.Fatalf("retry: sent %d, recorded %d, %v", sent, len(w.rec.sent), err)
	}
	// Nothing new happened: nothing more is sent.
	n.Step(ctx)
	if len(w.outbox()) != 0 {
		t.Fatal("sent twice")
	}
	// A reminder after 72 hours, and only one.
	w.now = w.now.Add(72 * time.Hour)
	n.Step(ctx)
	if ds := w.outbox(); len(ds) != 1 || ds[0].Kind != "reminder" {
		t.Fatalf("reminder: %+v", ds)
	}
	n.Deliver(ctx)
	w.now = w.now.Add(time.Hour)
	n.Step(ctx)
	if len(w.outbox()) != 0 {
		t.Fatal("second reminder within the interval")
	}
}

// TestReminderCheckCadence: Step looks for due reminders once every
// ReminderCheck (each look reads every finding record), so a reminder that
// falls due between looks goes out at the next one, not later; a
// notifier that starts looks at its first step.
func TestReminderCheckCadence(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("web1", "alice@example.org")
	n := w.notifier(notify.Config{})
	w.now = w.now.Add(6 * time.Minute)
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := w.outbox(); len(ds) != 1 || ds[0].Kind != "alert" {
		t.Fatalf("alert: %+v", ds)
	}
	n.Deliver(ctx)
	// The alert's step looked; the reminder falls due 72 h after it.
	w.now = w.now.Add(72*time.Hour - time.Minute)
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.outbox()) != 0 {
		t.Fatal("reminder before it is due")
	}
	w.now = w.now.Add(2 * time.Minute) // due, within ReminderCheck of the last look
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.outbox()) != 0 {
		t.Fatal("looked for reminders again within ReminderCheck")
	}
	w.now = w.now.Add(notify.ReminderCheck)
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := w.outbox(); len(ds) != 1 || ds[0].Kind != "reminder" {
		t.Fatalf("reminder at the next look: %+v", ds)
	}
	// A new notifier (a restart, another replica taking over) looks at once.
	w.st.DeleteDelivery(ctx, w.outbox()[0].ID)
	w.now = w.now.Add(72*time.Hour + time.Minute)
	if err := w.notifier(notify.Config{}).Step(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := w.outbox(); len(ds) != 1 || ds[0].Kind != "reminder" {
		t.Fatalf("reminder at a new notifier's first step: %+v", ds)
	}
}

// failingCommits is a notifier store whose commits fail from the given
// one on (counting from 1), until fail is set to 0.
type failingCommits struct {
	notify.Store
	commits, fail int
}

func (f *failingCommits) CommitNotify(ctx context.Context, b store.NotifyBatch) error {
	f.commits++
	if f.fail > 0 && f.commits >= f.fail {
		return errors.New("disk full")
	}
	return f.Store.CommitNotify(ctx, b)
}

// countingReads is a notifier store that counts its reads of every
// pending event.
type countingReads struct {
	notify.Store
	reads int
}

func (c *countingReads) PendingEvents(ctx context.Context) ([]patchwatch.NotifyEvent, error) {
	c.reads++
	return c.Store.PendingEvents(ctx)
}

// TestStepWithinGroupWindowReadsOneEvent: until the first event queued is
// GroupWait old no owner's group is due, and a step reads that event
// alone; then it reads them all and alerts, even an owner whose events
// came later.
func TestStepWithinGroupWindowReadsOneEvent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("web1", "alice@example.org")
	w.now = w.now.Add(2 * time.Minute)
	w.host("web2", "bob@example.org")
	st := &countingReads{Store: w.st}
	n, err := notify.New(notify.Config{}, st, w.svc, map[string]notify.Sender{"email": w.rec}, nil, func() time.Time { return w.now })
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		w.now = w.now.Add(time.Minute)
		if err := n.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st.reads != 0 || len(w.outbox()) != 0 {
		t.Fatalf("within the window: %d reads of every event, %d deliveries; want none", st.reads, len(w.outbox()))
	}
	w.now = w.now.Add(time.Minute) // alice's events are 5 minutes old, bob's 3
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := w.outbox(); st.reads != 1 || len(ds) != 1 || ds[0].Target != "alice@example.org" {
		t.Fatalf("at alice's window: %d reads, outbox %+v; want one read and alice's alert", st.reads, ds)
	}
	w.now = w.now.Add(2 * time.Minute)
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := w.outbox(); len(ds) != 2 || ds[1].Target != "bob@example.org" {
		t.Fatalf("at bob's window: outbox %+v; want bob's alert too", ds)
	}
}

// TestStepCommitsInParts: a step whose messages pass its size bound
// commits each part with the events it consumed; when a later part fails,
// the committed ones stay sent-to-be, the rest stays pending, and the
// next step tells each owner once.
func TestStepCommitsInParts(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	owners := []string{"alice@example.org", "bob@example.org", "carol@example.org"}
	for i, o := range owners {
		w.host(fmt.Sprintf("web%d", i), o)
	}
	st := &failingCommits{Store: w.st, fail: 2}
	n, err := notify.New(notify.Config{}, st, w.svc, map[string]notify.Sender{"email": w.rec}, nil, func() time.Time { return w.now })
	if err != nil {
		t.Fatal(err)
	}
	notify.SetFlushAt(n, 1) // every owner's alert its own commit
	w.now = w.now.Add(6 * time.Minute)
	if err := n.Step(ctx); err == nil {
		t.Fatal("a failed commit did not fail the step")
	}
	if ds := w.outbox(); len(ds) != 1 {
		t.Fatalf("after the first part: %d deliveries, want 1", len(ds))
	}
	st.fail = 0
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, d := range w.outbox() {
		got[d.Target]++
	}
	for _, o := range owners {
		if got[o] != 1 {
			t.Errorf("%s has %d alerts, want 1 (outbox %v)", o, got[o], got)
		}
	}
	if pending, err := w.st.PendingEvents(ctx); err != nil || len(pending) != 0 {
		t.Errorf("%d events still pending (%v)", len(pending), err)
	}
}

func TestRestartWithFullQueue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, h := range []string{"a1", "a2", "a3"} {
		w.host(h, h+"@example.org")
	}
	n := w.notifier(notify.Config{})
	w.now = w.now.Add(10 * time.Minute)
	n.Step(ctx)
	if len(w.outbox()) != 3 {
		t.Fatalf("queued %d", len(w.outbox()))
	}
	// The process stops with the queue full.
	w.st.Close()
	w.open()
	n = w.notifier(notify.Config{})
	if sent, _, err := n.Deliver(ctx); err != nil || sent != 3 {
		t.Fatalf("after restart: %d %v", sent, err)
	}
	n.Deliver(ctx)
	got := map[string]int{}
	for _, d := range w.rec.sent {
		got[d.Target]++
	}
	if len(got) != 3 || got["a1@example.org"] != 1 || got["a2@example.org"] != 1 || got["a3@example.org"] != 1 {
		t.Fatalf("deliveries: %v", got)
	}
}

func TestFinalFailureKeptAndRetried(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("web1", "alice@example.org")
	n := w.notifier(notify.Config{})
	w.now = w.now.Add(10 * time.Minute)
	n.Step(ctx)
	w.rec.fail = []error{errors.New("550 no such user")}
	if _, failed, _ := n.Deliver(ctx); failed != 1 {
		t.Fatal("a 5xx must fail for good")
	}
	ds := w.outbox()
	if len(ds) != 1 || !ds[0].Failed || ds[0].LastError != "550 no such user" {
		t.Fatalf("kept failure: %+v", ds)
	}
	if n, err := n.Retry(ctx, ""); err != nil || n != 1 {
		t.Fatalf("retry: %d %v", n, err)
	}
	if sent, _, _ := n.Deliver(ctx); sent != 1 {
		t.Fatal("retried delivery not sent")
	}
}

func TestUnreachableOwnerInAdminDigest(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("orphan", "research-group")
	w.host("web1", "alice@example.org")
	n := w.notifier(notify.Config{})
	w.now = w.now.Add(10 * time.Minute)
	n.Step(ctx)
	for _, d := range w.outbox() {
		if d.Owner == "research-group" {
			t.Fatalf("a message was addressed to an owner with no contact: %+v", d)
		}
	}
	msg, _, err := n.BuildAdminDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Admin.Unreachable) != 1 || msg.Admin.Unreachable[0] != "research-group" {
		t.Errorf("unreachable = %v", msg.Admin.Unreachable)
	}
}

func TestDigestsScheduled(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("web1", "alice@example.org")
	n := w.notifier(notify.Config{OwnerDigest: "daily", AdminDigest: "weekly", DigestHour: 7, Admins: notify.Contact{Email: "ops@example.org"}})
	w.now = w.now.Add(10 * time.Minute)
	n.Step(ctx) // schedules the digests and sends the alert
	n.Deliver(ctx)
	w.rec.sent = nil
	w.now = time.Date(2026, 11, 3, 7, 1, 0, 0, time.UTC) // Tuesday 07:01
	n.Step(ctx)
	kinds := map[string]int{}
	for _, d := range w.outbox() {
		kinds[d.Kind]++
	}
	if kinds["owner-digest"] != 1 || kinds["admin-digest"] != 0 {
		t.Fatalf("Tuesday: %v", kinds)
	}
	n.Deliver(ctx)
	w.now = time.Date(2026, 11, 9, 7, 1, 0, 0, time.UTC) // Monday
	n.Step(ctx)
	kinds = map[string]int{}
	for _, d := range w.outbox() {
		kinds[d.Kind]++
	}
	if kinds["admin-digest"] != 1 {
		t.Fatalf("Monday: %v", kinds)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

var sshFails = patchwatch.CheckResult{ID: "ssh-password-auth", Status: patchwatch.CheckFail,
	Evidence: "/etc/ssh/sshd_config:11: PasswordAuthentication yes (in a Match block)"}

func TestGoldenMessages(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("web1", "alice@example.org", patchwatch.CheckResult{ID: "auto-updates", Status: patchwatch.CheckPass, Evidence: "ok"}, sshFails)
	n := w.emailAndSlackNotifier()
	w.now = w.now.Add(10 * time.Minute)
	n.Step(ctx)
	byChannel := map[string]patchwatch.Delivery{}
	for _, d := range w.outbox() {
		byChannel[d.Channel] = d
	}
	d := byChannel["email"]
	golden(t, "owner-alert.txt", "Subject: "+d.Subject+"\n\n"+d.Text)
	golden(t, "owner-alert.html", d.HTML)
	if len(byChannel["slack"].Blocks) == 0 {
		t.Fatal("no Slack message")
	}
	var blocks bytes.Buffer
	json.Indent(&blocks, byChannel["slack"].Blocks, "", "  ")
	golden(t, "owner-alert.slack.json", blocks.String())
	msg, _, err := n.BuildAdminDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subject, text, html, _ := n.Render(msg)
	golden(t, "admin-digest.txt", "Subject: "+subject+"\n\n"+text)
	golden(t, "admin-digest.html", html)
}

// TestInjectionIsInert: an advisory titled with Slack control sequences and
// HTML reaches every channel inert.
func TestInjectionIsInert(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	evil := patchwatch.Advisory{ID: "USN-9999-1", Source: patchwatch.SourceUSN, Title: `<!channel> <script>alert(1)</script> <https://evil.example|update here>`,
		Published: w.now, Modified: w.now, Severity: patchwatch.SeverityCritical, URL: "https://ubuntu.com/security/notices/USN-9999-1",
		Fixes: []patchwatch.Fix{{Release: "ubuntu:20.04", Package: "bash", Kind: patchwatch.KindSource, FixedVersion: "5.0-6ubuntu1.9"}}}
	if _, err := w.st.UpsertAdvisories(ctx, []patchwatch.Advisory{evil}); err != nil {
		t.Fatal(err)
	}
	w.host("web1", "alice@example.org")
	n := w.emailAndSlackNotifier()
	w.now = w.now.Add(10 * time.Minute)
	n.Step(ctx)
	byChannel := map[string]patchwatch.Delivery{}
	for _, x := range w.outbox() {
		byChannel[x.Channel] = x
	}
	d := byChannel["email"]
	if !strings.Contains(d.Text, "USN-9999-1") {
		t.Fatalf("the critical advisory is not in the message:\n%s", d.Text)
	}
	if strings.Contains(d.HTML, "<script>") || !strings.Contains(d.HTML, "&lt;script&gt;") {
		t.Errorf("HTML not escaped:\n%s", d.HTML)
	}
	// The blocks are JSON, where "<" may be written \u003c: decode them and
	// read the texts Slack will render.
	var blocks []struct {
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(byChannel["slack"].Blocks, &blocks); err != nil || len(blocks) == 0 {
		t.Fatalf("Slack blocks: %v %s", err, byChannel["slack"].Blocks)
	}
	var texts strings.Builder
	for _, b := range blocks {
		texts.WriteString(b.Text.Text + "\n")
	}
	for _, live := range []string{"<!channel>", "<script>", "<https://evil"} {
		if strings.Contains(texts.String(), live) {
			t.Errorf("%q live in the Slack blocks: %s", live, texts.String())
		}
	}
	if !strings.Contains(texts.String(), "&lt;!channel&gt;") {
		t.Errorf("the title is not in the Slack message, escaped: %s", texts.String())
	}
	if strings.ContainsAny(d.Subject, "\r\n") {
		t.Errorf("subject spans lines: %q", d.Subject)
	}
}

// A check that newly fails reaches the owner once, in plain words with its
// fix; a disabled check is not told; the admin digest counts the hosts
// failing each guideline per owner.
func TestFailingChecks(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	mail := patchwatch.CheckResult{ID: "no-mail-server", Status: patchwatch.CheckFail, Evidence: "listening: tcp 0.0.0.0:25 (master)", Items: []string{"tcp 0.0.0.0:25 (master)"}}
	w.host("web1", "alice@example.org", sshFails, mail)
	w.host("web2", "alice@example.org", sshFails)
	w.host("db1", "bob@example.org", sshFails)
	err := w.st.PutSilence(ctx, patchwatch.Silence{ID: "s1", Target: "check", Value: "no-mail-server", Scope: "host", ScopeValue: "web1",
		Reason: "the list server of the project", Expires: w.now.Add(90 * 24 * time.Hour), CreatedAt: w.now})
	if err != nil {
		t.Fatal(err)
	}
	n := w.notifier(notify.Config{MinUrgency: patchwatch.UrgencyCritical, Admins: notify.Contact{Email: "ops@example.org"}})
	w.now = w.now.Add(10 * time.Minute)
	if err := n.Step(ctx); err != nil {
		t.Fatal(err)
	}
	var alice *patchwatch.Delivery
	for _, d := range w.outbox() {
		if d.Owner == "alice@example.org" {
			alice = &d
		}
	}
	if alice == nil {
		t.Fatalf("no message for alice: %+v", w.outbox())
	}
	if alice.Subject != "[patchwatch] 2 security settings to fix on web1, web2" {
		t.Errorf("subject = %q", alice.Subject)
	}
	for _, want := range []string{"SSH refuses password logins", "Log in with keys only", "found: /etc/ssh/sshd_config:11: PasswordAuthentication yes (in a Match block)",
		"fix: put 'PasswordAuthentication no' and 'KbdInteractiveAuthentication no' at the top of /etc/ssh/sshd_config", "sudo systemctl reload ssh\n"} {
		if !strings.Contains(alice.Text, want) {
			t.Errorf("the message lacks %q:\n%s", want, alice.Text)
		}
	}
	if strings.Contains(alice.Text, "No mail server listens") {
		t.Errorf("a disabled check was told:\n%s", alice.Text)
	}
	n.Deliver(ctx)

	// The same failure reported again is not news.
	w.now = w.now.Add(time.Hour)
	w.host("web2", "alice@example.org", sshFails)
	w.now = w.now.Add(10 * time.Minute)
	n.Step(ctx)
	if len(w.outbox()) != 0 {
		t.Fatalf("told twice: %+v", w.outbox())
	}
	// Fixed, then broken again: news again.
	w.host("web2", "alice@example.org", patchwatch.CheckResult{ID: "ssh-password-auth", Status: patchwatch.CheckPass, Evidence: "ok"})
	w.host("web2", "alice@example.org", sshFails)
	w.now = w.now.Add(10 * time.Minute)
	n.Step(ctx)
	if ds := w.outbox(); len(ds) != 1 || !strings.Contains(ds[0].Text, "web2") || strings.Contains(ds[0].Text, "web1") {
		t.Fatalf("after a relapse: %+v", ds)
	}

	msg, _, err := n.BuildAdminDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g := msg.Admin.Guidelines
	if len(g) != 1 || g[0].ID != "ssh-password-auth" || g[0].Hosts != 3 || len(g[0].Owners) != 2 ||
		g[0].Owners[0] != (notify.OwnerCount{Owner: "alice@example.org", Count: 2}) || msg.Admin.ChecksReporting != 3 {
		t.Errorf("guidelines = %+v, reporting %d", g, msg.Admin.ChecksReporting)
	}
	_, text, _, _ := n.Render(msg)
	if !strings.Contains(text, "ssh-password-auth fails on 3 hosts: alice@example.org 2, bob@example.org 1") {
		t.Errorf("admin digest:\n%s", text)
	}
	// The metrics count the same.
	counts, err := w.svc.Counts(ctx)
	if err != nil || counts.Hosts != 3 || counts.FailingChecks["ssh-password-auth"] != 3 || counts.FailingChecks["no-mail-server"] != 0 || counts.JudgedChecks["ssh-password-auth"] != 3 || counts.JudgedChecks["no-mail-server"] != 1 {
		t.Errorf("counts = %+v, %v", counts, err)
	}
	// The owner's digest lists every failing check, told before or not.
	digest, err := n.OwnerDigest(ctx, "bob@example.org")
	if err != nil || digest == nil {
		t.Fatalf("bob's digest: %v %v", digest, err)
	}
	if len(digest.Hosts) != 1 || len(digest.Hosts[0].Checks) != 1 || digest.Hosts[0].Checks[0].ID != "ssh-password-auth" ||
		!strings.Contains(digest.Subject, "1 security setting to fix") {
		t.Errorf("bob's digest: %s %+v", digest.Subject, digest.Hosts)
	}
}

// TestAdminDigestWarnsOfStaleFeeds: a feed without a successful round for
// more than six hours is named at the top of the admin digest, on every
// channel; a fresh one is not.
func TestAdminDigestWarnsOfStaleFeeds(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.host("web1", "alice@example.org")
	for _, st := range []patchwatch.FeedStatus{
		{Feed: "usn", LastAttempt: w.now.Add(-time.Hour), LastSuccess: w.now.Add(-7 * time.Hour), LastError: "fetch https://ubuntu.com/security/notices/rss.xml: HTTP 503"},
		{Feed: "kev", LastAttempt: w.now.Add(-time.Hour), LastError: "fetch KEV catalog: HTTP 403"},
		{Feed: "debian", LastAttempt: w.now.Add(-time.Hour), LastSuccess: w.now.Add(-time.Hour)},
	} {
		if err := w.st.PutFeedStatus(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	n := w.emailAndSlackNotifier()
	msg, _, err := n.BuildAdminDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subject, text, html, blocks := n.Render(msg)
	if !strings.Contains(subject, "2 stale feeds") {
		t.Errorf("subject %q", subject)
	}
	for name, body := range map[string]string{"text": text, "html": html, "slack": string(blocks)} {
		for _, want := range []string{"usn", "HTTP 503", "kev", "never", "HTTP 403"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s digest lacks %q", name, want)
			}
		}
		if strings.Contains(body, "debian: last success") || strings.Contains(body, "feed debian") {
			t.Errorf("%s digest calls the fresh debian feed stale", name)
		}
	}
}
