package rhsa

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// CPE is a Red Hat product stream's CPE 2.2 name, split into the parts
// that say which RHEL stream it is.
type CPE struct {
	// Product is the CPE product: enterprise_linux, rhel_eus,
	// enterprise_linux_eus, …
	Product string
	// Version is the product version: "9", "9.2", "10.0".
	Version string
	// Rest is what follows the version (":" then update and edition, such
	// as ":" + ":appstream"); empty on RHEL 10.
	Rest string
}

// ParseCPE splits a Red Hat CPE (cpe:/o:redhat:… or cpe:/a:redhat:…). It
// reports false for anything else, including other vendors.
func ParseCPE(cpe string) (CPE, bool) {
	rest, ok := strings.CutPrefix(cpe, "cpe:/")
	if !ok || len(rest) < 2 || (rest[0] != 'o' && rest[0] != 'a') || rest[1] != ':' {
		return CPE{}, false
	}
	rest, ok = strings.CutPrefix(rest[2:], "redhat:")
	if !ok {
		return CPE{}, false
	}
	product, rest, ok := strings.Cut(rest, ":")
	if !ok || product == "" {
		return CPE{}, false
	}
	version, tail, _ := strings.Cut(rest, ":")
	if !validStreamVersion(version) {
		return CPE{}, false
	}
	if tail != "" {
		tail = ":" + tail
	}
	return CPE{Product: product, Version: version, Rest: tail}, true
}

// validStreamVersion accepts "N" and "N.M" with N, M decimal numbers.
func validStreamVersion(v string) bool {
	major, minor, hasMinor := strings.Cut(v, ".")
	if !isNumber(major) {
		return false
	}
	return !hasMinor || isNumber(minor)
}

func isNumber(s string) bool {
	if s == "" || len(s) > 4 {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil && strings.Trim(s, "0123456789") == ""
}

// extendedStreams maps the CPE products of RHEL's extended-support
// streams to patchwatch's stream names. RHEL 9 and before name them
// rhel_<stream>; RHEL 10 names them enterprise_linux_<stream> (Red Hat's
// security-data-guidelines, cpe.md).
var extendedStreams = map[string]string{
	"rhel_eus": "eus", "rhel_aus": "aus", "rhel_e4s": "e4s", "rhel_tus": "tus", "rhel_els": "els",
	"rhel_eus_long_life":   "eus-long-life",
	"enterprise_linux_eus": "eus", "enterprise_linux_aus": "aus", "enterprise_linux_e4s": "e4s",
	"enterprise_linux_tus": "tus", "enterprise_linux_els": "els",
}

// mainStreams are the CPE products whose content ships on a major
// release's main stream: RHEL itself (every variant: server, workstation,
// client, computenode, baseos, appstream, crb, sap, sap_hana, …) and RHEL
// 7's Extras channels (rhel_extras, rhel_extras_rt, rhel_extras_sap, …).
func mainStream(product string) bool {
	return product == "enterprise_linux" || product == "rhel_extras" || strings.HasPrefix(product, "rhel_extras_")
}

// productIDStream reads the Errata Tool variant of RHEL 8 and 9 product
// IDs (AppStream-9.4.0.Z.MAIN.EUS, BaseOS-8.2.0.Z.AUS, SAP-8.4.0.Z.E4S,
// AppStream-9.5.0.GA) and of RHEL 7 (7Server-7.4.AUS).
var productIDStream = regexp.MustCompile(`^[A-Za-z0-9_-]+?-(\d+)\.(\d+)(?:\.\d+)?(?:\.Z)?\.(MAIN\.EUS|MAIN|GA|EUS|AUS|E4S|TUS)$`)

// StreamReleases maps a product stream, named by its product ID and CPE,
// to the release keys whose hosts its fixes apply to. The main stream of
// RHEL 9 is "rhel:9" (RHEL 10's main CPEs carry the minor, 10.0, but
// there is still one main stream, "rhel:10"); EUS 9.2 is "rhel-eus:9.2";
// likewise rhel-aus, rhel-e4s, rhel-tus, and rhel-els on the major alone.
//
// A main-stream fix of a minor release that also has an EUS stream (Errata
// Tool's MAIN.EUS variant, AppStream-9.4.0.Z.MAIN.EUS) ships in that EUS
// stream's repositories too, so it applies to "rhel-eus:9.4" as well as
// "rhel:9". RHEL 10 main CPEs name the minor for MAIN and MAIN.EUS alike,
// so every RHEL 10 main-stream fix also applies to the EUS stream of its
// minor; where that minor has no EUS stream no host is on it.
//
// Products that are not RHEL streams (OpenStack, Satellite,
// enterprise_linux_nvidia, …) yield nil.
func StreamReleases(productID, cpe string) []string {
	c, ok := ParseCPE(cpe)
	if !ok {
		return productIDReleases(productID)
	}
	major, minor, hasMinor := strings.Cut(c.Version, ".")
	if stream, ok := extendedStreams[c.Product]; ok {
		if stream == "els" {
			return []string{patchwatch.ReleaseKey("rhel-els", major)}
		}
		if !hasMinor {
			// An unfixed (VEX) CPE names the major alone: no stream to match.
			return nil
		}
		return []string{patchwatch.ReleaseKey("rhel-"+stream, c.Version)}
	}
	if !mainStream(c.Product) {
		return nil
	}
	out := []string{patchwatch.ReleaseKey("rhel", major)}
	if m := productIDStream.FindStringSubmatch(productID); m != nil && m[1] == major && m[3] == "MAIN.EUS" {
		out = append(out, patchwatch.ReleaseKey("rhel-eus", m[1]+"."+m[2]))
	} else if hasMinor && atLeast(major, 10) {
		out = append(out, patchwatch.ReleaseKey("rhel-eus", major+"."+minor))
	}
	return out
}

// StreamRelease returns the first release key of StreamReleases for a CPE
// alone.
func StreamRelease(cpe string) (string, bool) {
	r := StreamReleases("", cpe)
	if len(r) == 0 {
		return "", false
	}
	return r[0], true
}

// productIDReleases is the fallback for a product stream without a CPE.
func productIDReleases(productID string) []string {
	m := productIDStream.FindStringSubmatch(productID)
	if m == nil {
		return nil
	}
	major, minor := m[1], m[1]+"."+m[2]
	switch m[3] {
	case "MAIN", "GA":
		return []string{patchwatch.ReleaseKey("rhel", major)}
	case "MAIN.EUS":
		return []string{patchwatch.ReleaseKey("rhel", major), patchwatch.ReleaseKey("rhel-eus", minor)}
	}
	return []string{patchwatch.ReleaseKey("rhel-"+strings.ToLower(m[3]), minor)}
}

func atLeast(major string, n int) bool {
	v, err := strconv.Atoi(major)
	return err == nil && v >= n
}

// mergeReleases adds releases to a product's list, once each.
func mergeReleases(list []string, releases ...string) []string {
	for _, r := range releases {
		if !slices.Contains(list, r) {
			list = append(list, r)
		}
	}
	return list
}
