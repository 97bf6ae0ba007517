package service

import (
	"context"
	"errors"
	"time"

	"github.com/patchwatch/patchwatch/store"
)

// RebootRequiredSince returns since when a host has waited for a reboot,
// zero when it does not: the console's host page reads it from the host's
// record without summarizing the owner's other hosts.
func (e *Service) RebootRequiredSince(ctx context.Context, host string) (time.Time, error) {
	r, err := e.s.HostRecord(ctx, host)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return r.RebootSince, nil
}
