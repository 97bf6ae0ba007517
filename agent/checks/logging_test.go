package checks

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
)

func TestRemoteLogging(t *testing.T) {
	for _, tc := range []struct {
		name      string
		files     map[string]string
		want, has string
	}{
		{"legacy TCP in plain text", map[string]string{"etc/rsyslog.d/90-remote.conf": "*.* @@logs.example.org:514\n"}, "fail", "90-remote.conf:1: *.* @@logs.example.org:514 (tcp without TLS)"},
		{"UDP", map[string]string{"etc/rsyslog.conf": "auth,authpriv.* @10.0.0.9\n"}, "fail", "(udp without TLS)"},
		{"legacy TLS directives", map[string]string{"etc/rsyslog.d/60-tls.conf": "$DefaultNetstreamDriver gtls\n$DefaultNetstreamDriverCAFile /etc/ssl/certs/ca.pem\n$ActionSendStreamDriverMode 1\n$ActionSendStreamDriverAuthMode x509/name\n*.* @@(o)logs.example.org:6514\n"}, "pass", "60-tls.conf:5: *.* @@(o)logs.example.org:6514"},
		{"omfwd without the stream driver", map[string]string{"etc/rsyslog.d/90-remote.conf": "*.* action(type=\"omfwd\" target=\"logs.example.org\" port=\"514\" protocol=\"tcp\")\n"}, "fail", "(tcp without TLS)"},
		{"RELP over TLS", map[string]string{"etc/rsyslog.d/90-relp.conf": "module(load=\"omrelp\")\n*.* action(type=\"omrelp\" target=\"logs.example.org\" port=\"2514\" tls=\"on\" tls.caCert=\"/etc/ssl/ca.pem\")\n"}, "pass", "90-relp.conf:2"},
		{"syslog-ng TLS", map[string]string{"etc/syslog-ng/syslog-ng.conf": "@version: 4.3\nsource s_sys { system(); internal(); };\ndestination d_remote {\n  network(\"logs.example.org\" port(6514) transport(\"tls\")\n    tls(ca-dir(\"/etc/syslog-ng/ca.d\") peer-verify(required-trusted)));\n};\nlog { source(s_sys); destination(d_remote); };\n"}, "pass", "syslog-ng.conf:4"},
		{"syslog-ng plain", map[string]string{"etc/syslog-ng/syslog-ng.conf": "@version: 4.3\nsource s_net { network(ip(\"0.0.0.0\") port(514)); };\ndestination d_remote { network(\"logs.example.org\" port(514) transport(\"tcp\")); };\n"}, "fail", "(network without TLS)"},
		{"journal-upload https", map[string]string{
			"etc/systemd/system/multi-user.target.wants/systemd-journal-upload.service": "",
			"etc/systemd/journal-upload.conf":                                           "[Upload]\nURL=https://logs.example.org:19532\nServerKeyFile=/etc/ssl/private/journal-upload.pem\n"}, "pass", "URL=https://logs.example.org:19532"},
		{"journal-upload credentials stay out", map[string]string{
			"etc/systemd/system/multi-user.target.wants/systemd-journal-upload.service": "",
			"etc/systemd/journal-upload.conf":                                           "[Upload]\nURL=https://uploader:s3cret@logs.example.org:19532/upload\n"}, "pass", "URL=https://…@logs.example.org:19532/upload"},
		{"nothing", map[string]string{"etc/rsyslog.conf": "*.info /var/log/messages\n"}, "fail", "no rsyslog, syslog-ng or journal-upload forwarding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, tc.files)
			r := remoteLogging(context.Background(), &Env{Root: root, Proc: filepath.Join(root, "proc")})
			if r.Status != tc.want || !strings.Contains(r.Evidence, tc.has) || strings.Contains(r.Evidence, "s3cret") {
				t.Errorf("got %s %q", r.Status, r.Evidence)
			}
		})
	}
}

// On the live system the forwarding must be working: a connection to the
// log server's port is established.
func TestRemoteLoggingConnected(t *testing.T) {
	root := t.TempDir()
	conf := map[string]string{"etc/rsyslog.d/90-remote.conf": "*.* action(type=\"omfwd\" target=\"logs.example.org\" port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\")\n"}
	header := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	// 10.0.0.5:41862 -> 10.0.0.9:6514 (0x1972), ESTABLISHED.
	write(t, root, conf)
	write(t, root, map[string]string{"proc/net/tcp": header + "   0: 0500000A:A386 0900000A:1972 01 00000000:00000000 02:000A7B2C 00000000   104        0 31337 2 0000000000000000 20 4 29 10 -1\n"})
	e := &Env{Root: root, Proc: filepath.Join(root, "proc"), Live: true}
	if r := remoteLogging(context.Background(), e); r.Status != patchwatch.CheckPass || !strings.Contains(r.Evidence, "connected to port 6514") {
		t.Errorf("connected: %+v", r)
	}
	write(t, root, map[string]string{"proc/net/tcp": header})
	if r := remoteLogging(context.Background(), e); r.Status != patchwatch.CheckFail || !strings.Contains(r.Evidence, "no connection to its server is established") {
		t.Errorf("not connected: %+v", r)
	}
}
