package patchwatch

import (
	"fmt"
	"strconv"
	"strings"
)

// ubuntuReleases maps Ubuntu version numbers to codenames. Legacy USN
// records name releases by codename, OSV records and os-release by number.
var ubuntuReleases = map[string]string{
	"12.04": "precise", "12.10": "quantal", "13.04": "raring", "13.10": "saucy",
	"14.04": "trusty", "14.10": "utopic", "15.04": "vivid", "15.10": "wily",
	"16.04": "xenial", "16.10": "yakkety", "17.04": "zesty", "17.10": "artful",
	"18.04": "bionic", "18.10": "cosmic", "19.04": "disco", "19.10": "eoan",
	"20.04": "focal", "20.10": "groovy", "21.04": "hirsute", "21.10": "impish",
	"22.04": "jammy", "22.10": "kinetic", "23.04": "lunar", "23.10": "mantic",
	"24.04": "noble", "24.10": "oracular", "25.04": "plucky", "25.10": "questing",
	"26.04": "resolute",
}

// debianReleases maps Debian major versions to codenames.
var debianReleases = map[string]string{
	"2.0": "hamm", "2.1": "slink", "2.2": "potato", "3.0": "woody", "3.1": "sarge",
	"4": "etch", "5": "lenny", "6": "squeeze", "7": "wheezy", "8": "jessie",
	"9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm",
	"13": "trixie", "14": "forky", "15": "duke",
}

// UbuntuVersion returns the version number of an Ubuntu codename.
func UbuntuVersion(codename string) (string, bool) {
	codename = strings.ToLower(codename)
	for v, c := range ubuntuReleases {
		if c == codename {
			return v, true
		}
	}
	return "", false
}

// UbuntuCodename returns the codename of an Ubuntu version number.
func UbuntuCodename(version string) (string, bool) {
	c, ok := ubuntuReleases[version]
	return c, ok
}

// DebianVersion returns the major version of a Debian codename.
func DebianVersion(codename string) (string, bool) {
	codename = strings.ToLower(codename)
	for v, c := range debianReleases {
		if c == codename {
			return v, true
		}
	}
	return "", false
}

// DebianCodename returns the codename of a Debian major version.
func DebianCodename(version string) (string, bool) {
	c, ok := debianReleases[version]
	return c, ok
}

// ReleaseKey names a distribution release the way fixes and hosts are
// indexed: "ubuntu:22.04", "debian:12".
func ReleaseKey(distro, version string) string {
	return distro + ":" + version
}

// ResolveRelease derives the release key and family from os-release fields.
// It returns an error naming what is missing or unknown.
func ResolveRelease(os OSRelease) (key string, family Family, err error) {
	id := strings.ToLower(os.ID)
	switch id {
	case "ubuntu":
		v := os.VersionID
		if v == "" && os.VersionCodename != "" {
			v, _ = UbuntuVersion(os.VersionCodename)
		}
		if _, ok := ubuntuReleases[v]; !ok && !newerUbuntu(v) {
			return "", "", fmt.Errorf("unknown ubuntu release %q (VERSION_ID) / %q (VERSION_CODENAME)", os.VersionID, os.VersionCodename)
		}
		return ReleaseKey("ubuntu", v), FamilyDebian, nil
	case "debian":
		v := os.VersionID
		if v == "" && os.VersionCodename != "" {
			v, _ = DebianVersion(os.VersionCodename)
		}
		if v == "" && os.DebianVersion != "" {
			// /etc/debian_version: "11.7" on a point release, "bookworm/sid" on testing.
			major, _, _ := strings.Cut(os.DebianVersion, ".")
			if _, ok := debianReleases[major]; ok || newerDebian(major) {
				v = major
			} else if codename, _, ok := strings.Cut(os.DebianVersion, "/"); ok {
				v, _ = DebianVersion(codename)
			}
		}
		if _, ok := debianReleases[v]; !ok && !newerDebian(v) {
			return "", "", fmt.Errorf("unknown debian release %q (VERSION_ID) / %q (VERSION_CODENAME)", os.VersionID, os.VersionCodename)
		}
		return ReleaseKey("debian", v), FamilyDebian, nil
	case "rhel", "almalinux", "rocky", "centos":
		major, _, _ := strings.Cut(os.VersionID, ".")
		if major == "" || strings.Trim(major, "0123456789") != "" {
			return "", "", fmt.Errorf("%s release %q (VERSION_ID) is not a number", id, os.VersionID)
		}
		return ReleaseKey(id, major), FamilyRPM, nil
	case "":
		return "", "", fmt.Errorf("os-release has no ID")
	}
	return "", "", fmt.Errorf("unsupported distribution %q", os.ID)
}

// newestUbuntu and newestDebian are the newest releases in the tables; a
// host on a later one is accepted from its os-release, and matched as soon
// as advisories name its version (OSV records and Red Hat's name releases
// by number, so no codename is needed).
const (
	newestUbuntu = "26.04"
	newestDebian = 15
)

// newerUbuntu reports whether v is a well-formed Ubuntu version (YY.04 or
// YY.10) later than the table's newest.
func newerUbuntu(v string) bool {
	year, month, ok := strings.Cut(v, ".")
	if !ok || len(year) != 2 || strings.Trim(year, "0123456789") != "" || (month != "04" && month != "10") {
		return false
	}
	return v > newestUbuntu
}

// newerDebian reports whether v is a Debian major version later than the
// table's newest.
func newerDebian(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n > newestDebian && n < 100 && strconv.Itoa(n) == v
}

// RHSARelease returns the Red Hat release key whose advisories apply to a
// host of the RHEL family: the host's own for RHEL, "rhel:N" for the
// rebuilds and CentOS Stream.
func RHSARelease(release string) string {
	distro, major, ok := strings.Cut(release, ":")
	if !ok {
		return release
	}
	switch distro {
	case "almalinux", "rocky", "centos":
		return ReleaseKey("rhel", major)
	}
	return release
}

// ReleaseFamily returns the family of a release key's distribution.
func ReleaseFamily(release string) Family {
	distro, _, _ := strings.Cut(release, ":")
	switch distro {
	case "ubuntu", "debian":
		return FamilyDebian
	}
	return FamilyRPM
}
