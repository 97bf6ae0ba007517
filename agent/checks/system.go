package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchwatch/patchwatch"
)

var noLoginShells = []string{"nologin", "false", "sync", "halt", "shutdown", ""}

// accounts lists accounts with a login shell and a usable password, and
// UID 0 accounts other than root; names only, never hashes.
func accounts(ctx context.Context, e *Env) patchwatch.CheckResult {
	passwd, err := lines(e.path("etc/passwd"))
	if err != nil {
		return result(patchwatch.CheckUnknown, "/etc/passwd: "+err.Error())
	}
	usable, empty := map[string]bool{}, map[string]bool{}
	shadow, shadowErr := lines(e.path("etc/shadow"))
	for _, l := range shadow {
		f := strings.Split(l.text, ":")
		switch {
		case len(f) < 2:
		case f[1] == "":
			// No password at all: a login needs none.
			empty[f[0]], usable[f[0]] = true, true
		case !strings.HasPrefix(f[1], "!") && !strings.HasPrefix(f[1], "*"):
			usable[f[0]] = true
		}
	}
	var extraRoot, logins, noPassword, weakKeys, keyItems []string
	for _, l := range passwd {
		f := strings.Split(l.text, ":")
		if len(f) < 7 {
			continue
		}
		if f[2] == "0" && f[0] != "root" {
			extraRoot = append(extraRoot, f[0])
		}
		if slices.Contains(noLoginShells, filepath.Base(f[6])) {
			continue
		}
		if keys := e.accountKeys(f[5]); len(keys) > 0 {
			var kinds []string
			for _, k := range keys {
				kinds = append(kinds, k.String())
				if k.weak() {
					weakKeys = append(weakKeys, f[0]+": "+k.String())
				}
			}
			keyItems = append(keyItems, fmt.Sprintf("%s: %d authorized keys (%s)", f[0], len(keys), strings.Join(kinds, ", ")))
		}
		// The password is in shadow ("x"), or, on old systems, here.
		switch {
		case f[1] == "" || f[1] == "x" && empty[f[0]]:
			noPassword = append(noPassword, f[0])
			logins = append(logins, f[0])
		case usable[f[0]] || f[1] != "x" && f[1] != "*" && !strings.HasPrefix(f[1], "!"):
			logins = append(logins, f[0])
		}
	}
	items := append([]string{}, logins...)
	for _, n := range extraRoot {
		items = append(items, n+" (UID 0)")
	}
	for _, n := range noPassword {
		items = append(items, n+" (no password)")
	}
	items = append(items, keyItems...)
	sudo := e.passwordlessSudo()
	items = append(items, sudo...)
	switch {
	case len(extraRoot) > 0 || len(noPassword) > 0 || len(weakKeys) > 0 || len(sudo) > 0:
		var why []string
		if len(weakKeys) > 0 {
			why = append(why, "weak authorized keys (DSA, or RSA under 2048 bits): "+strings.Join(weakKeys, ", "))
		}
		if len(sudo) > 0 {
			why = append(why, "sudo without a password: "+strings.Join(sudo, "; "))
		}
		if len(extraRoot) > 0 {
			why = append(why, "UID 0 accounts besides root: "+strings.Join(extraRoot, ", "))
		}
		if len(noPassword) > 0 {
			why = append(why, "accounts with a login shell and no password: "+strings.Join(noPassword, ", "))
		}
		return result(patchwatch.CheckFail, strings.Join(why, "; "), items...)
	case shadowErr != nil && !os.IsNotExist(shadowErr):
		return result(patchwatch.CheckUnknown, "/etc/shadow: "+shadowErr.Error(), items...)
	}
	return result(patchwatch.CheckPass, fmt.Sprintf("%d accounts with a login shell and a usable password; %d with authorized keys, none weak; sudo asks for a password", len(logins), len(keyItems)), items...)
}
