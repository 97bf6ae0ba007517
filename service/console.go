package service

import (
	"context"
	"time"
)

// RebootRequiredSince returns since when a host has waited for a reboot,
// zero when it does not: the console's host page reads it without
// summarizing the owner's other hosts.
func (e *Service) RebootRequiredSince(ctx context.Context, host string) (time.Time, error) {
	states, err := e.s.HostStates(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return states[host].RebootRequiredSince, nil
}
