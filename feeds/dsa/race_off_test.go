//go:build !race

package dsa_test

const raceEnabled = false
