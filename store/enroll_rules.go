package store

import (
	"fmt"
	"strings"

	"github.com/patchwatch/patchwatch"
)

// DecideEnroll applies the rules of one enrollment, with no I/O, so that
// every implementation of the storage contract enforces the same ones:
// by is the enrolling token as stored now, claim the host's claim if
// found, stored the host's stored record (consulted when not found). It
// returns the claim to store, by with its use counted, and the new host
// token, or the error Enroll documents.
func DecideEnroll(e Enroll, by patchwatch.Token, claim patchwatch.Enrollment, found bool, stored patchwatch.Host) (patchwatch.Enrollment, patchwatch.Token, patchwatch.Token, error) {
	host := e.HostToken
	if err := by.MayEnroll(e.Host, e.Now); err != nil {
		return claim, by, host, fmt.Errorf("enroll %s with %s: %w", e.Host, by.ID, err)
	}
	if !found {
		// A host imported by hand, or reported before enrollments were
		// recorded, belongs to the owner its record names.
		switch {
		case by.Kind == patchwatch.TokenAdmin && stored.Owner == "":
			return claim, by, host, fmt.Errorf("enroll %s: %w", e.Host, ErrAdminEnroll)
		case by.Kind == patchwatch.TokenAdmin:
			claim = patchwatch.Enrollment{Owner: stored.Owner, Project: stored.Project}
		default:
			claim = patchwatch.Enrollment{Owner: by.Owner, Project: by.Project}
			if stored.Owner != "" && !strings.EqualFold(stored.Owner, by.Owner) {
				claim.Owner = stored.Owner
			}
		}
		claim.Host, claim.EnrolledAt, claim.EnrollToken = e.Host, e.Now.UTC(), by.ID
	}
	if by.Kind != patchwatch.TokenAdmin && !strings.EqualFold(claim.Owner, by.Owner) {
		return claim, by, host, fmt.Errorf("enroll %s: %w", e.Host, patchwatch.ErrHostClaimed)
	}
	if by.Kind == patchwatch.TokenEnroll {
		by.Used++
	}
	host.Kind, host.Host, host.Owner, host.Project = patchwatch.TokenHost, e.Host, claim.Owner, claim.Project
	if err := host.Validate(); err != nil {
		return claim, by, host, err
	}
	claim.LastEnrolledAt, claim.LastEnrollToken = e.Now.UTC(), by.ID
	claim.Enrollments++
	return claim, by, host, nil
}
