package browsertest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/patchwatch/patchwatch/console/internal/fixture"
)

// chromium finds the browser: $CHROMIUM, else Debian's chromium.
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// page is one browser with the errors its pages logged.
type page struct {
	t      *testing.T
	ctx    context.Context
	shots  string
	mu     sync.Mutex
	errors []string
}

func newPage(t *testing.T, exe string) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	p := &page{t: t, ctx: ctx, shots: os.Getenv("PATCHWATCH_SCREENSHOTS")}
	if p.shots == "" {
		p.shots = t.TempDir()
	} else if err := os.MkdirAll(p.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// Subscribe before the first page loads, so that no message is lost:
	// console errors, uncaught exceptions, and the browser log's failed
	// loads and CSP violations.
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				p.mu.Lock()
				p.errors = append(p.errors, fmt.Sprintf("%s (%s %s)", m, m.Source, m.URL))
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc(); <-done })
	return p
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

func run[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, a)
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// screenshot saves the whole page as name.png.
func (p *page) screenshot(name string) {
	p.t.Helper()
	png := run(p, chromedp.FullScreenshot(100))
	path := filepath.Join(p.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s", path)
}

// noErrors fails the test for anything the pages logged as an error.
func (p *page) noErrors() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errors {
		p.t.Errorf("browser: %s", e)
	}
}

func (p *page) signIn(base, path, token string) {
	p.t.Helper()
	p.do(
		chromedp.Navigate(base+path),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.ID("token")),
	)
}

func (p *page) evalBool(js string) bool {
	p.t.Helper()
	return run(p, chromedp.Evaluate[bool](js))
}

func TestConsoleInBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (install Debian's chromium, or set CHROMIUM); CI=true requires the browser tests")
		}
		t.Skip("no Chromium installed (apt-get install chromium, or set CHROMIUM): skipping the browser tests")
	}
	w := fixture.New(t, fixture.Options{Hosts: 20})

	t.Run("owner silences a finding", func(t *testing.T) {
		p := newPage(t, exe)
		p.signIn(w.Server.URL, "/hosts/web1", w.AliceToken)
		p.do(chromedp.WaitVisible(chromedp.ID("finding-USN-9999-1")))
		command := run(p, chromedp.Text(chromedp.CSS("#finding-USN-9999-1 pre")))
		if !strings.Contains(command, "sudo apt-get install") || !strings.Contains(command, "bash") {
			t.Errorf("command %q", command)
		}
		// The copy button comes from the one script file the CSP allows.
		p.do(chromedp.WaitVisible(chromedp.CSS("#finding-USN-9999-1 button.copy")))
		if !p.evalBool(`document.querySelector("#finding-USN-9999-1 h3").textContent.includes("<script>")`) {
			t.Error("the hostile title is not shown as text")
		}
		p.screenshot("owner-host")
		p.do(
			chromedp.Click(chromedp.CSS("#finding-USN-9999-1 details summary")),
			chromedp.SendKeys(chromedp.CSS("#finding-USN-9999-1 input[name=reason]"), "bash is not reachable from outside; next image fixes it"),
			chromedp.Click(chromedp.CSS("#finding-USN-9999-1 form.silence button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("p.notice")),
		)
		if p.evalBool(`document.getElementById("finding-USN-9999-1") !== null`) {
			t.Error("the silenced finding is still listed as open")
		}
		if !p.evalBool(`document.body.textContent.includes("bash is not reachable from outside")`) {
			t.Error("the silence's reason is not shown")
		}
		p.screenshot("owner-host-silenced")
		p.do(chromedp.Navigate(w.Server.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.hosts")))
		p.screenshot("owner-hosts")
		p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.Navigate(w.Server.URL+"/hosts/web1"), chromedp.WaitVisible(chromedp.ID("finding-USN-6188-1")))
		if p.evalBool(`document.documentElement.scrollWidth > window.innerWidth + 1`) {
			t.Error("the host page scrolls sideways on a phone")
		}
		p.screenshot("owner-host-phone")
		p.noErrors()
	})

	t.Run("admin reads the dashboard", func(t *testing.T) {
		p := newPage(t, exe)
		p.signIn(w.Server.URL, "/", w.Admin)
		p.do(chromedp.WaitVisible(chromedp.CSS("#trend svg")))
		nodes := run(p, chromedp.Nodes(chromedp.CSSAll("#trend rect.segment")))
		if len(nodes) < 15 {
			t.Errorf("the chart draws %d bar segments, want one or more for each of 15 days", len(nodes))
		}
		if !p.evalBool(`[...document.querySelectorAll("#trend rect.segment")].every(r => r.getBBox().height > 0) &&
			document.querySelector("#trend svg").getBoundingClientRect().height > 100`) {
			t.Error("the chart's bars are not drawn")
		}
		p.screenshot("admin-dashboard")
		p.do(
			chromedp.Click(chromedp.CSS(`a[href="/advisories/USN-6188-1"]`)),
			chromedp.WaitVisible(chromedp.CSS("h1.advisory")),
		)
		title := run(p, chromedp.Text(chromedp.CSS("h1")))
		if !strings.Contains(title, "USN-6188-1") {
			t.Errorf("advisory page title %q", title)
		}
		if !p.evalBool(`document.querySelector('a[href="/hosts/build1"]') !== null && document.querySelector('a[href="/hosts/web1"]') !== null`) {
			t.Error("the advisory page does not list its affected hosts")
		}
		p.screenshot("admin-advisory")
		p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.Navigate(w.Server.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#trend svg")))
		p.screenshot("admin-dashboard-phone")
		p.noErrors()
	})
}
