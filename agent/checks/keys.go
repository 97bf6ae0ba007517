package checks

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
)

// authorizedKey is one key of an authorized_keys file: its type and
// size, never the key itself.
type authorizedKey struct {
	kind string
	bits int
	// from is the key's from="..." option: the sources it may log in from.
	from string
}

func (k authorizedKey) String() string {
	if k.bits > 0 {
		return fmt.Sprintf("%s %d", k.kind, k.bits)
	}
	return k.kind
}

// weak reports a key that a careful sysadmin would replace: DSA (1024-bit
// by definition, refused by OpenSSH since 7.0) and RSA under 2048 bits.
func (k authorizedKey) weak() bool {
	return k.kind == "ssh-dss" || k.kind == "ssh-rsa" && k.bits > 0 && k.bits < 2048
}

var keyTypes = []string{"ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-ed448"}

// parseAuthorizedKeys reads an authorized_keys file: one key a line,
// optionally after options ("from=\"10.0.0.0/8\",no-pty ssh-ed25519 AAAA...").
func parseAuthorizedKeys(text string) []authorizedKey {
	var keys []authorizedKey
	for raw := range strings.Lines(text) {
		f := strings.Fields(raw)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for i := 0; i+1 < len(f); i++ {
			kind := f[i]
			found := false
			for _, t := range keyTypes {
				if kind == t || strings.HasSuffix(kind, "-cert-v01@openssh.com") && strings.HasPrefix(kind, t) {
					found = true
				}
			}
			if !found {
				continue
			}
			k := authorizedKey{kind: kind, from: fromOption(strings.Join(f[:i], " "))}
			if kind == "ssh-rsa" {
				k.bits = rsaBits(f[i+1])
			}
			keys = append(keys, k)
			break
		}
	}
	return keys
}

// fromOption returns the patterns of a from="..." key option, "" without.
func fromOption(options string) string {
	for _, opt := range splitOptions(options) {
		if len(opt) >= 5 && strings.EqualFold(opt[:5], "from=") {
			return strings.Trim(opt[5:], `"`)
		}
	}
	return ""
}

// splitOptions splits authorized_keys options at commas outside quotes.
func splitOptions(s string) []string {
	var out []string
	start, quoted := 0, false
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// rsaBits returns an RSA public key's modulus size from its base64 blob
// (string "ssh-rsa", mpint e, mpint n), or 0 if it does not parse.
func rsaBits(b64 string) int {
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return 0
	}
	var fields [][]byte
	for len(blob) >= 4 && len(fields) < 3 {
		n := binary.BigEndian.Uint32(blob)
		if uint64(n) > uint64(len(blob)-4) {
			return 0
		}
		fields = append(fields, blob[4:4+n])
		blob = blob[4+n:]
	}
	if len(fields) != 3 || string(fields[0]) != "ssh-rsa" {
		return 0
	}
	return new(big.Int).SetBytes(fields[2]).BitLen()
}

// accountKeys reads an account's authorized_keys files (the OpenSSH
// default AuthorizedKeysFile: .ssh/authorized_keys and
// .ssh/authorized_keys2 in its home).
func (e *Env) accountKeys(home string) []authorizedKey {
	var keys []authorizedKey
	for _, name := range []string{".ssh/authorized_keys", ".ssh/authorized_keys2"} {
		if b, err := readFile(e.path(filepath.Join(home, name))); err == nil {
			keys = append(keys, parseAuthorizedKeys(b)...)
		}
	}
	return keys
}

// passwordlessSudo finds NOPASSWD rules in /etc/sudoers and the files of
// /etc/sudoers.d that sudo reads (it skips names with a dot or ending in ~).
func (e *Env) passwordlessSudo() []string {
	files := []string{e.path("etc/sudoers")}
	more, _ := globSorted(e.path("etc/sudoers.d/*"))
	for _, f := range more {
		if base := filepath.Base(f); !strings.Contains(base, ".") && !strings.HasSuffix(base, "~") {
			files = append(files, f)
		}
	}
	var out []string
	for _, f := range files {
		ls, err := lines(f)
		if err != nil {
			continue
		}
		for _, l := range ls {
			if strings.HasPrefix(l.text, "Defaults") || !strings.Contains(l.text, "NOPASSWD") {
				continue
			}
			out = append(out, fmt.Sprintf("%s:%d: %s", e.rel(f), l.n, l.text))
		}
	}
	return out
}
