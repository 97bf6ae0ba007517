package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestAgentHelpAndVersion(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--version"}, "patchwatch-agent "},
		{[]string{"--help"}, "Examples:"},
		{[]string{"collect", "--help"}, "-root"},
		{[]string{"report", "-h"}, "-server"},
	} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), tt.args, &out, &errb); err != nil {
			t.Errorf("%v: %v", tt.args, err)
		}
		if !strings.Contains(out.String(), tt.want) || errb.Len() != 0 {
			t.Errorf("%v: stdout %q, stderr %q", tt.args, out.String(), errb.String())
		}
	}
	var usage *usageError
	for _, args := range [][]string{{}, {"frob"}, {"collect", "--frob"}, {"report"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); !errors.As(err, &usage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
