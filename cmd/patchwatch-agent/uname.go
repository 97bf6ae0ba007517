package main

import (
	"golang.org/x/sys/unix"
)

// uname returns the running kernel's release and version, as `uname -r`
// and `uname -v` print them.
func uname() (string, string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", err
	}
	return unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Version[:]), nil
}
