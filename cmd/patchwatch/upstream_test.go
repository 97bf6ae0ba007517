package main

import (
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// upstream serves every source as its real site lays it out: the Ubuntu
// RSS (with an ETag) and OSV records, the Debian files, Red Hat's CSAF
// folder with its archive, AlmaLinux's OSV zip, CISA's KEV catalog.
type upstream struct {
	rss, csafArchive, almaZip []byte
	// recordFetches counts the USN record fetches.
	recordFetches atomic.Int32
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	rss, err := os.ReadFile("../../feeds/usn/testdata/rss.xml")
	if err != nil {
		t.Fatal(err)
	}
	return &upstream{
		rss:         rss,
		csafArchive: tarZst(t, "../../feeds/rhsa/testdata", "2024/rhsa-2024_0010.json", "2023/rhsa-2023_7434.json"),
		almaZip:     zipDir(t, "../../feeds/rebuild/testdata/almalinux9", "../../feeds/rebuild/testdata/almalinux-both"),
	}
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/rss.xml":
		if r.Header.Get("If-None-Match") == `"1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"1"`)
		w.Write(u.rss)
	case strings.HasPrefix(r.URL.Path, "/osv/"):
		u.recordFetches.Add(1)
		http.ServeFile(w, r, "../../samples/usn/"+strings.TrimPrefix(r.URL.Path, "/osv/"))
	case strings.HasPrefix(r.URL.Path, "/debian/"):
		http.ServeFile(w, r, "../../feeds/dsa/testdata/"+strings.TrimPrefix(r.URL.Path, "/debian/"))
	case r.URL.Path == "/csaf/archive_latest.txt":
		w.Write([]byte("csaf_advisories_2026-11-01.tar.zst\n"))
	case r.URL.Path == "/csaf/csaf_advisories_2026-11-01.tar.zst":
		w.Write(u.csafArchive)
	case r.URL.Path == "/csaf/changes.csv":
		w.Write([]byte(`"2024/rhsa-2024_0811.json","2026-11-20T00:00:00+00:00"` + "\n"))
	case strings.HasPrefix(r.URL.Path, "/csaf/"):
		http.ServeFile(w, r, "../../feeds/rhsa/testdata/"+strings.TrimPrefix(r.URL.Path, "/csaf/"))
	case r.URL.Path == "/alma.zip":
		w.Write(u.almaZip)
	case r.URL.Path == "/kev.json":
		http.ServeFile(w, r, "../../feeds/kev/testdata/known_exploited_vulnerabilities.json")
	default:
		http.NotFound(w, r)
	}
}
