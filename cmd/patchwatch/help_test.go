package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helpOK says whether err is a successful help exit.
func helpOK(err error) bool {
	var exit *ExitError
	return err == nil || (errors.As(err, &exit) && exit.Code == ExitOK)
}

// TestEveryCommandAnswersHelp: every command and subcommand prints its
// usage and examples on stdout and exits 0, for --help, -h and help NAME;
// the --db default appears once.
func TestEveryCommandAnswersHelp(t *testing.T) {
	ctx := context.Background()
	env := &Env{Getenv: func(string) string { return "" }, Now: time.Now}
	for _, node := range completionTree(ctx, env) {
		paths := [][]string{{node.name}}
		for _, s := range node.subs {
			paths = append(paths, []string{node.name, s.name})
		}
		for _, words := range paths {
			for _, form := range [][]string{append(append([]string{}, words...), "--help"), append(append([]string{}, words...), "-h"), append([]string{"help"}, words...)} {
				t.Run(strings.Join(form, " "), func(t *testing.T) {
					r := run(t, filepath.Join(t.TempDir(), "absent.db"), form...)
					if !helpOK(r.err) {
						t.Fatalf("exit: %v", r.err)
					}
					if r.stderr != "" {
						t.Errorf("stderr: %q", r.stderr)
					}
					if !strings.HasPrefix(r.stdout, "usage: patchwatch "+words[0]) || !strings.Contains(r.stdout, "Examples:\n  patchwatch") && !strings.Contains(r.stdout, "Examples:\n  source") {
						t.Errorf("help lacks usage or examples:\n%s", r.stdout)
					}
					if n := strings.Count(r.stdout, "patchwatch.db"); n > 1 {
						t.Errorf("the --db default is printed %d times:\n%s", n, r.stdout)
					}
				})
			}
		}
	}
	if r := run(t, "x.db", "help"); r.err != nil || !strings.Contains(r.stdout, "feeds") || !strings.Contains(r.stdout, "completion") {
		t.Errorf("help: %v\n%s", r.err, r.stdout)
	}
}

// TestUsageErrorsAreOneLine: a wrong flag or subcommand gives one line
// and a hint, with exit 2, and prints no usage.
func TestUsageErrorsAreOneLine(t *testing.T) {
	for _, args := range [][]string{{"hosts", "--frob"}, {"host", "frob"}, {"frobnicate"}, {"report"}, {"outstanding", "--format", "xml"}, {"completion", "fish"}} {
		r := run(t, "x.db", args...)
		var exit *ExitError
		if !errors.As(r.err, &exit) || exit.Code != ExitUsage || exit.Hint == "" || strings.Contains(exit.Err.Error(), "\n") {
			t.Errorf("%v: %#v", args, r.err)
		}
		if r.stdout != "" || r.stderr != "" {
			t.Errorf("%v printed:\n%s%s", args, r.stdout, r.stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := run(t, "x.db", args...)
		if r.err != nil || !strings.HasPrefix(r.stdout, "patchwatch ") || !strings.Contains(r.stdout, " go1.") {
			t.Errorf("%v: %v %q", args, r.err, r.stdout)
		}
	}
	if r := run(t, "x.db", "version", "--format", "json"); r.err != nil || !strings.Contains(r.stdout, `"go_version": "go1.`) {
		t.Errorf("version json: %v %s", r.err, r.stdout)
	}
}

// TestBashCompletion loads the generated script in bash and completes
// commands, subcommands and flags.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	r := run(t, "x.db", "completion", "bash")
	if r.err != nil {
		t.Fatal(r.err)
	}
	script := filepath.Join(t.TempDir(), "pw.bash")
	os.WriteFile(script, []byte(r.stdout), 0o600)
	for _, tt := range []struct{ line, want string }{
		{"patchwatch fe", "feeds"},
		{"patchwatch host i", "import"},
		{"patchwatch host import --os", "--os-release"},
		{"patchwatch feeds --for", "--format"},
		{"patchwatch feeds --format j", "json"},
	} {
		words := strings.Fields(tt.line)
		probe := "source " + script + "; COMP_WORDS=(" + strings.Join(words, " ") + "); COMP_CWORD=" + strconv.Itoa(len(words)-1) + "; _patchwatch; printf '%s\\n' \"${COMPREPLY[@]}\""
		out, err := exec.Command(bash, "-c", probe).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte(tt.want+"\n")) {
			t.Errorf("%q completes to %q (%v), want %q", tt.line, out, err, tt.want)
		}
	}
	if r := run(t, "x.db", "completion", "zsh"); r.err != nil || !strings.HasPrefix(r.stdout, "#compdef patchwatch") || !strings.Contains(r.stdout, "'feeds:") {
		t.Errorf("zsh: %v\n%s", r.err, r.stdout)
	}
}
