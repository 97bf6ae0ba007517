package checks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/patchwatch/patchwatch"
)

// Mappings that are deleted in normal operation (needrestart's own
// exclusions): shared memory, temporary files, anonymous files.
var staleIgnored = []string{"/dev/", "/SYSV", "/memfd:", "/tmp/", "/var/tmp/", "/run/", "/dev/shm/", "/[aio]", "/drm", "/home/", "/proc/", "/var/lib/", "/var/cache/", "/var/log/", "/var/run/"}

// maxMapsBytes bounds how much of one process's maps is read.
const maxMapsBytes = 4 << 20

// staleProcess is a process that maps a library or binary replaced on disk.
type staleProcess struct {
	pid, comm, unit string
	files           []string
}

// staleLibraries finds processes still running libraries or binaries that
// an update replaced: on RPM hosts `needs-restarting -s` names the
// services; otherwise, as needrestart does, /proc/PID/maps entries marked
// "(deleted)" or whose inode is no longer the file's. Services are named
// from their cgroup, and the restart line goes into the result's Command.
func staleLibraries(ctx context.Context, e *Env) patchwatch.CheckResult {
	if e.Family == "rpm" {
		if out, found, err := run(ctx, e, "needs-restarting", "-s"); found && err == nil {
			var services []string
			for l := range strings.Lines(out) {
				if s := strings.TrimSpace(l); strings.HasSuffix(s, ".service") {
					services = append(services, s)
				}
			}
			slices.Sort(services)
			if len(services) == 0 {
				return result(patchwatch.CheckPass, "needs-restarting -s: no service needs a restart")
			}
			return staleResult("needs-restarting -s", services, services, nil)
		}
	}
	procs, err := e.staleProcesses()
	if err != nil {
		return result(patchwatch.CheckUnknown, err.Error())
	}
	var services, items, sessions []string
	for _, p := range procs {
		files := strings.Join(p.files, ", ")
		if p.unit == "" {
			sessions = append(sessions, fmt.Sprintf("pid %s (%s)", p.pid, p.comm))
			items = append(items, fmt.Sprintf("pid %s (%s), outside a service: %s", p.pid, p.comm, files))
			continue
		}
		if !slices.Contains(services, p.unit) {
			services = append(services, p.unit)
		}
		items = append(items, fmt.Sprintf("%s: pid %s (%s): %s", p.unit, p.pid, p.comm, files))
	}
	slices.Sort(services)
	if len(services) == 0 {
		if len(sessions) > 0 {
			return result(patchwatch.CheckPass, "no service runs replaced libraries; processes outside services do (they pick up the update when restarted or at the next login): "+strings.Join(sessions, ", "), items...)
		}
		return result(patchwatch.CheckPass, fmt.Sprintf("%d processes read: none maps a deleted or replaced library", len(e.processes())))
	}
	return staleResult("/proc/*/maps", services, items, sessions)
}

func staleResult(source string, services, items, sessions []string) patchwatch.CheckResult {
	var restart []string
	reexec := false
	for _, s := range services {
		if s == "init.scope" {
			reexec = true // PID 1: systemd re-executes itself instead
			continue
		}
		restart = append(restart, s)
	}
	var cmds []string
	if len(restart) > 0 {
		cmds = append(cmds, "sudo systemctl restart "+strings.Join(restart, " "))
	}
	if reexec {
		cmds = append(cmds, "sudo systemctl daemon-reexec")
	}
	ev := fmt.Sprintf("%s: %d services run replaced libraries: %s", source, len(services), strings.Join(services, ", "))
	if len(sessions) > 0 {
		ev += fmt.Sprintf("; and %d processes outside services", len(sessions))
	}
	r := result(patchwatch.CheckFail, ev, items...)
	r.Command = truncate(strings.Join(cmds, " && "), maxEvidence)
	return r
}

// staleProcesses reads every process's maps; it fails when it may not
// read those of other users' processes.
func (e *Env) staleProcesses() ([]staleProcess, error) {
	procs := e.processes()
	if len(procs) == 0 {
		return nil, fmt.Errorf("no processes in %s", e.rel(e.Proc))
	}
	pids := make([]string, 0, len(procs))
	for pid := range procs {
		pids = append(pids, pid)
	}
	slices.SortFunc(pids, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	var out []staleProcess
	sc := &mapsScanner{buf: make([]byte, 64<<10), inodes: map[string]fileID{}}
	for _, pid := range pids {
		files := e.staleMappings(filepath.Join(e.Proc, pid, "maps"), sc)
		if len(files) == 0 {
			continue
		}
		p := staleProcess{pid: pid, comm: procs[pid], files: files}
		if b, err := os.ReadFile(filepath.Join(e.Proc, pid, "cgroup")); err == nil {
			p.unit = unitOf(string(b))
		}
		out = append(out, p)
	}
	// Most maps unreadable: not root. A few: processes of another
	// namespace or one that changed its credentials; the rest still tell.
	if sc.denied*2 > len(pids) {
		return nil, fmt.Errorf("the maps of %d of %d processes may not be read: the agent must run as root", sc.denied, len(pids))
	}
	return out, nil
}

// staleMappings returns the files a maps file shows deleted or replaced:
// "7f2c...-7f2c... r-xp 00000000 fd:01 1312 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)".
// A file that is still there but with another inode was replaced too
// (an update writes a new file and renames it over the old).
func (e *Env) staleMappings(maps string, ms *mapsScanner) []string {
	f, err := os.Open(maps)
	if err != nil {
		// The process ended, or is not ours to read (the agent runs as
		// root to read them all).
		if os.IsPermission(err) {
			ms.denied++
		}
		return nil
	}
	defer f.Close()
	var files []string
	sc := bufio.NewScanner(io.LimitReader(f, maxMapsBytes))
	sc.Buffer(ms.buf, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		// Off the live system only the kernel's own mark counts: skip the
		// other lines unsplit.
		if !e.Live && !bytes.HasSuffix(line, deletedMark) {
			continue
		}
		fields := strings.Fields(string(line))
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
			continue
		}
		path := strings.Join(fields[5:], " ")
		deleted := false
		if p, ok := strings.CutSuffix(path, " (deleted)"); ok {
			path, deleted = p, true
		}
		if slices.ContainsFunc(staleIgnored, func(prefix string) bool { return strings.HasPrefix(path, prefix) }) {
			continue
		}
		// A file that is gone or has another inode only counts on the live
		// system: a tree's copy has its own files.
		if !deleted && e.Live {
			inode, err := strconv.ParseUint(fields[4], 10, 64)
			if err != nil || inode == 0 {
				continue
			}
			id := ms.stat(path)
			switch {
			case id.missing:
				deleted = true
			case id.known && id.ino != inode && sameDevice(fields[3], id.dev):
				// Inodes compare on the same device only (overlayfs shows
				// another one in maps than stat does).
				deleted = true
			}
		}
		if !deleted {
			continue
		}
		if name := filepath.Base(path); !slices.Contains(files, name) {
			files = append(files, name)
		}
	}
	return files
}

// unitOf returns the systemd unit a process runs in, from its cgroup
// ("0::/system.slice/nginx.service"), or "" outside a service.
func unitOf(cgroup string) string {
	for l := range strings.Lines(cgroup) {
		_, path, ok := strings.Cut(strings.TrimSpace(l), "::")
		if !ok {
			parts := strings.SplitN(strings.TrimSpace(l), ":", 3)
			if len(parts) != 3 || (parts[1] != "name=systemd" && parts[1] != "") {
				continue
			}
			path = parts[2]
		}
		for _, part := range slices.Backward(strings.Split(path, "/")) {
			if strings.HasSuffix(part, ".service") {
				return part
			}
			if part == "init.scope" {
				return part
			}
		}
		return ""
	}
	return ""
}

var deletedMark = []byte(" (deleted)")

// mapsScanner holds what reading every process's maps shares: the line
// buffer, and each mapped file's identity, stat'ed once.
type mapsScanner struct {
	buf    []byte
	inodes map[string]fileID
	// denied counts the processes whose maps could not be read.
	denied int
}

type fileID struct {
	known, missing bool
	dev, ino       uint64
}

func (m *mapsScanner) stat(path string) fileID {
	if id, ok := m.inodes[path]; ok {
		return id
	}
	var id fileID
	st, err := os.Stat(path)
	if err != nil {
		id.missing = os.IsNotExist(err)
	} else if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id = fileID{known: true, dev: uint64(sys.Dev), ino: sys.Ino}
	}
	m.inodes[path] = id
	return id
}

// sameDevice compares maps' "fd:01" (major:minor, hex) with a stat device
// number in Linux's encoding.
func sameDevice(mapsDev string, dev uint64) bool {
	maj, mnr, ok := strings.Cut(mapsDev, ":")
	if !ok {
		return false
	}
	major, err1 := strconv.ParseUint(maj, 16, 32)
	minor, err2 := strconv.ParseUint(mnr, 16, 32)
	if err1 != nil || err2 != nil {
		return false
	}
	return major == (dev>>8)&0xfff|(dev>>32)&^0xfff && minor == dev&0xff|(dev>>12)&^0xff
}
