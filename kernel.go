package patchwatch

import (
	"regexp"
	"strings"
)

// notKernelSources are source packages whose names start with "linux-"
// but do not build a kernel.
var notKernelSources = map[string]bool{
	"linux-base": true, "linux-atm": true, "linux-ftpd": true, "linux-igd": true,
	"linux-user-chroot": true, "linux-apfs-rw": true, "linux-sound-base": true,
	"linux-wlan-ng": true, "linux-show-user": true,
}

// IsKernelSource reports whether a source package builds a Linux kernel or
// its signed, meta or module companions, whose fixes need a reboot.
func IsKernelSource(name string) bool {
	if name == "linux" {
		return true
	}
	// linux-firmware counts: new firmware is loaded only at boot.
	return strings.HasPrefix(name, "linux-") && !notKernelSources[name]
}

// kernelABI matches the ABI string inside versioned kernel package names:
// "5.4.0-1059" in linux-modules-5.4.0-1059-bluefield, "6.1.0-13" in
// linux-image-6.1.0-13-amd64.
var kernelABI = regexp.MustCompile(`\d+\.\d+(?:\.\d+)?-\d+`)

// KernelABI returns the ABI string of a binary package built for one kernel
// ABI (several of which are installed side by side), or "" when the package
// is not ABI-versioned (meta packages, linux-libc-dev, firmware).
func KernelABI(binary, source string) string {
	if !IsKernelSource(source) || source == "linux-firmware" {
		return ""
	}
	return kernelABI.FindString(binary)
}

// RunningKernelABI returns the ABI string of a running kernel release as
// `uname -r` prints it ("5.15.0-91-generic" gives "5.15.0-91").
func RunningKernelABI(release string) string {
	return kernelABI.FindString(release)
}
