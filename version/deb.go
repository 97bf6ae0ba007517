package version

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every error about a version string that the
// distribution's tool itself refuses.
var ErrSyntax = errors.New("bad version syntax")

// Deb is a parsed Debian package version.
//
// Comparison is dpkg's own algorithm (lib/dpkg/version.c), written out here
// rather than delegated to github.com/knqyf263/go-deb-version: that library
// runs regular expressions on every comparison (about 40 times slower, too
// slow for fleet-wide matching) and refuses versions that dpkg compares
// with only a warning ("a1.0", "1.0^1"). The tests prove this code against
// the verdicts of the real dpkg and against go-deb-version on every row.
type Deb struct {
	raw                string
	epoch              int
	upstream, revision string
}

// String returns the version as it was given.
func (v Deb) String() string { return v.raw }

// ParseDeb parses a Debian version the way dpkg does: surrounding blanks are
// trimmed; an empty version, an empty or non-numeric epoch, an empty
// revision after a hyphen, or embedded blanks are errors (dpkg refuses
// them), while other odd characters only make dpkg warn and still compare.
func ParseDeb(s string) (Deb, error) {
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		return Deb{}, fmt.Errorf("%w: version %q is empty", ErrSyntax, s)
	}
	if strings.ContainsAny(trimmed, " \t\r\n") {
		return Deb{}, fmt.Errorf("%w: version %q has embedded spaces", ErrSyntax, s)
	}
	v := Deb{raw: s}
	rest := trimmed
	if e, r, ok := strings.Cut(trimmed, ":"); ok {
		if e == "" {
			return Deb{}, fmt.Errorf("%w: version %q has an empty epoch", ErrSyntax, s)
		}
		n, err := strconv.ParseInt(e, 10, 32)
		if err != nil || n < 0 {
			return Deb{}, fmt.Errorf("%w: version %q has an epoch that is not a number", ErrSyntax, s)
		}
		v.epoch = int(n)
		rest = r
	}
	if rest == "" {
		return Deb{}, fmt.Errorf("%w: version %q has nothing after the epoch", ErrSyntax, s)
	}
	v.upstream = rest
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		v.upstream, v.revision = rest[:i], rest[i+1:]
		if v.revision == "" {
			return Deb{}, fmt.Errorf("%w: version %q has an empty revision", ErrSyntax, s)
		}
		if v.upstream == "" {
			return Deb{}, fmt.Errorf("%w: version %q has an empty upstream part", ErrSyntax, s)
		}
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as v is older than, equal to or newer than w.
func (v Deb) Compare(w Deb) int {
	if v.epoch != w.epoch {
		if v.epoch < w.epoch {
			return -1
		}
		return 1
	}
	if c := verrevcmp(v.upstream, w.upstream); c != 0 {
		return c
	}
	return verrevcmp(v.revision, w.revision)
}

// CompareDeb parses and compares two Debian versions.
func CompareDeb(a, b string) (int, error) {
	va, err := ParseDeb(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseDeb(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// debOrder is dpkg's character weight: '~' before everything, even the end
// of the string; letters before other characters.
func debOrder(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	case c != 0:
		return int(c) + 256
	}
	return 0
}

// verrevcmp is dpkg's lib/dpkg/version.c verrevcmp: alternate runs of
// non-digits (compared by debOrder) and digits (compared as numbers).
func verrevcmp(a, b string) int {
	i, j := 0, 0
	at := func(s string, k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i < len(a) || j < len(b) {
		firstDiff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := debOrder(at(a, i)), debOrder(at(b, j))
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}
