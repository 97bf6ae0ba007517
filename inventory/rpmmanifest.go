package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// FormatRPMManifest is the rpm manifest of a container image in Red Hat's
// container catalog (object_type containerImageRPMManifest): one entry per
// rpm with name, version (carrying the epoch when it is not zero, or an
// "nerva" that does), release, architecture and source rpm.
const FormatRPMManifest PackagesFormat = "rpm-manifest-json"

type rpmManifestEntry struct {
	Name         string  `json:"name"`
	Version      string  `json:"version"`
	Release      string  `json:"release"`
	Architecture string  `json:"architecture"`
	NERVA        string  `json:"nerva"`
	SRPMName     string  `json:"srpm_name"`
	SRPMNEVRA    string  `json:"srpm_nevra"`
	Module       *string `json:"module"`
}

type rpmManifest struct {
	RPMs []rpmManifestEntry `json:"rpms"`
}

// isRPMManifest tells a catalog rpm manifest from its content.
func isRPMManifest(data []byte) bool {
	head := bytes.TrimLeft(data[:min(len(data), 4096)], " \t\r\n\ufeff")
	return len(head) > 0 && head[0] == '{' && bytes.Contains(head, []byte(`"rpms"`))
}

// parseRPMManifest reads a catalog rpm manifest. Epochs appear where they
// are not zero, so the list has epochs; source rpms are named; module
// streams only on modular packages.
func parseRPMManifest(name string, data []byte) (RPMList, error) {
	var m rpmManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return RPMList{}, fmt.Errorf("%s: decode rpm manifest: %w", name, err)
	}
	list := RPMList{EpochInfo: true, SourceInfo: true}
	for i, r := range m.RPMs {
		p, err := r.pkg()
		if err != nil {
			return RPMList{}, fmt.Errorf("%s: rpms[%d] %s: %w", name, i, r.Name, err)
		}
		if r.SRPMNEVRA == "" {
			list.SourceInfo = false
		}
		if r.Module != nil {
			list.ModuleInfo = true
		}
		if p.Name != "gpg-pubkey" {
			list.Packages = append(list.Packages, p)
		}
	}
	if len(list.Packages) == 0 {
		return RPMList{}, fmt.Errorf("%s: no packages", name)
	}
	return list, nil
}

// pkg reads one entry: the EVR from version and release, or from the
// nerva (name-[epoch:]version-release.arch) of older manifests.
func (r rpmManifestEntry) pkg() (patchwatch.Package, error) {
	if r.Name == "" {
		return patchwatch.Package{}, fmt.Errorf("no name")
	}
	version, release := r.Version, r.Release
	if version == "" {
		nevr, ok := strings.CutPrefix(strings.TrimSuffix(r.NERVA, "."+r.Architecture), r.Name+"-")
		if !ok {
			return patchwatch.Package{}, fmt.Errorf("nerva %q does not start with the name", r.NERVA)
		}
		vr, rel, ok := strings.Cut(nevr, "-")
		if !ok {
			return patchwatch.Package{}, fmt.Errorf("nerva %q has no release", r.NERVA)
		}
		version, release = vr, rel
	}
	epoch, ver, ok := strings.Cut(version, ":")
	if !ok {
		epoch, ver = "0", version
	}
	v, err := evr(epoch, ver, release)
	if err != nil {
		return patchwatch.Package{}, err
	}
	p := patchwatch.Package{Name: r.Name, Version: v, Arch: r.Architecture}
	if r.SRPMNEVRA != "" {
		src, srcVR, err := parseSourceRPM(r.SRPMNEVRA + ".rpm")
		if err != nil {
			return p, err
		}
		if e, rest, ok := strings.Cut(srcVR, ":"); ok {
			// "acl-0:2.3.1-3.el9": the epoch sits after the name.
			srcVR, epoch = rest, e
		}
		p.SourceName, p.SourceVersion = src, epoch+":"+srcVR
	}
	if r.Module != nil && *r.Module != "" {
		p.Module = moduleStream(*r.Module)
	}
	return p, nil
}
