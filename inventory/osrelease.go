// Package inventory parses what a host runs: os-release, dpkg status files
// and dpkg-query output, into patchwatch hosts.
package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// ParseOSRelease reads an os-release file (os-release(5)): KEY=value lines,
// values optionally quoted with shell quoting.
func ParseOSRelease(name string, data []byte) (patchwatch.OSRelease, error) {
	var os patchwatch.OSRelease
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return os, fmt.Errorf("%s:%d: not a KEY=value line", name, line)
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') {
			if value[len(value)-1] != value[0] {
				return os, fmt.Errorf("%s:%d: unterminated quote", name, line)
			}
			if value[0] == '"' {
				if unq, err := strconv.Unquote(value); err == nil {
					value = unq
				} else {
					value = value[1 : len(value)-1]
				}
			} else {
				value = value[1 : len(value)-1]
			}
		}
		switch key {
		case "ID":
			os.ID = value
		case "VERSION_ID":
			os.VersionID = value
		case "VERSION_CODENAME":
			os.VersionCodename = value
		case "PRETTY_NAME":
			os.PrettyName = value
		}
	}
	if err := sc.Err(); err != nil {
		return os, fmt.Errorf("%s: %w", name, err)
	}
	if os.ID == "" {
		return os, fmt.Errorf("%s: no ID= line: not an os-release file", name)
	}
	return os, nil
}
