// Package rhsa reads Red Hat Security Advisories in CSAF 2.0 (the VEX and
// security-advisory documents under security.access.redhat.com/data/csaf),
// and polls Red Hat's CSAF index for new and changed documents.
package rhsa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/version"
)

// ErratumURL is the public page of an advisory.
func ErratumURL(id string) string { return "https://access.redhat.com/errata/" + id }

type document struct {
	Document struct {
		Category          string `json:"category"`
		Title             string `json:"title"`
		AggregateSeverity struct {
			Text string `json:"text"`
		} `json:"aggregate_severity"`
		Notes []struct {
			Category string `json:"category"`
			Text     string `json:"text"`
		} `json:"notes"`
		Tracking struct {
			ID                 string `json:"id"`
			InitialReleaseDate string `json:"initial_release_date"`
			CurrentReleaseDate string `json:"current_release_date"`
		} `json:"tracking"`
	} `json:"document"`
	ProductTree struct {
		Branches      []branch `json:"branches"`
		Relationships []struct {
			Category        string `json:"category"`
			FullProductName struct {
				ProductID string `json:"product_id"`
			} `json:"full_product_name"`
			ProductReference          string `json:"product_reference"`
			RelatesToProductReference string `json:"relates_to_product_reference"`
		} `json:"relationships"`
	} `json:"product_tree"`
	Vulnerabilities []struct {
		CVE     string `json:"cve"`
		Threats []struct {
			Category string `json:"category"`
			Details  string `json:"details"`
		} `json:"threats"`
		ProductStatus struct {
			Fixed []string `json:"fixed"`
		} `json:"product_status"`
		Scores []struct {
			CVSSv3 struct {
				BaseScore    float64 `json:"baseScore"`
				VectorString string  `json:"vectorString"`
			} `json:"cvss_v3"`
		} `json:"scores"`
	} `json:"vulnerabilities"`
}

type branch struct {
	Category string   `json:"category"`
	Name     string   `json:"name"`
	Branches []branch `json:"branches"`
	Product  *struct {
		ProductID string `json:"product_id"`
		Helper    struct {
			CPE  string `json:"cpe"`
			PURL string `json:"purl"`
		} `json:"product_identification_helper"`
	} `json:"product"`
}

// advisoryID matches the errata Red Hat publishes CSAF files for: security
// advisories (RHSA) and the bug-fix and enhancement advisories (RHBA, RHEA)
// that fix a CVE as well.
var advisoryID = regexp.MustCompile(`^RH[SBE]A-\d{4}:\d{4,}$`)

// titlePrefixes are the erratum kinds Red Hat puts before a title.
var titlePrefixes = []string{"Red Hat Security Advisory: ", "Red Hat Bug Fix Advisory: ", "Red Hat Enhancement Advisory: "}

// Detect reports whether data is a CSAF document of Red Hat.
func Detect(data []byte) bool {
	head := data[:min(len(data), 8192)]
	return bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) &&
		bytes.Contains(head, []byte(`"csaf_version"`)) && bytes.Contains(data, []byte(`"product_tree"`))
}

// ErrNotRHSA marks CSAF documents that are not security fixes: bug-fix or
// enhancement advisories that fix no CVE, CVE-only VEX documents, and
// advisories for products other than RHEL.
var ErrNotRHSA = fmt.Errorf("%w: not an RHSA", patchwatch.ErrNotAdvisory)

// Parse reads one CSAF document into an advisory. document.category may be
// csaf_vex or csaf_security_advisory; neither is relied on. RHSA documents
// are security advisories; RHBA and RHEA documents are taken under their
// own IDs when they fix a CVE and rejected with ErrNotRHSA otherwise. Each
// fixed product becomes a fix on the release keys of its product stream
// (see StreamReleases), with the epoch always explicit and the module
// stream of modular packages.
func Parse(data []byte) (patchwatch.Advisory, error) {
	var d document
	if err := json.Unmarshal(data, &d); err != nil {
		return patchwatch.Advisory{}, fmt.Errorf("decode CSAF document: %w", err)
	}
	id := d.Document.Tracking.ID
	if !advisoryID.MatchString(id) {
		return patchwatch.Advisory{}, fmt.Errorf("%w: tracking id %q", ErrNotRHSA, id)
	}
	a := patchwatch.Advisory{
		ID:             id,
		Source:         patchwatch.SourceRHSA,
		Title:          trimTitle(d.Document.Title),
		SourceSeverity: d.Document.AggregateSeverity.Text,
		URL:            ErratumURL(id),
	}
	var err error
	if a.Published, err = parseTime(d.Document.Tracking.InitialReleaseDate); err != nil {
		return patchwatch.Advisory{}, fmt.Errorf("%s: initial_release_date: %w", id, err)
	}
	if a.Modified, err = parseTime(d.Document.Tracking.CurrentReleaseDate); err != nil {
		a.Modified = a.Published
	}
	if a.SourceSeverity == "" {
		// Bug-fix and enhancement advisories carry no aggregate severity:
		// the worst impact of the CVEs they fix stands for it.
		a.SourceSeverity = worstImpact(&d)
	}
	if level, ok := patchwatch.ParseSeverity(a.SourceSeverity); ok {
		a.Severity = level
	}
	for _, n := range d.Document.Notes {
		switch n.Category {
		case "summary":
			a.Summary = n.Text
		case "general":
			a.Details = n.Text
		}
	}

	streams := map[string][]string{} // product_name id -> release keys
	purls := map[string]string{}     // product_version id -> purl
	walk(d.ProductTree.Branches, streams, purls)
	type relation struct{ pkg, stream string }
	relations := map[string]relation{}
	for _, r := range d.ProductTree.Relationships {
		relations[r.FullProductName.ProductID] = relation{r.ProductReference, r.RelatesToProductReference}
	}
	fixes := map[[4]string]string{} // release, package, kind, module -> lowest fixed EVR
	for _, v := range d.Vulnerabilities {
		if strings.HasPrefix(v.CVE, "CVE-") {
			a.CVEs = append(a.CVEs, v.CVE)
		}
		for _, s := range v.Scores {
			if s.CVSSv3.BaseScore > a.CVSS {
				a.CVSS, a.CVSSVector = s.CVSSv3.BaseScore, s.CVSSv3.VectorString
			}
		}
		for _, pid := range v.ProductStatus.Fixed {
			rel, ok := relations[pid]
			if !ok {
				return patchwatch.Advisory{}, fmt.Errorf("%s: fixed product %q has no relationship in the product tree", id, pid)
			}
			releases := streams[rel.stream]
			if len(releases) == 0 {
				continue // not a RHEL stream (OpenStack, Satellite, …)
			}
			p, err := parsePackage(purls[rel.pkg], rel.pkg)
			if err != nil {
				return patchwatch.Advisory{}, fmt.Errorf("%s: fixed product %q: %w", id, pid, err)
			}
			if strings.Contains(p.name, "-debuginfo") || strings.HasSuffix(p.name, "-debugsource") {
				continue
			}
			kind := patchwatch.KindBinary
			if p.arch == "src" {
				kind = patchwatch.KindSource
			}
			for _, release := range releases {
				k := [4]string{release, p.name, string(kind), p.module}
				if prev, ok := fixes[k]; !ok || lowerEVR(p.evr, prev) {
					fixes[k] = p.evr
				}
			}
			if patchwatch.IsRPMKernel(p.name) {
				a.RebootHint = true
			}
		}
	}
	for k, evr := range fixes {
		a.Fixes = append(a.Fixes, patchwatch.Fix{Release: k[0], Package: k[1], Kind: patchwatch.PackageKind(k[2]), Module: k[3], FixedVersion: evr})
	}
	if len(a.Fixes) == 0 {
		return patchwatch.Advisory{}, fmt.Errorf("%w: %s fixes no RHEL package", ErrNotRHSA, id)
	}
	if !strings.HasPrefix(id, "RHSA-") && len(a.CVEs) == 0 {
		return patchwatch.Advisory{}, fmt.Errorf("%w: %s fixes no CVE", ErrNotRHSA, id)
	}
	a.Normalize()
	return a, a.Validate()
}

func lowerEVR(a, b string) bool {
	c, err := version.CompareRPM(a, b)
	return err == nil && c < 0
}

func trimTitle(title string) string {
	for _, p := range titlePrefixes {
		if t, ok := strings.CutPrefix(title, p); ok {
			return t
		}
	}
	return title
}

// worstImpact returns the most severe impact ("Important") the document's
// vulnerabilities state, or "".
func worstImpact(d *document) string {
	worst, word := patchwatch.SeverityUnknown, ""
	for _, v := range d.Vulnerabilities {
		for _, t := range v.Threats {
			if t.Category != "impact" {
				continue
			}
			if level, ok := patchwatch.ParseSeverity(t.Details); ok && level > worst {
				worst, word = level, t.Details
			}
		}
	}
	return word
}

func walk(bs []branch, streams map[string][]string, purls map[string]string) {
	for _, b := range bs {
		if b.Product != nil {
			switch b.Category {
			case "product_name":
				id := b.Product.ProductID
				streams[id] = mergeReleases(streams[id], StreamReleases(id, b.Product.Helper.CPE)...)
			case "product_version":
				purls[b.Product.ProductID] = b.Product.Helper.PURL
			}
		}
		walk(b.Branches, streams, purls)
	}
}

type rpmPackage struct {
	name, evr, arch, module string
}

// parsePackage reads a fixed package from its purl
// (pkg:rpm/redhat/ruby@2.7.8-139.module%2Bel8…?arch=x86_64&epoch=1&rpmmod=ruby:2.7:…),
// or, without one, from its product ID (name-epoch:version-release.arch).
func parsePackage(purl, productID string) (rpmPackage, error) {
	if purl != "" {
		rest, ok := strings.CutPrefix(purl, "pkg:rpm/")
		if !ok {
			return rpmPackage{}, fmt.Errorf("purl %q is not an rpm purl", purl)
		}
		path, query, _ := strings.Cut(rest, "?")
		_, nameVer, _ := strings.Cut(path, "/")
		name, vr, ok := strings.Cut(nameVer, "@")
		if !ok {
			return rpmPackage{}, fmt.Errorf("purl %q has no version", purl)
		}
		name, err1 := url.PathUnescape(name)
		vr, err2 := url.PathUnescape(vr)
		q, err3 := url.ParseQuery(query)
		if err := errors.Join(err1, err2, err3); err != nil {
			return rpmPackage{}, fmt.Errorf("purl %q: %w", purl, err)
		}
		epoch := q.Get("epoch")
		if epoch == "" {
			epoch = "0"
		}
		if _, err := strconv.Atoi(epoch); err != nil {
			return rpmPackage{}, fmt.Errorf("purl %q: epoch %q", purl, epoch)
		}
		p := rpmPackage{name: name, evr: epoch + ":" + vr, arch: q.Get("arch")}
		if mod := q.Get("rpmmod"); mod != "" {
			p.module = moduleStream(mod)
		}
		if p.name == "" || p.arch == "" || !strings.Contains(vr, "-") {
			return rpmPackage{}, fmt.Errorf("purl %q lacks name, arch or release", purl)
		}
		return p, nil
	}
	return parseNEVRA(productID)
}

// moduleStream reduces a module label (name:stream:version:context) to
// name:stream.
func moduleStream(label string) string {
	parts := strings.SplitN(label, ":", 3)
	if len(parts) < 2 {
		return label
	}
	return parts[0] + ":" + parts[1]
}

var nevra = regexp.MustCompile(`^(.+)-(\d+):([^-:]+)-([^-:]+)\.([a-z0-9_]+)(?:::(.+))?$`)

func parseNEVRA(s string) (rpmPackage, error) {
	m := nevra.FindStringSubmatch(s)
	if m == nil {
		return rpmPackage{}, fmt.Errorf("product %q is not name-epoch:version-release.arch and has no purl", s)
	}
	return rpmPackage{name: m[1], evr: m[2] + ":" + m[3] + "-" + m[4], arch: m[5], module: m[6]}, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("unparsable time %q", s)
	}
	return t.UTC(), nil
}
