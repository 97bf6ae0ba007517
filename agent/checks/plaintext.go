package checks

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
)

// plaintextPorts are protocols that send passwords and data in the clear.
var plaintextPorts = map[uint16]string{21: "FTP", 23: "telnet", 110: "POP3", 143: "IMAP", 389: "LDAP", 8080: "HTTP on 8080"}

// databasePorts are servers that speak plain text unless TLS is set up.
var databasePorts = map[uint16]string{5432: "PostgreSQL", 3306: "MySQL", 6379: "Redis", 27017: "MongoDB"}

const (
	// certWarning is how soon a certificate's expiry fails the check.
	certWarning = 14 * 24 * time.Hour
	// maxProbes bounds the TLS handshakes one run makes.
	maxProbes   = 20
	probeTimout = 2 * time.Second
)

// plaintextServices fails listeners of plaintext protocols outside
// loopback: FTP, telnet, POP3, IMAP, LDAP, HTTP on 8080, HTTP on 80 when
// nothing serves 443 and port 80 does not redirect to https, databases
// that do not offer TLS; and TLS certificates on listening ports that
// expire within 14 days.
func plaintextServices(ctx context.Context, e *Env) patchwatch.CheckResult {
	socks, names, err := e.listening()
	if err != nil {
		return result(patchwatch.CheckUnknown, err.Error())
	}
	var bad, ok, unknown []string
	tls443 := slices.ContainsFunc(socks, func(s socket) bool { return s.proto == "tcp" && s.addr.Port() == 443 })
	probes := 0
	seen := map[uint16]bool{}
	for _, s := range socks {
		port := s.addr.Port()
		if s.proto != "tcp" || seen[port] {
			continue
		}
		seen[port] = true
		d := describe(s, names)
		switch {
		case plaintextPorts[port] != "":
			bad = append(bad, d+": "+plaintextPorts[port]+" is plain text")
		case port == 80:
			switch {
			case tls443:
				ok = append(ok, d+": HTTPS is served on 443 too")
			case e.Dial == nil || !probeTime(ctx):
				bad = append(bad, d+": HTTP, and nothing listens on 443")
			default:
				if loc, redirects := e.httpRedirect(ctx, s); redirects {
					ok = append(ok, d+": redirects to "+loc)
				} else {
					bad = append(bad, d+": HTTP without a redirect to https, and nothing listens on 443")
				}
			}
		case databasePorts[port] != "":
			name := databasePorts[port]
			if e.Dial == nil {
				unknown = append(unknown, d+": "+name+"'s TLS is probed on the live system only")
				continue
			}
			if !probeTime(ctx) {
				unknown = append(unknown, d+": "+name+" not probed within the check's time limit")
				continue
			}
			offers, err := e.databaseTLS(ctx, s)
			switch {
			case err != nil:
				unknown = append(unknown, d+": "+name+": "+err.Error())
			case !offers:
				bad = append(bad, d+": "+name+" does not offer TLS")
			default:
				ok = append(ok, d+": "+name+" offers TLS")
			}
		case port != 22 && e.Dial != nil && probes < maxProbes && probeTime(ctx):
			probes++
			if expiry, subject, isTLS := e.certificate(ctx, s); isTLS {
				left := expiry.Sub(e.now())
				if left < certWarning {
					bad = append(bad, fmt.Sprintf("%s: certificate %s expires %s", d, subject, expiry.UTC().Format("2006-01-02")))
				} else {
					ok = append(ok, fmt.Sprintf("%s: certificate valid until %s", d, expiry.UTC().Format("2006-01-02")))
				}
			}
		}
	}
	items := append(append(append([]string{}, bad...), unknown...), ok...)
	switch {
	case len(bad) > 0:
		return result(patchwatch.CheckFail, strings.Join(bad, "; "), items...)
	case len(unknown) > 0:
		return result(patchwatch.CheckUnknown, strings.Join(unknown, "; "), items...)
	}
	return result(patchwatch.CheckPass, fmt.Sprintf("no plaintext service listens outside loopback (%d TCP ports read)", len(seen)), items...)
}

// probeTime reports whether another probe fits in the check's time
// limit, so that hung services leave the check a result rather than a
// timeout.
func probeTime(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > 2*probeTimout
}

// probeAddress is where to reach a socket from the host itself: the
// wildcard addresses through loopback.
func probeAddress(s socket) string {
	a := s.addr.Addr()
	switch {
	case a.IsUnspecified() && a.Is4():
		a = netip.MustParseAddr("127.0.0.1")
	case a.IsUnspecified():
		a = netip.IPv6Loopback()
	}
	return netip.AddrPortFrom(a, s.addr.Port()).String()
}

func (e *Env) probe(ctx context.Context, s socket) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimout)
	defer cancel()
	conn, err := e.Dial(ctx, "tcp", probeAddress(s))
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(probeTimout))
	return conn, nil
}

// httpRedirect asks port 80 for / and reports whether it answers with a
// redirect to https.
func (e *Env) httpRedirect(ctx context.Context, s socket) (string, bool) {
	conn, err := e.probe(ctx, s)
	if err != nil {
		return "", false
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: patchwatch-agent\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(io.LimitReader(conn, 64<<10)), nil)
	if err != nil {
		return "", false
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && strings.HasPrefix(loc, "https://") {
		return truncate(loc, 100), true
	}
	return "", false
}

// certificate makes a TLS handshake (without verifying: the certificate
// is read, not trusted) and returns the leaf's expiry.
func (e *Env) certificate(ctx context.Context, s socket) (time.Time, string, bool) {
	conn, err := e.probe(ctx, s)
	if err != nil {
		return time.Time{}, "", false
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}) //nolint:gosec // reads the expiry only
	if err := tc.HandshakeContext(ctx); err != nil {
		return time.Time{}, "", false
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return time.Time{}, "", false
	}
	subject := certs[0].Subject.CommonName
	if len(certs[0].DNSNames) > 0 {
		subject = certs[0].DNSNames[0]
	}
	return certs[0].NotAfter, strconv.Quote(subject), true
}

// databaseTLS asks a database server whether it offers TLS, in its own
// protocol: PostgreSQL answers an SSLRequest with S or N; MySQL's greeting
// carries the CLIENT_SSL capability; Redis and MongoDB with TLS take a
// TLS handshake on their port.
func (e *Env) databaseTLS(ctx context.Context, s socket) (bool, error) {
	conn, err := e.probe(ctx, s)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	switch s.addr.Port() {
	case 5432:
		req := make([]byte, 8)
		binary.BigEndian.PutUint32(req[0:], 8)
		binary.BigEndian.PutUint32(req[4:], 80877103)
		if _, err := conn.Write(req); err != nil {
			return false, err
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(conn, b); err != nil {
			return false, err
		}
		return b[0] == 'S', nil
	case 3306:
		return mysqlOffersTLS(conn)
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // probes for TLS only
	return tc.HandshakeContext(ctx) == nil, nil
}

// mysqlOffersTLS reads MySQL's initial handshake packet (protocol 10):
// a 4-byte header, the version byte, the NUL-ended server version, the
// connection id, 8 bytes of salt and a filler, then the lower capability
// flags, where CLIENT_SSL is 0x0800.
func mysqlOffersTLS(conn io.Reader) (bool, error) {
	head := make([]byte, 4)
	if _, err := io.ReadFull(conn, head); err != nil {
		return false, err
	}
	n := int(head[0]) | int(head[1])<<8 | int(head[2])<<16
	if n > 1<<16 {
		return false, fmt.Errorf("MySQL greeting of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return false, err
	}
	if len(body) < 1 || body[0] != 10 {
		return false, fmt.Errorf("not a MySQL protocol 10 greeting")
	}
	end := slices.Index(body[1:], 0)
	if end < 0 {
		return false, fmt.Errorf("MySQL greeting without a version")
	}
	at := 1 + end + 1 + 4 + 8 + 1
	if len(body) < at+2 {
		return false, fmt.Errorf("MySQL greeting too short")
	}
	return binary.LittleEndian.Uint16(body[at:])&0x0800 != 0, nil
}
