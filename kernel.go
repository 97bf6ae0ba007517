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

// rpmKernelPackages are the rpm names of the packages one kernel is
// installed as; several versions of each live side by side.
var rpmKernelPackages = map[string]bool{
	"kernel": true, "kernel-core": true, "kernel-modules": true, "kernel-modules-core": true, "kernel-modules-extra": true,
	"kernel-rt": true, "kernel-rt-core": true, "kernel-rt-modules": true, "kernel-rt-modules-core": true, "kernel-rt-modules-extra": true,
	"kernel-64k": true, "kernel-64k-core": true, "kernel-64k-modules": true, "kernel-64k-modules-core": true, "kernel-uki-virt": true,
	"kernel-debug": true, "kernel-debug-core": true, "kernel-debug-modules": true,
}

// IsRPMKernel reports whether an rpm is part of an installed kernel.
func IsRPMKernel(name string) bool { return rpmKernelPackages[name] }

// RPMRunningKernel returns the version-release of a running RHEL-family
// kernel from `uname -r` ("5.14.0-362.8.1.el9_3.x86_64" gives
// "5.14.0-362.8.1.el9_3"), dropping the architecture and any flavour
// suffix ("+debug", "+rt").
func RPMRunningKernel(release string) string {
	release, _, _ = strings.Cut(release, "+")
	for _, arch := range []string{".x86_64", ".aarch64", ".ppc64le", ".s390x", ".i686"} {
		if r, ok := strings.CutSuffix(release, arch); ok {
			return r
		}
	}
	return release
}
