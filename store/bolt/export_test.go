package bolt

// DecodeIDs is decodeIDs, for the external tests.
var DecodeIDs = decodeIDs
