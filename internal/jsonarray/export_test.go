package jsonarray

// Indent exposes indent to the tests.
var Indent = indent
