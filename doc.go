// Package patchwatch holds the domain of the patchwatch service: security
// advisories with their per-release fixes, the hosts that report what they
// run, and the findings that tie the two together.
//
// It imports only the standard library; feeds, inventory parsers, the
// matcher and the store build on these types.
package patchwatch
