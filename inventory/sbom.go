package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/patchwatch/patchwatch"
)

// Container image SBOM formats: the documents image scanners emit, which
// owners paste for a container or a VM image. Every one names the OS
// packages by package URL (pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.10?arch=amd64&upstream=openssl);
// the rest (npm, pypi, Go modules) is not what distribution advisories fix.
const (
	FormatCycloneDX PackagesFormat = "cyclonedx-json" // syft -o cyclonedx-json, trivy --format cyclonedx
	FormatSPDX      PackagesFormat = "spdx-json"      // syft -o spdx-json, trivy --format spdx-json
	FormatSyftJSON  PackagesFormat = "syft-json"      // syft -o json
)

// SBOM is the OS part of an image SBOM.
type SBOM struct {
	Format   PackagesFormat
	Family   patchwatch.Family
	Packages []patchwatch.Package
	// OS is the distribution the document names (its operating-system
	// component, syft's distro, or the purls' distro qualifier); ID is
	// empty when it names none.
	OS patchwatch.OSRelease
	// SourceInfo: the generator records source packages (syft's upstream
	// qualifier, trivy's SrcName), so a package without one is its own
	// source. EpochInfo: for rpm, the generator read the rpm database and
	// states every epoch.
	SourceInfo, EpochInfo bool
}

// DetectSBOM tells an image SBOM from its content.
func DetectSBOM(data []byte) (PackagesFormat, bool) {
	head := bytes.TrimLeft(data[:min(len(data), 4096)], " \t\r\n\ufeff")
	if len(head) == 0 || head[0] != '{' {
		return "", false
	}
	switch {
	case bytes.Contains(head, []byte(`"bomFormat"`)):
		return FormatCycloneDX, true
	case bytes.Contains(head, []byte(`"spdxVersion"`)):
		return FormatSPDX, true
	case bytes.Contains(data, []byte(`"artifacts"`)) && bytes.Contains(data, []byte(`"artifactRelationships"`)):
		return FormatSyftJSON, true
	}
	return "", false
}

// sbomProperty is a CycloneDX name/value property.
type sbomProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxComponent struct {
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	PURL       string         `json:"purl"`
	Properties []sbomProperty `json:"properties"`
	Components []cdxComponent `json:"components"`
}

type cdxDocument struct {
	BOMFormat string `json:"bomFormat"`
	Metadata  struct {
		Component *cdxComponent `json:"component"`
	} `json:"metadata"`
	Components []cdxComponent `json:"components"`
}

type spdxDocument struct {
	SPDXVersion string `json:"spdxVersion"`
	Packages    []struct {
		Name         string `json:"name"`
		VersionInfo  string `json:"versionInfo"`
		SourceInfo   string `json:"sourceInfo"`
		ExternalRefs []struct {
			Category string `json:"referenceCategory"`
			Type     string `json:"referenceType"`
			Locator  string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
}

type syftDocument struct {
	Artifacts []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Type    string `json:"type"`
		PURL    string `json:"purl"`
	} `json:"artifacts"`
	Distro struct {
		ID        string `json:"id"`
		VersionID string `json:"versionID"`
	} `json:"distro"`
}

// sbomEntry is one package of a document: its purl and what the generator
// says beside it.
type sbomEntry struct {
	purl       string
	properties map[string]string
	// builtFrom is SPDX's "built package from: NAME VERSION" (trivy).
	builtFrom string
}

// Trivy's CycloneDX properties of an OS package.
const (
	trivySrcName    = "aquasecurity:trivy:SrcName"
	trivySrcVersion = "aquasecurity:trivy:SrcVersion"
	trivySrcRelease = "aquasecurity:trivy:SrcRelease"
	trivySrcEpoch   = "aquasecurity:trivy:SrcEpoch"
	trivyModule     = "aquasecurity:trivy:Modularitylabel"
)

// ParseSBOM reads the OS packages of a CycloneDX, SPDX or syft JSON
// document. A document naming no deb or rpm package, or both, is an error.
func ParseSBOM(name string, data []byte) (SBOM, error) {
	format, ok := DetectSBOM(data)
	if !ok {
		return SBOM{}, fmt.Errorf("%s: not a CycloneDX, SPDX or syft JSON document", name)
	}
	sb := SBOM{Format: format}
	var entries []sbomEntry
	switch format {
	case FormatCycloneDX:
		var doc cdxDocument
		if err := json.Unmarshal(data, &doc); err != nil {
			return SBOM{}, fmt.Errorf("%s: decode CycloneDX: %w", name, err)
		}
		var walk func([]cdxComponent)
		walk = func(cs []cdxComponent) {
			for _, c := range cs {
				if c.Type == "operating-system" && sb.OS.ID == "" {
					sb.OS = patchwatch.OSRelease{ID: c.Name, VersionID: c.Version}
				}
				if c.PURL != "" {
					props := map[string]string{}
					for _, p := range c.Properties {
						props[p.Name] = p.Value
					}
					entries = append(entries, sbomEntry{purl: c.PURL, properties: props})
				}
				walk(c.Components)
			}
		}
		walk(doc.Components)
	case FormatSPDX:
		var doc spdxDocument
		if err := json.Unmarshal(data, &doc); err != nil {
			return SBOM{}, fmt.Errorf("%s: decode SPDX: %w", name, err)
		}
		for _, p := range doc.Packages {
			for _, ref := range p.ExternalRefs {
				if ref.Type == "purl" {
					entries = append(entries, sbomEntry{purl: ref.Locator, builtFrom: p.SourceInfo})
				}
			}
		}
	case FormatSyftJSON:
		var doc syftDocument
		if err := json.Unmarshal(data, &doc); err != nil {
			return SBOM{}, fmt.Errorf("%s: decode syft JSON: %w", name, err)
		}
		sb.OS = patchwatch.OSRelease{ID: doc.Distro.ID, VersionID: doc.Distro.VersionID}
		for _, a := range doc.Artifacts {
			if a.PURL != "" {
				entries = append(entries, sbomEntry{purl: a.PURL})
			}
		}
	}
	if err := sb.addEntries(entries); err != nil {
		return SBOM{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(sb.Packages) == 0 {
		return SBOM{}, fmt.Errorf("%s: the %s document lists no deb or rpm packages", name, format)
	}
	sb.OS.ID = sbomDistroID(sb.OS.ID)
	if sb.OS.ID == "debian" {
		// Scanners report /etc/debian_version ("12.4"); os-release says "12".
		sb.OS.VersionID, _, _ = strings.Cut(sb.OS.VersionID, ".")
	}
	return sb, nil
}

// sbomDistroID maps the distribution names scanners use to os-release IDs.
func sbomDistroID(id string) string {
	switch id = strings.ToLower(id); id {
	case "redhat", "red hat enterprise linux":
		return "rhel"
	case "alma":
		return "almalinux"
	}
	return id
}

// addEntries turns the documents' purls into packages.
func (sb *SBOM) addEntries(entries []sbomEntry) error {
	type parsed struct {
		purl packageurl.PackageURL
		q    map[string]string
		e    sbomEntry
	}
	var debs, rpms []parsed
	for _, e := range entries {
		if !strings.HasPrefix(e.purl, "pkg:deb/") && !strings.HasPrefix(e.purl, "pkg:rpm/") {
			continue
		}
		p, err := packageurl.FromString(e.purl)
		if err != nil {
			return fmt.Errorf("package URL %q: %w", truncate(e.purl, 120), err)
		}
		x := parsed{p, p.Qualifiers.Map(), e}
		if p.Type == packageurl.TypeDebian {
			debs = append(debs, x)
		} else {
			rpms = append(rpms, x)
		}
	}
	if len(debs) > 0 && len(rpms) > 0 {
		return errors.New("the document lists both deb and rpm packages")
	}
	all := debs
	sb.Family = patchwatch.FamilyDebian
	if len(rpms) > 0 {
		all, sb.Family = rpms, patchwatch.FamilyRPM
		sb.EpochInfo = true
	}
	for _, x := range all {
		if x.q["upstream"] != "" || x.e.properties[trivySrcName] != "" || strings.HasPrefix(x.e.builtFrom, "built package from:") {
			sb.SourceInfo = true
			break
		}
	}
	seen := map[[3]string]bool{}
	for _, x := range all {
		if sb.OS.ID == "" {
			sb.OS = purlDistro(x.purl, x.q)
		}
		var p patchwatch.Package
		var err error
		if sb.Family == patchwatch.FamilyDebian {
			p, err = debFromPURL(x.purl, x.q, x.e, sb.SourceInfo)
		} else {
			p, err = rpmFromPURL(x.purl, x.q, x.e)
		}
		if err != nil {
			return fmt.Errorf("package URL %q: %w", truncate(x.e.purl, 120), err)
		}
		// The same package appears once per layer or location in some
		// documents.
		k := [3]string{p.Name, p.Version, p.Arch}
		if !seen[k] {
			seen[k] = true
			sb.Packages = append(sb.Packages, p)
		}
	}
	return nil
}

// purlDistro reads the distro qualifier ("ubuntu-22.04", "rhel-9.3"),
// falling back to the namespace.
func purlDistro(p packageurl.PackageURL, q map[string]string) patchwatch.OSRelease {
	d := q["distro"]
	if d == "" {
		return patchwatch.OSRelease{}
	}
	id, ver, ok := strings.Cut(d, "-")
	if !ok {
		return patchwatch.OSRelease{ID: p.Namespace}
	}
	return patchwatch.OSRelease{ID: id, VersionID: ver}
}

// debFromPURL reads a deb package: the version carries the epoch (syft) or
// the epoch qualifier does (trivy); the source is the upstream qualifier
// ("glibc" or "glibc@2.36-9"), trivy's SrcName/SrcVersion, or SPDX's
// sourceInfo.
func debFromPURL(p packageurl.PackageURL, q map[string]string, e sbomEntry, sourceAware bool) (patchwatch.Package, error) {
	pkg := patchwatch.Package{Name: p.Name, Version: withEpoch(q["epoch"], p.Version), Arch: q["arch"]}
	if pkg.Name == "" {
		return pkg, errors.New("no package name")
	}
	if err := checkVersion(pkg.Version); err != nil {
		return pkg, err
	}
	if !sourceAware {
		return pkg, nil
	}
	srcName, srcVersion := pkg.Name, ""
	switch {
	case q["upstream"] != "":
		srcName, srcVersion, _ = strings.Cut(q["upstream"], "@")
	case e.properties[trivySrcName] != "":
		srcName = e.properties[trivySrcName]
		if v := e.properties[trivySrcVersion]; v != "" {
			srcVersion = withEpoch(e.properties[trivySrcEpoch], v)
		}
	case strings.HasPrefix(e.builtFrom, "built package from:"):
		f := strings.Fields(strings.TrimPrefix(e.builtFrom, "built package from:"))
		if len(f) > 0 {
			srcName = f[0]
		}
		if len(f) > 1 {
			srcVersion = f[1]
		}
	}
	if srcVersion == "" {
		srcVersion = pkg.Version
	} else if err := checkVersion(srcVersion); err != nil {
		return pkg, fmt.Errorf("source version: %w", err)
	}
	pkg.SourceName, pkg.SourceVersion = srcName, srcVersion
	return pkg, nil
}

// rpmFromPURL reads an rpm package: version-release in the version, the
// epoch qualifier, the source rpm file name in upstream (syft) or trivy's
// SrcName/SrcVersion/SrcRelease.
func rpmFromPURL(p packageurl.PackageURL, q map[string]string, e sbomEntry) (patchwatch.Package, error) {
	epoch, version := q["epoch"], p.Version
	if e, rest, ok := strings.Cut(version, ":"); ok && epoch == "" {
		epoch, version = e, rest
	}
	if epoch == "" {
		epoch = "0"
	}
	ver, rel, ok := strings.Cut(version, "-")
	if !ok {
		return patchwatch.Package{}, fmt.Errorf("version %q is not version-release", p.Version)
	}
	v, err := evr(epoch, ver, rel)
	if err != nil {
		return patchwatch.Package{}, err
	}
	pkg := patchwatch.Package{Name: p.Name, Version: v, Arch: q["arch"]}
	if pkg.Name == "" {
		return pkg, errors.New("no package name")
	}
	switch {
	case q["upstream"] != "":
		src, srcVR, err := parseSourceRPM(q["upstream"])
		if err != nil {
			return pkg, err
		}
		pkg.SourceName, pkg.SourceVersion = src, epoch+":"+srcVR
	case e.properties[trivySrcName] != "":
		pkg.SourceName = e.properties[trivySrcName]
		srcEpoch := e.properties[trivySrcEpoch]
		if srcEpoch == "" {
			srcEpoch = epoch
		}
		if sv, sr := e.properties[trivySrcVersion], e.properties[trivySrcRelease]; sv != "" && sr != "" {
			if pkg.SourceVersion, err = evr(srcEpoch, sv, sr); err != nil {
				return pkg, fmt.Errorf("source version: %w", err)
			}
		}
	}
	if m := e.properties[trivyModule]; m != "" {
		pkg.Module = moduleStream(m)
	}
	return pkg, nil
}

// withEpoch prefixes a version with a stated epoch it lacks.
func withEpoch(epoch, version string) string {
	if epoch == "" || epoch == "0" || strings.Contains(version, ":") {
		return version
	}
	return epoch + ":" + version
}
