package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/server"
)

func (e *env) tokenWith(req server.TokenRequest) (secret, id string) {
	e.t.Helper()
	resp, err := server.CreateToken(context.Background(), e.st, req, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Secret, resp.Token.ID
}

func (e *env) tryEnroll(name, token string) (int, server.EnrollResponse) {
	e.t.Helper()
	body, _ := json.Marshal(server.EnrollRequest{Hostname: name})
	resp, data := e.do("POST", "/api/v1/enroll", token, "application/json", body, nil)
	var er server.EnrollResponse
	json.Unmarshal(data, &er)
	return resp.StatusCode, er
}

// TestEnrollTakeoverBeforeFirstReport is the campaign's sequence: alice
// enrolls vm1 but has not reported yet; bob's enroll token must not take
// the name, and alice's host token keeps working.
func TestEnrollTakeoverBeforeFirstReport(t *testing.T) {
	e := newEnv(t)
	aliceHost := e.enrollHost("vm1", e.enroll)
	bobEnroll := e.token(patchwatch.TokenEnroll, "bob@example.org", "bobs")
	if code, _ := e.tryEnroll("vm1", bobEnroll); code != http.StatusConflict {
		t.Fatalf("bob enrolling alice's unreported vm1: %d, want 409", code)
	}
	if code, _ := e.tryEnroll("VM1", bobEnroll); code != http.StatusCreated {
		// Host names are exact: VM1 is another host.
		t.Fatalf("bob enrolling VM1: %d", code)
	}
	resp, data := e.do("POST", "/api/v1/reports", aliceHost, "application/json", report(t, "vm1"), nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("alice's host token after the attempt: %d %s", resp.StatusCode, data)
	}
	h, err := e.st.Host(context.Background(), "vm1")
	if err != nil || h.Owner != "alice@example.org" || h.Project != "research" {
		t.Fatalf("vm1 = owner %q project %q, %v", h.Owner, h.Project, err)
	}
	claim, err := e.st.Enrollment(context.Background(), "vm1")
	if err != nil || claim.Owner != "alice@example.org" || claim.Enrollments != 1 {
		t.Fatalf("claim = %+v, %v", claim, err)
	}
	// Alice herself re-enrolls; the old host token stops working.
	again := e.enrollHost("vm1", e.enroll)
	if resp, _ := e.do("POST", "/api/v1/reports", aliceHost, "application/json", report(t, "vm1"), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old host token after re-enrollment: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", "/api/v1/reports", again, "application/json", report(t, "vm1"), nil); resp.StatusCode != http.StatusAccepted {
		t.Errorf("new host token: %d", resp.StatusCode)
	}
}

func TestAdminReenrolls(t *testing.T) {
	e := newEnv(t)
	e.enrollHost("vm1", e.enroll)
	code, er := e.tryEnroll("vm1", e.admin)
	if code != http.StatusCreated || er.Owner != "alice@example.org" || er.Project != "research" {
		t.Fatalf("admin re-enrolling vm1: %d %+v", code, er)
	}
	if code, _ := e.tryEnroll("never-enrolled", e.admin); code != http.StatusForbidden {
		t.Errorf("admin enrolling an unclaimed host: %d, want 403", code)
	}
	if code, _ := e.tryEnroll("vm1", e.owner); code != http.StatusForbidden {
		t.Errorf("owner token enrolling: %d, want 403", code)
	}
}

func TestBoundEnrollToken(t *testing.T) {
	e := newEnv(t)
	bound, _ := e.tokenWith(server.TokenRequest{Kind: patchwatch.TokenEnroll, Owner: "alice@example.org", Project: "research", Host: "db-7"})
	if code, _ := e.tryEnroll("web-1", bound); code != http.StatusForbidden {
		t.Errorf("bound token enrolling another host: %d, want 403", code)
	}
	if code, er := e.tryEnroll("db-7", bound); code != http.StatusCreated || er.Host != "db-7" {
		t.Errorf("bound token enrolling its host: %d %+v", code, er)
	}
	if _, err := server.CreateToken(context.Background(), e.st, server.TokenRequest{Kind: patchwatch.TokenOwner, Owner: "a@example.org", Host: "x"}, e.now); err == nil {
		t.Error("an owner token bound to a host was created")
	}
}

func TestEnrollTokenUses(t *testing.T) {
	e := newEnv(t)
	limited, id := e.tokenWith(server.TokenRequest{Kind: patchwatch.TokenEnroll, Owner: "alice@example.org", Uses: 2})
	for _, name := range []string{"a1", "a2"} {
		if code, _ := e.tryEnroll(name, limited); code != http.StatusCreated {
			t.Fatalf("enrollment of %s: %d", name, code)
		}
	}
	if code, _ := e.tryEnroll("a3", limited); code != http.StatusUnauthorized {
		t.Fatalf("third enrollment with --uses 2: %d, want 401", code)
	}
	// Re-enrolling counts as a use too.
	if code, _ := e.tryEnroll("a1", limited); code != http.StatusUnauthorized {
		t.Fatalf("re-enrollment past the limit: %d, want 401", code)
	}
	tok, _, _ := e.st.TokenByID(context.Background(), id)
	if tok.Used != 2 || tok.Usable(e.now) == nil {
		t.Errorf("token after its uses: %+v", tok)
	}
	if _, err := server.CreateToken(context.Background(), e.st, server.TokenRequest{Kind: patchwatch.TokenEnroll, Owner: "a@example.org", Uses: -1}, e.now); err == nil {
		t.Error("a negative use limit was accepted")
	}
}

// TestReportCannotPickProject: the project comes from the enrollment.
func TestReportCannotPickProject(t *testing.T) {
	e := newEnv(t)
	hostToken := e.enrollHost("vm1", e.enroll)
	body := strings.Replace(string(report(t, "vm1")), `"hostname":"vm1"`, `"hostname":"vm1","project_id":"finance"`, 1)
	if !strings.Contains(body, "finance") {
		t.Fatal("test report has no project_id")
	}
	if resp, data := e.do("POST", "/api/v1/reports", hostToken, "application/json", []byte(body), nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("report: %d %s", resp.StatusCode, data)
	}
	h, _ := e.st.Host(context.Background(), "vm1")
	if h.Project != "research" {
		t.Errorf("stored project %q, want the enroll token's research", h.Project)
	}
	hdr := map[string]string{"X-Vuls-OS-Family": "ubuntu", "X-Vuls-OS-Release": "20.04", "X-Vuls-Server-Name": "vm1"}
	vulsToken := e.enrollHost("vm1", e.enroll)
	if resp, data := e.do("POST", "/vuls", vulsToken, "text/plain", []byte("bash:arm64,ii ,5.0-6ubuntu1.2,bash,5.0-6ubuntu1.2\n"), hdr); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("vuls: %d %s", resp.StatusCode, data)
	}
	if h, _ := e.st.Host(context.Background(), "vm1"); h.Project != "research" || h.Owner != "alice@example.org" {
		t.Errorf("after vuls: owner %q project %q", h.Owner, h.Project)
	}
}

func TestEnrollmentsLogTheirToken(t *testing.T) {
	var logs bytes.Buffer
	e := newEnvWith(t, server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	enroll, id := e.tokenWith(server.TokenRequest{Kind: patchwatch.TokenEnroll, Owner: "alice@example.org"})
	e.enrollHost("vm1", enroll)
	e.enrollHost("vm1", enroll)
	bob := e.token(patchwatch.TokenEnroll, "bob@example.org", "")
	e.tryEnroll("vm1", bob)
	var enrolled, reenrolled, refused int
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		json.Unmarshal([]byte(line), &rec)
		switch rec["msg"] {
		case "host enrolled":
			enrolled++
		case "host re-enrolled":
			reenrolled++
		case "enrollment refused: host claimed by another owner":
			refused++
			continue
		default:
			continue
		}
		if rec["token"] != id || rec["host"] != "vm1" {
			t.Errorf("log without the enroll token's ID: %s", line)
		}
	}
	if enrolled != 1 || reenrolled != 1 || refused != 1 {
		t.Errorf("logged %d enrollments, %d re-enrollments, %d refusals:\n%s", enrolled, reenrolled, refused, logs.String())
	}
}

// TestAPIErrorsRedactTheToken: an error that would echo the caller's
// secret (here through the Vuls server-name header, escaped and in upper
// case) answers and logs it masked.
func TestAPIErrorsRedactTheToken(t *testing.T) {
	var logs bytes.Buffer
	e := newEnvWith(t, server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	hostToken := e.enrollHost("vm1", e.enroll)
	secretPart := hostToken[len(hostToken)-20:]
	for _, echoed := range []string{hostToken, url.QueryEscape(hostToken), strings.ToUpper(hostToken)} {
		hdr := map[string]string{"X-Vuls-OS-Family": "ubuntu", "X-Vuls-OS-Release": "20.04", "X-Vuls-Server-Name": echoed}
		resp, data := e.do("POST", "/vuls", hostToken, "text/plain", []byte("bash,ii ,5.0-6ubuntu1.2,bash,5.0-6ubuntu1.2\n"), hdr)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(data), "[redacted]") {
			t.Errorf("status %d: %s", resp.StatusCode, data)
		}
		for _, out := range []string{string(data), logs.String()} {
			if strings.Contains(strings.ToLower(out), strings.ToLower(secretPart)) {
				t.Errorf("the token came back: %s", out)
			}
		}
	}
}
