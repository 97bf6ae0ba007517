// Package version compares package versions by the rules of the
// distributions' own tools: dpkg for deb packages. Every rule is proven in
// the tests against verdicts recorded from the real dpkg.
package version
