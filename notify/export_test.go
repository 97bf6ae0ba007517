package notify

// SetFlushAt makes n commit what a step decided once its messages reach
// size bytes.
func SetFlushAt(n *Notifier, size int) { n.flushAt = size }
