// Package browsertest drives the web console in a real headless Chromium
// (chromedp): an owner signs in, reads a host's finding and command and
// silences it; an admin sees the dashboard's chart and opens an advisory.
// It skips, with one message, when no Chromium is installed and CI is not
// set; under CI=true a missing Chromium fails. Screenshots go to
// $PATCHWATCH_SCREENSHOTS, or the test's temporary directory.
package browsertest
