package service

// SetChunk sets how many hosts a fleet job takes at a time, so that tests
// of small fleets run the pipeline over many chunks.
func SetChunk(e *Service, n int) { e.chunk = n }
