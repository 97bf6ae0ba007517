package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capture is a command's recorded output (testdata/captures) and exit code.
type capture struct {
	file string
	exit int
}

// captureCommander answers commands from captured outputs of the real
// tools; a command it has no capture of is not installed.
type captureCommander map[string]capture

func captures(t testing.TB, m map[string]capture) captureCommander {
	t.Helper()
	for cmd, c := range m {
		if _, err := os.Stat(filepath.Join("testdata/captures", c.file)); err != nil {
			t.Fatalf("capture of %s: %v", cmd, err)
		}
	}
	return captureCommander(m)
}

func (c captureCommander) Command(ctx context.Context, name string, args ...string) (string, error) {
	got, ok := c[strings.Join(append([]string{name}, args...), " ")]
	if !ok {
		return "", ErrNoCommand
	}
	b, err := os.ReadFile(filepath.Join("testdata/captures", got.file))
	if err != nil {
		return "", err
	}
	if got.exit != 0 {
		return string(b), &ExitError{Code: got.exit}
	}
	return string(b), nil
}
