package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/feeds/usn"
	"github.com/patchwatch/patchwatch/inventory"
	"github.com/patchwatch/patchwatch/server"
	"github.com/patchwatch/patchwatch/service"
	"github.com/patchwatch/patchwatch/store/bolt"
)

type env struct {
	t      *testing.T
	srv    *httptest.Server
	api    *server.Server
	st     *bolt.Store
	now    time.Time
	admin  string
	enroll string // alice's enroll token
	owner  string // alice's owner token
	bob    string // bob's owner token
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, server.Options{})
}

// newEnvWith is newEnv with options; the clock and the test limits are
// filled in where opts leaves them zero.
func newEnvWith(t *testing.T, opts server.Options) *env {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	for _, f := range []string{"USN-5614-1.json", "USN-6000-1.json"} {
		data, _ := os.ReadFile("../samples/usn/" + f)
		a, err := usn.ParseOSV(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpsertAdvisories(context.Background(), []patchwatch.Advisory{a}); err != nil {
			t.Fatal(err)
		}
	}
	svc := service.New(st, patchwatch.DefaultUrgencyRules(), func() time.Time { return e.now })
	opts.Clock = func() time.Time { return e.now }
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	opts.ReportInterval, opts.ReportBurst = time.Second, 1000
	api := server.New(svc, st, opts)
	e.api = api
	e.srv = httptest.NewServer(api.Handler())
	t.Cleanup(e.srv.Close)
	e.admin = e.token(patchwatch.TokenAdmin, "", "")
	e.enroll = e.token(patchwatch.TokenEnroll, "alice@example.org", "research")
	e.owner = e.token(patchwatch.TokenOwner, "alice@example.org", "")
	e.bob = e.token(patchwatch.TokenOwner, "bob@example.org", "")
	return e
}

func (e *env) token(kind patchwatch.TokenKind, owner, project string) string {
	e.t.Helper()
	resp, err := server.CreateToken(context.Background(), e.st, server.TokenRequest{Kind: kind, Owner: owner, Project: project, ExpiresIn: "720h"}, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Secret
}

func (e *env) do(method, path, token, contentType string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func (e *env) enrollHost(name, token string) string {
	e.t.Helper()
	body, _ := json.Marshal(server.EnrollRequest{Hostname: name})
	resp, data := e.do("POST", "/api/v1/enroll", token, "application/json", body, nil)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("enroll %s: %d %s", name, resp.StatusCode, data)
	}
	var er server.EnrollResponse
	json.Unmarshal(data, &er)
	return er.Token
}

// report builds a report of the sample focal host named name.
func report(t *testing.T, name string) []byte {
	t.Helper()
	f, _ := os.Open("../samples/hosts/focal-bluefield.dpkg-query.tsv")
	defer f.Close()
	rep := inventory.Report{Schema: inventory.ReportSchema, Host: inventory.ReportHost{Hostname: name},
		OSRelease: inventory.ReportOSRelease{ID: "ubuntu", VersionID: "20.04"}, Kernel: inventory.ReportKernel{Release: "5.4.0-1058-bluefield"}, Format: "deb"}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		rep.Packages = append(rep.Packages, inventory.ReportPackage{Name: c[0], Version: c[1], SourceName: c[2], SourceVersion: c[3], Arch: c[4]})
	}
	data, _ := json.Marshal(rep)
	return data
}

func TestEnrollReportQuery(t *testing.T) {
	e := newEnv(t)
	hostToken := e.enrollHost("vm1", e.enroll)
	resp, data := e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("report: %d %s", resp.StatusCode, data)
	}
	// Acknowledged means stored.
	h, err := e.st.Host(context.Background(), "vm1")
	if err != nil || h.Owner != "alice@example.org" || len(h.Packages) != 18 {
		t.Fatalf("stored host = %+v, %v", h, err)
	}
	resp, data = e.do("GET", "/api/v1/findings?host=vm1", e.owner, "", nil, nil)
	var findings []patchwatch.Finding
	json.Unmarshal(data, &findings)
	if resp.StatusCode != 200 || len(findings) != 2 || findings[0].Advisory != "USN-6000-1" {
		t.Fatalf("findings: %d %s", resp.StatusCode, data)
	}
	// Bob sees nothing of alice's.
	resp, data = e.do("GET", "/api/v1/findings", e.bob, "", nil, nil)
	if resp.StatusCode != 200 || strings.TrimSpace(string(data)) != "[]" {
		t.Errorf("bob's findings: %d %s", resp.StatusCode, data)
	}
	resp, _ = e.do("GET", "/api/v1/findings?host=vm1", e.bob, "", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob asking for alice's host: %d", resp.StatusCode)
	}
	resp, data = e.do("GET", "/api/v1/hosts", e.admin, "", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"name": "vm1"`) {
		t.Errorf("hosts: %d %s", resp.StatusCode, data)
	}
	resp, data = e.do("GET", "/api/v1/advisories/USN-5614-1", e.owner, "", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"affected_hosts"`) {
		t.Errorf("advisory: %d %s", resp.StatusCode, data)
	}
	// gzip is accepted.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(report(t, "vm1"))
	zw.Close()
	resp, data = e.do("POST", "/api/v1/reports", hostToken, "application/json", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("gzip report: %d %s", resp.StatusCode, data)
	}
	// Enrolling again replaces the host token.
	newToken := e.enrollHost("vm1", e.enroll)
	if resp, _ := e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old host token after re-enrollment: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", "/api/v1/reports", newToken, "application/json", report(t, "vm1"), nil); resp.StatusCode != http.StatusAccepted {
		t.Errorf("new host token: %d", resp.StatusCode)
	}
	// Another owner's enroll token cannot take the host over.
	bobEnroll := e.token(patchwatch.TokenEnroll, "bob@example.org", "")
	body, _ := json.Marshal(server.EnrollRequest{Hostname: "vm1"})
	if resp, _ := e.do("POST", "/api/v1/enroll", bobEnroll, "application/json", body, nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("takeover: %d", resp.StatusCode)
	}
}

func TestVulsServerMode(t *testing.T) {
	e := newEnv(t)
	hostToken := e.enrollHost("vuls1", e.enroll)
	var body strings.Builder
	f, _ := os.Open("../samples/hosts/focal-bluefield.dpkg-query.tsv")
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		// dpkg-query -W -f='${binary:Package},${db:Status-Abbrev},${Version},${Source},${source:Version}\n'
		fmt.Fprintf(&body, "%s:%s,ii ,%s,%s,%s\n", c[0], c[4], c[1], c[2], c[3])
	}
	body.WriteString("oldpkg,rc ,1.0-1,oldpkg,1.0-1\n")
	hdr := map[string]string{"X-Vuls-OS-Family": "ubuntu", "X-Vuls-OS-Release": "20.04", "X-Vuls-Kernel-Release": "5.4.0-1058-bluefield", "X-Vuls-Server-Name": "vuls1"}
	resp, data := e.do("POST", "/vuls", hostToken, "text/plain", []byte(body.String()), hdr)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("vuls: %d %s", resp.StatusCode, data)
	}
	h, _ := e.st.Host(context.Background(), "vuls1")
	if len(h.Packages) != 18 || h.Packages[0].Arch != "arm64" {
		t.Errorf("stored %d packages: %+v", len(h.Packages), h.Packages[:1])
	}
	delete(hdr, "X-Vuls-OS-Family")
	if resp, _ := e.do("POST", "/vuls", hostToken, "text/plain", []byte(body.String()), hdr); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("missing family: %d", resp.StatusCode)
	}
}

// TestAuthorizationMatrix tries every endpoint with every kind of token:
// only the right ones pass.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	hostToken := e.enrollHost("vm1", e.enroll)
	e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil)
	otherHost := e.enrollHost("vm2", e.enroll)
	revoked := e.token(patchwatch.TokenAdmin, "", "")
	if err := e.st.RevokeToken(context.Background(), strings.SplitN(revoked, "_", 4)[2]); err != nil {
		t.Fatal(err)
	}
	expiredResp, _ := server.CreateToken(context.Background(), e.st, server.TokenRequest{Kind: patchwatch.TokenAdmin, ExpiresIn: "1h"}, e.now.Add(-2*time.Hour))
	expired := expiredResp.Secret

	// vm9 is enrolled already, so that an admin may re-enroll it whatever
	// order the matrix runs in.
	e.enrollHost("vm9", e.enroll)
	enrollBody, _ := json.Marshal(server.EnrollRequest{Hostname: "vm9"})
	creds := map[string]string{
		"none": "", "garbage": "pwt_a_tok-000000000000_nope", "revoked": revoked, "expired": expired,
		"host": hostToken, "other-host": otherHost, "enroll": e.enroll, "owner": e.owner, "other-owner": e.bob, "admin": e.admin,
	}
	type endpoint struct {
		method, path, ctype string
		body                []byte
		allowed             map[string]int // credential -> expected status; others: 401 or 403
	}
	endpoints := []endpoint{
		{"POST", "/api/v1/reports", "application/json", report(t, "vm1"), map[string]int{"host": 202}},
		{"POST", "/api/v1/enroll", "application/json", enrollBody, map[string]int{"enroll": 201, "admin": 201}},
		{"GET", "/api/v1/findings?host=vm1", "", nil, map[string]int{"owner": 200, "admin": 200, "other-owner": 404}},
		{"GET", "/api/v1/hosts", "", nil, map[string]int{"owner": 200, "admin": 200, "other-owner": 200}},
		{"GET", "/api/v1/hosts/vm1", "", nil, map[string]int{"owner": 200, "admin": 200, "other-owner": 404}},
		{"GET", "/api/v1/hosts/vm1/checks", "", nil, map[string]int{"owner": 200, "admin": 200, "other-owner": 404}},
		{"GET", "/api/v1/advisories/USN-6000-1", "", nil, map[string]int{"owner": 200, "admin": 200, "other-owner": 200}},
		{"GET", "/api/v1/tokens", "", nil, map[string]int{"admin": 200}},
		{"GET", "/api/v1/reports/time-to-patch?by=owner", "", nil, map[string]int{"admin": 200}},
		{"GET", "/api/v1/silences", "", nil, map[string]int{"owner": 200, "admin": 200, "other-owner": 200}},
		{"POST", "/api/v1/silences", "application/json", []byte(`{"target":"check","value":"no-mail-server","scope":"host","scope_value":"vm1","reason":"list server","expires":"30d"}`),
			map[string]int{"owner": 201, "admin": 201, "other-owner": 403}},
		{"DELETE", "/api/v1/silences/sil-none", "", nil, map[string]int{"owner": 404, "admin": 404, "other-owner": 404}},
		{"POST", "/api/v1/tokens", "application/json", []byte(`{"kind":"owner","owner":"c@example.org"}`), map[string]int{"admin": 201}},
	}
	for _, ep := range endpoints {
		for name, cred := range creds {
			t.Run(ep.method+" "+ep.path+" as "+name, func(t *testing.T) {
				resp, data := e.do(ep.method, ep.path, cred, ep.ctype, ep.body, nil)
				want, ok := ep.allowed[name]
				if ok {
					if resp.StatusCode != want {
						t.Errorf("status %d, want %d: %s", resp.StatusCode, want, data)
					}
					return
				}
				if resp.StatusCode != 401 && resp.StatusCode != 403 {
					t.Errorf("status %d, want 401 or 403: %s", resp.StatusCode, data)
				}
				var apiErr struct{ Error, Code string }
				if json.Unmarshal(data, &apiErr) != nil || apiErr.Error == "" {
					t.Errorf("no JSON error: %s", data)
				}
			})
		}
	}
	// A host token reports only for its own host.
	if resp, _ := e.do("POST", "/api/v1/reports", otherHost, "application/json", report(t, "vm1"), nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("vm2's token reporting for vm1: %d", resp.StatusCode)
	}
}

// TestHostileReports: each is refused with a clear 4xx, nothing is
// stored, and the server keeps serving.
func TestHostileReports(t *testing.T) {
	e := newEnv(t)
	hostToken := e.enrollHost("vm1", e.enroll)
	deep := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	var many strings.Builder
	many.WriteString(`{"schema":"patchwatch.report/v1","host":{"hostname":"vm1"},"os_release":{"id":"ubuntu","version_id":"20.04"},"package_format":"deb","packages":[`)
	for i := range 1000000 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"name":"p%d","version":"1"}`, i)
	}
	many.WriteString("]}")
	dup := strings.Replace(string(report(t, "vm1")), `"packages":[`, `"packages":[{"name":"bash","version":"5.0-6ubuntu1.2","arch":"arm64"},`, 1)
	tests := []struct {
		name, ctype string
		body        []byte
		want        int
	}{
		{"oversized", "application/json", bytes.Repeat([]byte("x"), 5<<20), 413},
		{"deeply nested", "application/json", []byte(deep), 400},
		{"invalid utf-8", "application/json", []byte("{\"schema\":\"patchwatch.report/v1\",\"host\":{\"hostname\":\"\xff\xfe\"}}"), 400},
		{"a million packages", "application/json", []byte(many.String()), 413},
		{"duplicate packages", "application/json", []byte(dup), 400},
		{"wrong content type", "text/html", report(t, "vm1"), 415},
		{"unknown field", "application/json", []byte(strings.Replace(string(report(t, "vm1")), `"schema"`, `"evil":1,"schema"`, 1)), 400},
		{"no such release (a future one, 99.04, is accepted)", "application/json", []byte(strings.Replace(string(report(t, "vm1")), `"20.04"`, `"20.05"`, 1)), 422},
		{"bad version", "application/json", []byte(strings.Replace(string(report(t, "vm1")), `"version":"2.0.9"`, `"version":"2.0 9"`, 1)), 422},
		{"truncated", "application/json", report(t, "vm1")[:500], 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := e.do("POST", "/api/v1/reports", hostToken, tt.ctype, tt.body, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tt.want, data)
			}
			if _, err := e.st.Host(context.Background(), "vm1"); err == nil {
				t.Fatal("a hostile report was stored")
			}
		})
	}
	if resp, data := e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil); resp.StatusCode != 202 {
		t.Fatalf("the server stopped serving: %d %s", resp.StatusCode, data)
	}
}

func TestRateLimitAndMetrics(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "pw.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	api := server.New(service.New(st, patchwatch.DefaultUrgencyRules(), clock), st, server.Options{Clock: clock, ReportInterval: time.Minute, ReportBurst: 1})
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	e := &env{t: t, srv: srv, st: st, now: now}
	enroll := e.token(patchwatch.TokenEnroll, "alice@example.org", "")
	hostToken := e.enrollHost("vm1", enroll)
	if resp, data := e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil); resp.StatusCode != 202 {
		t.Fatalf("first report: %d %s", resp.StatusCode, data)
	}
	resp, data := e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" || !strings.Contains(string(data), "rate_limited") {
		t.Fatalf("second report within the minute: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), data)
	}
	now = now.Add(time.Minute)
	if resp, _ := e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil); resp.StatusCode != 202 {
		t.Fatalf("a minute later: %d", resp.StatusCode)
	}
	api.Metrics().Poll("usn", nil)
	api.Metrics().Fleet(service.FleetCounts{Hosts: 1, Open: map[patchwatch.Urgency]int{patchwatch.UrgencyHigh: 2}, FailingChecks: map[string]int{"host-firewall": 1},
		JudgedChecks: map[string]int{"host-firewall": 4}})
	_, body := e.do("GET", "/metrics", "", "", nil, nil)
	for _, want := range []string{`patchwatch_reports_received_total{format="json"} 2`, `patchwatch_reports_rejected_total{reason="rate_limited"} 1`,
		`patchwatch_polls_total{feed="usn",result="ok"} 1`, `patchwatch_hosts 1`, `patchwatch_findings_open{urgency="high"} 2`,
		`patchwatch_hosts_failing_check{check="host-firewall"} 1`, `patchwatch_hosts_failing_check{check="accounts"} 0`,
		`patchwatch_guideline_compliance_ratio{check="host-firewall"} 0.75`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if resp, body := e.do("GET", "/healthz", "", "", nil, nil); resp.StatusCode != 200 || !strings.Contains(string(body), "ok") {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
}

// Silences and disabled checks are managed through the API while the
// server holds the database: admins anywhere, owners on their own hosts.
func TestSilencesThroughAPI(t *testing.T) {
	e := newEnv(t)
	hostToken := e.enrollHost("vm1", e.enroll)
	e.do("POST", "/api/v1/reports", hostToken, "application/json", report(t, "vm1"), nil)
	post := func(token, body string) (int, patchwatch.Silence, string) {
		resp, data := e.do("POST", "/api/v1/silences", token, "application/json", []byte(body), nil)
		var sl patchwatch.Silence
		json.Unmarshal(data, &sl)
		return resp.StatusCode, sl, string(data)
	}
	code, sl, data := post(e.owner, `{"target":"check","value":"no-mail-server","scope":"host","scope_value":"vm1","reason":"the project's list server","expires":"90d"}`)
	if code != 201 || sl.ID == "" || sl.CreatedBy != "alice@example.org" || !sl.Expires.Equal(e.now.Add(90*24*time.Hour)) {
		t.Fatalf("owner's silence: %d %s", code, data)
	}
	for _, tc := range []struct {
		name, token, body string
		want              int
		wantErr           string
	}{
		{"owner on the fleet", e.owner, `{"target":"check","value":"accounts","scope":"fleet","reason":"x","expires":"30d"}`, 403, "own hosts"},
		{"owner on another owner", e.owner, `{"target":"advisory","value":"USN-6000-1","scope":"owner","scope_value":"bob@example.org","reason":"x","expires":"30d"}`, 403, "own hosts"},
		{"another owner's host", e.bob, `{"target":"advisory","value":"USN-6000-1","scope":"host","scope_value":"vm1","reason":"x","expires":"30d"}`, 403, "own hosts"},
		{"no reason", e.admin, `{"target":"check","value":"accounts","scope":"fleet","expires":"30d"}`, 400, "a reason is mandatory"},
		{"unknown check", e.admin, `{"target":"check","value":"nope","scope":"fleet","reason":"x","expires":"30d"}`, 400, "no check is called"},
		{"bad expiry", e.admin, `{"target":"check","value":"accounts","scope":"fleet","reason":"x","expires":"soon"}`, 400, "neither a date"},
		{"past expiry", e.admin, `{"target":"check","value":"accounts","scope":"fleet","reason":"x","expires":"2020-01-01"}`, 400, "not in the future"},
		{"unknown field", e.admin, `{"target":"check","value":"accounts","scope":"fleet","reason":"x","expires":"30d","id":"mine"}`, 400, "unknown field"},
		{"admin on the fleet", e.admin, `{"target":"check","value":"remote-logging","scope":"fleet","reason":"the cloud keeps logs itself","expires":"2027-06-30"}`, 201, ""},
	} {
		code, _, data := post(tc.token, tc.body)
		if code != tc.want || !strings.Contains(data, tc.wantErr) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, code, data, tc.want, tc.wantErr)
		}
	}
	// The disabled check shows on the host's checks.
	resp, raw := e.do("GET", "/api/v1/silences", e.owner, "", nil, nil)
	var listed []patchwatch.Silence
	json.Unmarshal(raw, &listed)
	if resp.StatusCode != 200 || len(listed) != 2 {
		t.Errorf("alice sees %d silences: %s", len(listed), raw)
	}
	// Bob cannot remove alice's silence, and cannot tell it exists.
	if resp, _ := e.do("DELETE", "/api/v1/silences/"+sl.ID, e.bob, "", nil, nil); resp.StatusCode != 404 {
		t.Errorf("bob removing alice's silence: %d", resp.StatusCode)
	}
	if resp, data := e.do("DELETE", "/api/v1/silences/"+sl.ID, e.owner, "", nil, nil); resp.StatusCode != 200 {
		t.Errorf("alice removing her silence: %d %s", resp.StatusCode, data)
	}
	if resp, _ := e.do("DELETE", "/api/v1/silences/"+sl.ID, e.admin, "", nil, nil); resp.StatusCode != 404 {
		t.Errorf("removing it again: %d", resp.StatusCode)
	}
}
