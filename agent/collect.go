// Package agent collects what a VM runs into a report and sends it to the
// patchwatch API: enrollment, the host token kept in a root-only file, and
// retries.
package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/agent/checks"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/version"
)

// Options say where to collect from.
type Options struct {
	// Root is the root of the filesystem to read; "/" is the live system.
	Root string
	// KernelRelease and KernelVersion override `uname -r` / `uname -v`
	// (for a root tree, whose kernel is not the running one).
	KernelRelease, KernelVersion string
	// RPMCommand is the rpm binary used to read the rpm database; default "rpm".
	RPMCommand string
	// NeedsRestarting is RHEL's reboot check; default "needs-restarting".
	NeedsRestarting string
	// Uname returns the running kernel; nil for a root tree.
	Uname func() (release, version string, err error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Checks runs the security-guideline checks, each within CheckTimeout
	// (default 10s).
	Checks       bool
	CheckTimeout time.Duration
}

func (o *Options) path(p string) string { return filepath.Join(o.Root, p) }

// Collect reads the system under opts.Root into a report: os-release,
// the dpkg or rpm package database, the running kernel and the reboot
// signals. It changes nothing.
func Collect(ctx context.Context, opts Options) (inventory.Report, error) {
	if opts.Root == "" {
		opts.Root = "/"
	}
	if opts.RPMCommand == "" {
		opts.RPMCommand = "rpm"
	}
	if opts.NeedsRestarting == "" {
		opts.NeedsRestarting = "needs-restarting"
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	rep := inventory.Report{Schema: inventory.ReportSchema, Agent: "patchwatch-agent", Collected: now().UTC()}
	osrName := opts.path("etc/os-release")
	osrData, err := os.ReadFile(osrName)
	if errors.Is(err, fs.ErrNotExist) {
		osrName = opts.path("usr/lib/os-release")
		osrData, err = os.ReadFile(osrName)
	}
	if err != nil {
		return rep, fmt.Errorf("read os-release: %w", err)
	}
	osr, err := inventory.ParseOSRelease(osrName, osrData)
	if err != nil {
		return rep, err
	}
	rep.OSRelease = inventory.ReportOSRelease{ID: osr.ID, VersionID: osr.VersionID, VersionCodename: osr.VersionCodename, PrettyName: osr.PrettyName}
	if b, err := os.ReadFile(opts.path("etc/debian_version")); err == nil {
		rep.OSRelease.DebianVersion = strings.TrimSpace(string(b))
	}
	rep.Host.Hostname = hostname(opts)
	rep.Kernel = ReportKernel(opts)
	if b, err := os.ReadFile(opts.path("proc/stat")); err == nil && opts.Root == "/" {
		rep.BootTime = bootTime(b)
	}
	if _, err := os.Stat(opts.path("var/lib/dpkg/status")); err == nil {
		if err := collectDpkg(opts, &rep); err != nil {
			return rep, err
		}
	} else if rpmDatabase(opts) {
		if err := collectRPM(ctx, opts, &rep); err != nil {
			return rep, err
		}
	} else {
		return rep, fmt.Errorf("no dpkg status file or rpm database under %s", opts.Root)
	}
	rep.Reboot = rebootSignals(ctx, opts, &rep)
	if opts.Checks {
		rep.Checks = runChecks(ctx, opts, &rep)
	}
	return rep, rep.Validate()
}

// runChecks runs the security-guideline checks against what Collect read.
// On the live system they may run commands (sshd -T, nft); on a root tree
// they read its files only.
func runChecks(ctx context.Context, opts Options, rep *inventory.Report) []patchwatch.CheckResult {
	timeout := opts.CheckTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	live := opts.Root == "/"
	e := &checks.Env{Root: opts.Root, Proc: opts.path("proc"), Live: live, Family: rep.Format, Now: opts.Now,
		KernelRelease: rep.Kernel.Release, Packages: make(map[string]bool, len(rep.Packages))}
	if live {
		e.Commands = checks.ExecCommander{}
		e.Dial = (&net.Dialer{Timeout: 2 * time.Second}).DialContext
	}
	for _, p := range rep.Packages {
		e.Packages[p.Name] = true
	}
	if rep.Kernel.Release != "" {
		newer := newerKernelInstalled(rep) || kernelInRebootPackages(rep.Reboot.Packages)
		e.NewerKernel = &newer
	}
	return checks.Run(ctx, e, timeout)
}

// kernelInRebootPackages reports whether Debian's reboot-required.pkgs
// names a kernel package.
func kernelInRebootPackages(pkgs []string) bool {
	for _, p := range pkgs {
		if strings.HasPrefix(p, "linux-image-") {
			return true
		}
	}
	return false
}

// ReportKernel returns the running kernel, from the options or uname.
func ReportKernel(opts Options) inventory.ReportKernel {
	k := inventory.ReportKernel{Release: opts.KernelRelease, Version: opts.KernelVersion}
	if k.Release == "" && opts.Uname != nil {
		if r, v, err := opts.Uname(); err == nil {
			k.Release, k.Version = r, v
		}
	}
	return k
}

func hostname(opts Options) string {
	if opts.Root == "/" {
		if h, err := os.Hostname(); err == nil {
			return h
		}
	}
	if b, err := os.ReadFile(opts.path("etc/hostname")); err == nil {
		if h := strings.TrimSpace(string(b)); h != "" {
			return h
		}
	}
	return filepath.Base(filepath.Clean(opts.Root))
}

// bootTime reads btime from /proc/stat.
func bootTime(stat []byte) time.Time {
	for line := range bytes.Lines(stat) {
		if rest, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			if secs, err := strconv.ParseInt(string(bytes.TrimSpace(rest)), 10, 64); err == nil {
				return time.Unix(secs, 0).UTC()
			}
		}
	}
	return time.Time{}
}

func collectDpkg(opts Options, rep *inventory.Report) error {
	name := opts.path("var/lib/dpkg/status")
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	pkgs, _, err := inventory.ParsePackages(name, data)
	if err != nil {
		return err
	}
	rep.Format = "deb"
	for _, p := range pkgs {
		rep.Packages = append(rep.Packages, inventory.ReportPackage{Name: p.Name, Version: p.Version, Arch: p.Arch, SourceName: p.SourceName, SourceVersion: p.SourceVersion})
	}
	return nil
}

func rpmDatabase(opts Options) bool {
	for _, p := range []string{"var/lib/rpm", "usr/lib/sysimage/rpm"} {
		if st, err := os.Stat(opts.path(p)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

func collectRPM(ctx context.Context, opts Options, rep *inventory.Report) error {
	query := strings.TrimPrefix(strings.TrimSuffix(inventory.RecommendedRPMQuery, "'"), "rpm -qa --qf '")
	query = strings.ReplaceAll(query, `\t`, "\t")
	query = strings.ReplaceAll(query, `\n`, "\n")
	cmd := exec.CommandContext(ctx, opts.RPMCommand, "--root", opts.Root, "-qa", "--qf", query)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s -qa: %w: %s", opts.RPMCommand, err, strings.TrimSpace(stderr.String()))
	}
	list, err := inventory.ParseRPMPackages("rpm -qa", out)
	if err != nil {
		return err
	}
	rep.Format = "rpm"
	for _, p := range list.Packages {
		v, err := version.ParseRPM(p.Version)
		if err != nil {
			return err
		}
		epoch, err := strconv.Atoi(v.Epoch())
		if err != nil {
			return fmt.Errorf("package %s: epoch %q", p.Name, v.Epoch())
		}
		srcVersion := ""
		if p.SourceVersion != "" {
			sv, _ := version.ParseRPM(p.SourceVersion)
			srcVersion = sv.VersionRelease()
		}
		rep.Packages = append(rep.Packages, inventory.ReportPackage{Name: p.Name, Epoch: &epoch, Version: v.VersionRelease(), Arch: p.Arch,
			SourceName: p.SourceName, SourceVersion: srcVersion, Module: p.Module})
	}
	return nil
}

// rebootSignals reads the distribution's own reboot flags: Debian and
// Ubuntu's /var/run/reboot-required (+ .pkgs), RHEL's `needs-restarting
// -r` on the live system, and a newer installed kernel than the running one.
func rebootSignals(ctx context.Context, opts Options, rep *inventory.Report) inventory.ReportReboot {
	for _, p := range []string{"run/reboot-required", "var/run/reboot-required"} {
		if _, err := os.Stat(opts.path(p)); err == nil {
			r := inventory.ReportReboot{Required: true, Source: "/" + p}
			if b, err := os.ReadFile(opts.path(p + ".pkgs")); err == nil {
				r.Packages = append(r.Packages, strings.Fields(string(b))...)
			}
			return r
		}
	}
	if rep.Format == "rpm" && opts.Root == "/" {
		if path, err := exec.LookPath(opts.NeedsRestarting); err == nil {
			err := exec.CommandContext(ctx, path, "-r").Run()
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.ExitCode() == 1 {
				return inventory.ReportReboot{Required: true, Source: "needs-restarting -r"}
			}
		}
	}
	if newerKernelInstalled(rep) {
		return inventory.ReportReboot{Required: true, Source: "a newer kernel is installed than the one running"}
	}
	return inventory.ReportReboot{}
}

// newerKernelInstalled compares the newest installed kernel with the
// running one (uname -r).
func newerKernelInstalled(rep *inventory.Report) bool {
	if rep.Kernel.Release == "" {
		return false
	}
	if rep.Format == "rpm" {
		running := patchwatch.RPMRunningKernel(rep.Kernel.Release)
		rv, err := version.ParseRPM(running)
		if err != nil {
			return false
		}
		for _, p := range rep.Packages {
			if p.Name == "kernel-core" || p.Name == "kernel" {
				if v, err := version.ParseRPM(p.Version); err == nil && v.Compare(rv) > 0 {
					return true
				}
			}
		}
		return false
	}
	running := patchwatch.RunningKernelABI(rep.Kernel.Release)
	if running == "" {
		return false
	}
	runningVersion, newest := "", ""
	for _, p := range rep.Packages {
		if !strings.HasPrefix(p.Name, "linux-image-") {
			continue
		}
		abi := patchwatch.KernelABI(p.Name, "linux")
		if abi == "" {
			continue
		}
		if abi == running {
			runningVersion = p.Version
		}
		if newest == "" {
			newest = p.Version
		} else if c, err := version.CompareDeb(p.Version, newest); err == nil && c > 0 {
			newest = p.Version
		}
	}
	if runningVersion == "" || newest == "" {
		return false
	}
	c, err := version.CompareDeb(newest, runningVersion)
	return err == nil && c > 0
}
