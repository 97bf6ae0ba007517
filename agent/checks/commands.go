package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// Commander runs one read-only command and returns what it printed
// (stdout and stderr together).
type Commander interface {
	// Command returns ErrNoCommand when name is not installed, and an
	// *ExitError, with the output, when it exits non-zero.
	Command(ctx context.Context, name string, args ...string) (string, error)
}

// ErrNoCommand is returned by a Commander for a command that is not installed.
var ErrNoCommand = errors.New("command not installed")

// ExitError is a command's non-zero exit status.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// maxCommandOutput bounds what one command may print into a check; the
// rest is dropped (a ruleset of a million lines is not evidence).
const maxCommandOutput = 4 << 20

// ExecCommander runs commands on the live system.
type ExecCommander struct{}

var _ Commander = ExecCommander{}

// Command runs name with args, its output capped at maxCommandOutput.
func (ExecCommander) Command(ctx context.Context, name string, args ...string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", ErrNoCommand
	}
	out := &capped{max: maxCommandOutput}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin"}
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		return out.String(), &ExitError{Code: exit.ExitCode()}
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s: %w", name, err)
	}
	return out.String(), nil
}

// capped keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// exitCode returns a command's exit status: 0 for success, -1 when it did
// not run to an exit.
func exitCode(err error) int {
	var exit *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	}
	return -1
}
