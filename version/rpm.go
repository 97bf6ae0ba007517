package version

import (
	"fmt"
	"strings"
)

// RPM is a parsed rpm [epoch:]version[-release].
//
// Parsing and comparison are rpm 4.18's own (lib/rpmver.c and
// rpmio/rpmvercmp.c), written out here rather than delegated to
// github.com/knqyf263/go-rpm-version, whose Compare runs a regular
// expression on every call and splits at the first hyphen. The tests prove
// this code against the verdicts of the real rpm and against
// go-rpm-version on every row.
type RPM struct {
	raw string
	// epoch is nil-like when absent ("" means absent); rpm compares a
	// missing epoch as "0".
	epoch, version, release string
	hasRelease              bool
}

// String returns the version as it was given.
func (v RPM) String() string { return v.raw }

// Epoch returns the epoch as written, or "0" when absent.
func (v RPM) Epoch() string {
	if v.epoch == "" {
		return "0"
	}
	return v.epoch
}

// VersionRelease returns "version-release" without the epoch.
func (v RPM) VersionRelease() string {
	if v.hasRelease {
		return v.version + "-" + v.release
	}
	return v.version
}

// WithEpoch returns v with its epoch replaced.
func (v RPM) WithEpoch(epoch string) RPM {
	v.epoch = epoch
	return v
}

// HasEpoch reports whether the string carried an explicit epoch.
func (v RPM) HasEpoch() bool { return v.epoch != "" }

// ParseRPM parses an EVR the way rpm's rpmverParse does: leading digits
// followed by ':' are the epoch (a ':' after anything else belongs to the
// version), and the release follows the last '-'.
func ParseRPM(evr string) (RPM, error) {
	if strings.TrimSpace(evr) == "" {
		return RPM{}, fmt.Errorf("%w: empty rpm version", ErrSyntax)
	}
	v := RPM{raw: evr}
	s := evr
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < len(s) && s[i] == ':' {
		v.epoch = s[:i]
		if v.epoch == "" {
			v.epoch = "0"
		}
		s = s[i+1:]
	}
	if j := strings.LastIndexByte(s, '-'); j >= 0 {
		v.version, v.release, v.hasRelease = s[:j], s[j+1:], true
	} else {
		v.version = s
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as v is older than, equal to or newer than w,
// by rpm's rpmverCmp: epoch, then version, then release, each with
// rpmvercmp; an absent release sorts below any release.
func (v RPM) Compare(w RPM) int {
	if c := RPMVerCmp(v.Epoch(), w.Epoch()); c != 0 {
		return c
	}
	if c := RPMVerCmp(v.version, w.version); c != 0 {
		return c
	}
	switch {
	case v.hasRelease && w.hasRelease:
		return RPMVerCmp(v.release, w.release)
	case v.hasRelease:
		return 1
	case w.hasRelease:
		return -1
	}
	return 0
}

// CompareRPM parses and compares two EVR strings.
func CompareRPM(a, b string) (int, error) {
	va, err := ParseRPM(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseRPM(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// RPMVerCmp is rpm's rpmvercmp on two version or release strings: runs of
// digits compare as numbers, runs of letters as strings, a digit run is
// newer than a letter run, '~' sorts before everything (even the end) and
// '^' after the end but before anything else; other characters separate.
func RPMVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isDigit(a[i]) && !isAlpha(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isDigit(b[j]) && !isAlpha(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		ca, cb := byteAt(a, i), byteAt(b, j)
		if ca == '~' || cb == '~' {
			if ca != '~' {
				return 1
			}
			if cb != '~' {
				return -1
			}
			i, j = i+1, j+1
			continue
		}
		if ca == '^' || cb == '^' {
			if i == len(a) {
				return -1
			}
			if j == len(b) {
				return 1
			}
			if ca != '^' {
				return 1
			}
			if cb != '^' {
				return -1
			}
			i, j = i+1, j+1
			continue
		}
		if i == len(a) || j == len(b) {
			break
		}
		ei, ej := i, j
		isNum := isDigit(a[i])
		if isNum {
			for ei < len(a) && isDigit(a[ei]) {
				ei++
			}
			for ej < len(b) && isDigit(b[ej]) {
				ej++
			}
		} else {
			for ei < len(a) && isAlpha(a[ei]) {
				ei++
			}
			for ej < len(b) && isAlpha(b[ej]) {
				ej++
			}
		}
		if ej == j {
			// b's segment is of the other kind: a number beats letters.
			if isNum {
				return 1
			}
			return -1
		}
		sa, sb := a[i:ei], b[j:ej]
		if isNum {
			sa, sb = strings.TrimLeft(sa, "0"), strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
		i, j = ei, ej
	}
	if i == len(a) && j == len(b) {
		return 0
	}
	if i == len(a) {
		return -1
	}
	return 1
}

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}
