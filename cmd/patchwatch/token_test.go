package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
)

func TestTokenCreateUsesAndHost(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pw.db")
	r := run(t, db, "token", "create", "--kind", "enroll", "--owner", "alice@example.org", "--project", "research", "--uses", "3", "--host", "db-7")
	if r.err != nil || !strings.HasPrefix(r.stdout, "pwt_e_") {
		t.Fatalf("token create: %v %s", r.err, r.stdout)
	}
	r = run(t, db, "token", "list", "--format", "json")
	var tokens []patchwatch.Token
	if err := json.Unmarshal([]byte(r.stdout), &tokens); err != nil || len(tokens) != 1 {
		t.Fatalf("token list: %v %s", err, r.stdout)
	}
	if tk := tokens[0]; tk.Uses != 3 || tk.Host != "db-7" || tk.Project != "research" {
		t.Errorf("stored token %+v", tk)
	}
	if r := run(t, db, "token", "list"); r.err != nil || !strings.Contains(r.stdout, "0/3") || !strings.Contains(r.stdout, "db-7") {
		t.Errorf("table: %v\n%s", r.err, r.stdout)
	}
	for _, args := range [][]string{
		{"--kind", "owner", "--owner", "a@example.org", "--uses", "2"},
		{"--kind", "admin", "--host", "db-7"},
		{"--kind", "enroll", "--owner", "a@example.org", "--uses", "-1"},
	} {
		if r := run(t, db, append([]string{"token", "create"}, args...)...); !isExit(r.err, ExitUsage) {
			t.Errorf("token create %v: %v", args, r.err)
		}
	}
}
