package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/service"
)

// TestPagination walks the fleet listings a page at a time by their
// cursors and gets exactly the whole listing, in order.
func TestPagination(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		name := fmt.Sprintf("vm%d", i)
		tok := e.enrollHost(name, e.enroll)
		if resp, data := e.do("POST", "/api/v1/reports", tok, "application/json", report(t, name), nil); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("report: %d %s", resp.StatusCode, data)
		}
	}
	tests := []struct {
		name, path string
		decode     func([]byte) ([]string, error)
	}{
		{"findings", "/api/v1/findings", func(b []byte) ([]string, error) {
			var fs []patchwatch.Finding
			err := json.Unmarshal(b, &fs)
			var out []string
			for _, f := range fs {
				out = append(out, f.Host+" "+f.Advisory)
			}
			return out, err
		}},
		{"hosts", "/api/v1/hosts", func(b []byte) ([]string, error) {
			var rows []service.HostSummary
			err := json.Unmarshal(b, &rows)
			var out []string
			for _, r := range rows {
				out = append(out, r.Name)
			}
			return out, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := e.do("GET", tt.path, e.admin, "", nil, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, data)
			}
			want, err := tt.decode(data)
			if err != nil || len(want) < 3 {
				t.Fatalf("whole listing: %v, %d items", err, len(want))
			}
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(want) {
					t.Fatal("cursors do not end")
				}
				resp, data := e.do("GET", tt.path+"?limit=2&cursor="+url.QueryEscape(cursor), e.admin, "", nil, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("page: %d %s", resp.StatusCode, data)
				}
				items, err := tt.decode(data)
				if err != nil || len(items) > 2 {
					t.Fatalf("page: %v, %d items", err, len(items))
				}
				got = append(got, items...)
				cursor = resp.Header.Get("X-Next-Cursor")
				if cursor == "" {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pages give\n%v\nwhole listing\n%v", got, want)
			}
		})
	}
	if resp, _ := e.do("GET", "/api/v1/findings?limit=2&cursor=bogus!", e.admin, "", nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad cursor: %d, want 400", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/api/v1/hosts?limit=0", e.admin, "", nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("limit=0: %d, want 400", resp.StatusCode)
	}
}
