//go:build race

package dsa_test

// raceEnabled shrinks the generated archives: the race detector slows
// streaming tenfold, and memory is measured without it.
const raceEnabled = true
