package service

import (
	"context"
	"fmt"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/matcher"
	"github.com/patchwatch/patchwatch/store"
)

// binarySources looks up, in the store's binary map, the sources that build
// the packages of h that carry no source information, and returns them by
// release together with names extended by those sources (so that their
// advisories are fetched).
func (e *Service) binarySources(ctx context.Context, h *patchwatch.Host, names []string) (map[string]map[string][]string, []string, error) {
	binaries := matcher.BinaryOnlyNames(h)
	if len(binaries) == 0 {
		return nil, names, nil
	}
	learnt := map[string]map[string][]string{}
	for _, release := range matcher.HostReleases(h) {
		sources, err := e.s.BinarySources(ctx, release, binaries)
		if err != nil {
			return nil, nil, fmt.Errorf("look up binary sources for %s: %w", h.Name, err)
		}
		learnt[release] = sources
		for _, srcs := range sources {
			names = append(names, srcs...)
		}
	}
	return learnt, names, nil
}

// learnBinarySources feeds the binary map from a host that carried source
// fields and re-evaluates the binary-only hosts that have a binary the map
// did not know before.
func (e *Service) learnBinarySources(ctx context.Context, h *patchwatch.Host) error {
	fresh, err := e.s.LearnBinarySources(ctx, h)
	if err != nil || len(fresh) == 0 {
		return err
	}
	names, err := e.s.HostsWithPackages(ctx, fresh)
	if err != nil {
		return err
	}
	for _, name := range names {
		if name == h.Name {
			continue
		}
		other, err := e.s.Host(ctx, name)
		if err != nil {
			return err
		}
		if len(matcher.BinaryOnlyNames(&other)) == 0 {
			continue
		}
		if _, err := e.Sync(ctx, &other); err != nil {
			return fmt.Errorf("re-evaluate %s: %w", name, err)
		}
	}
	return nil
}

// withBinaries adds to the (release, package) pairs of changed advisories
// the binaries their fixes list and those the binary map knows for their
// sources, under which binary-only hosts are indexed.
func (e *Service) withBinaries(ctx context.Context, changed []patchwatch.Advisory, pairs []store.ReleasePackage) ([]store.ReleasePackage, error) {
	var sources []store.ReleasePackage
	for _, a := range changed {
		for _, f := range a.Fixes {
			if f.Kind != patchwatch.KindSource {
				continue
			}
			sources = append(sources, store.ReleasePackage{Release: f.Release, Package: f.Package})
			for _, b := range f.Binaries {
				pairs = append(pairs, store.ReleasePackage{Release: f.Release, Package: b})
			}
		}
	}
	built, err := e.s.BinariesBuilt(ctx, sources)
	if err != nil {
		return nil, err
	}
	return append(pairs, built...), nil
}

// addLearntSources gives ix what the binary map knows of the sources that
// build h's binary-only packages. ix is shared by the hosts of one job: the
// map is the release's, so adding one host's part never changes another's
// result. Callers must not run it while ix is being matched concurrently.
func (e *Service) addLearntSources(ctx context.Context, ix *matcher.Index, h *patchwatch.Host) error {
	learnt, _, err := e.binarySources(ctx, h, nil)
	if err != nil {
		return err
	}
	for release, sources := range learnt {
		ix.AddBinarySources(release, sources)
	}
	return nil
}
