package checks

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// socket is a listening socket read from /proc/net.
type socket struct {
	proto string
	addr  netip.AddrPort
	inode string
}

func (s socket) String() string { return s.proto + " " + s.addr.String() }

// Socket states in /proc/net/tcp: 0A is LISTEN; unconnected UDP sockets
// are 07 (CLOSE).
const (
	tcpListen = "0A"
	udpClose  = "07"
)

// listening reads the sockets that listen on non-loopback addresses, and
// the names of the processes that hold them by inode.
func (e *Env) listening() ([]socket, map[string]string, error) {
	var out []socket
	read := 0
	for _, t := range []struct{ file, proto, state string }{
		{"tcp", "tcp", tcpListen}, {"tcp6", "tcp", tcpListen},
		{"udp", "udp", udpClose}, {"udp6", "udp", udpClose},
	} {
		b, err := os.ReadFile(filepath.Join(e.Proc, "net", t.file))
		switch {
		case os.IsNotExist(err):
			continue // no IPv6, say
		case err != nil:
			return nil, nil, err
		}
		read++
		socks, err := parseProcNet(string(b), t.proto, t.state)
		if err != nil {
			return nil, nil, fmt.Errorf("/proc/net/%s: %w", t.file, err)
		}
		out = append(out, socks...)
	}
	if read == 0 {
		return nil, nil, errors.New("/proc/net/tcp is missing")
	}
	return out, e.owners(), nil
}

// parseProcNet parses /proc/net/{tcp,udp}{,6}, keeping sockets in state
// that are bound to a non-loopback address. UDP sockets must also have no
// remote address, or they are connected clients.
func parseProcNet(text, proto, state string) ([]socket, error) {
	var out []socket
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 10 {
			continue
		}
		if f[3] != state {
			continue
		}
		local, err := parseProcAddr(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if proto == "udp" {
			remote, err := parseProcAddr(f[2])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			if remote.Port() != 0 {
				continue
			}
		}
		a := local.Addr().Unmap()
		if a.IsLoopback() {
			continue
		}
		out = append(out, socket{proto, netip.AddrPortFrom(a, local.Port()), f[9]})
	}
	return out, nil
}

// parseProcAddr parses "0100007F:0019": the address is the kernel's
// network-order bytes printed as host-order 32-bit words.
func parseProcAddr(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	a, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// owners maps socket inodes to the names of the processes that hold them.
func (e *Env) owners() map[string]string {
	out := map[string]string{}
	for pid, comm := range e.processes() {
		fdDir := filepath.Join(e.Proc, pid, "fd")
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(target, "socket:["); ok {
				out[strings.TrimSuffix(inode, "]")] = comm
			}
		}
	}
	return out
}

var mailPorts = []uint16{25, 465, 587}

func noMailServer(ctx context.Context, e *Env) patchwatch.CheckResult {
	socks, names, err := e.listening()
	if err != nil {
		return result(patchwatch.CheckUnknown, err.Error())
	}
	var bad []string
	for _, s := range socks {
		if s.proto == "tcp" && slices.Contains(mailPorts, s.addr.Port()) {
			bad = append(bad, describe(s, names))
		}
	}
	if len(bad) > 0 {
		return result(patchwatch.CheckFail, "listening: "+strings.Join(bad, ", "), bad...)
	}
	return result(patchwatch.CheckPass, "nothing listens on TCP 25, 465 or 587 outside loopback")
}

func describe(s socket, names map[string]string) string {
	if n := names[s.inode]; n != "" {
		return s.String() + " (" + n + ")"
	}
	return s.String()
}

// expectedListeners are what every cloud VM runs: sshd, and the DHCP
// clients that configure its network.
func expected(s socket) bool {
	switch {
	case s.proto == "tcp" && s.addr.Port() == 22:
		return true
	case s.proto == "udp" && (s.addr.Port() == 68 || s.addr.Port() == 546):
		return true
	}
	return false
}

func listeningServices(ctx context.Context, e *Env) patchwatch.CheckResult {
	socks, names, err := e.listening()
	if err != nil {
		return result(patchwatch.CheckUnknown, err.Error())
	}
	var items, review []string
	seen := map[string]bool{}
	for _, s := range socks {
		d := describe(s, names)
		if seen[d] {
			continue
		}
		seen[d] = true
		items = append(items, d)
		if !expected(s) {
			review = append(review, d)
		}
	}
	slices.Sort(items)
	slices.Sort(review)
	if len(review) > 0 {
		return result(patchwatch.CheckFail, "listening on public addresses besides SSH: "+strings.Join(review, ", "), items...)
	}
	return result(patchwatch.CheckPass, fmt.Sprintf("%d listening sockets outside loopback, SSH and DHCP only", len(items)), items...)
}

// isPrivate reports whether an address is private (RFC 1918, ULA) or
// loopback: not reachable from the internet.
func isPrivate(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && (a.IsPrivate() || a.IsLoopback())
}
