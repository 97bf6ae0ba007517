// Package matcher decides which advisories are outstanding on a host. It is
// pure: hosts and advisories in, findings out, no I/O.
package matcher

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/version"
)

// Index holds advisories' fixes keyed by release and package name, so that
// matching a host costs one lookup per installed package plus one version
// comparison per candidate fix.
type Index struct {
	// fixes maps release, then package name, to the fixes naming it; two
	// levels so that a lookup builds no key string.
	fixes map[string]map[string][]*fixRef
	// binaries maps release, then binary name, to the source fixes whose
	// advisory lists that binary; learnt maps release, then binary name, to
	// the sources a store's binary map says build it. Both serve only
	// packages without source information (binaries.go).
	binaries map[string]map[string][]*fixRef
	learnt   map[string]map[string][]string
	releases map[string]bool
	count    int
	// collectors keeps collectors for reuse: findings grow one by one
	// into a slice that is copied, at its final length, when matching
	// ends.
	collectors sync.Pool
}

type fixRef struct {
	advisory *patchwatch.Advisory
	fix      *patchwatch.Fix
	// binaryFixed is a listed binary's own fixed version, when it is not
	// the fix's (Fix.BinaryVersions); fixed is then its parse.
	binaryFixed string
	fixed       version.Deb
	fixedRPM    version.RPM
	fixedErr    error
}

// fixedVersion is the version that fixes the package ref matches.
func (r *fixRef) fixedVersion() string {
	if r.binaryFixed != "" {
		return r.binaryFixed
	}
	return r.fix.FixedVersion
}

// NewIndex indexes advisories for matching.
func NewIndex(advisories []patchwatch.Advisory) *Index {
	ix := &Index{fixes: make(map[string]map[string][]*fixRef), binaries: make(map[string]map[string][]*fixRef),
		learnt: make(map[string]map[string][]string), releases: make(map[string]bool)}
	for i := range advisories {
		ix.Add(advisories[i])
	}
	return ix
}

// Add indexes one more advisory. An advisory with an ID already indexed is
// added again, not replaced: build a new Index when advisories change.
func (ix *Index) Add(a patchwatch.Advisory) {
	adv := &a
	ix.count++
	for i := range adv.Fixes {
		f := &adv.Fixes[i]
		ref := &fixRef{advisory: adv, fix: f}
		if f.FixedVersion != "" {
			if patchwatch.ReleaseFamily(f.Release) == patchwatch.FamilyRPM {
				ref.fixedRPM, ref.fixedErr = version.ParseRPM(f.FixedVersion)
			} else {
				ref.fixed, ref.fixedErr = version.ParseDeb(f.FixedVersion)
			}
		}
		ix.releases[f.Release] = true
		byPackage := ix.fixes[f.Release]
		if byPackage == nil {
			byPackage = make(map[string][]*fixRef)
			ix.fixes[f.Release] = byPackage
		}
		byPackage[f.Package] = append(byPackage[f.Package], ref)
		ix.indexBinaries(ref)
	}
}

// MarkRelease records that advisories of release are available even when
// none of those indexed fixes a given host's packages: a rebuild host is
// then matched against its own distribution's advisories, not Red Hat's.
func (ix *Index) MarkRelease(release string) { ix.releases[release] = true }

// Len returns the number of advisories indexed.
func (ix *Index) Len() int { return ix.count }

// Notes attached to findings.
const (
	NoteNoSourceInfo = "the inventory has no source package names: binaries were matched by their own name, through the advisories' binary lists and through the binary → source map learnt from other inventories of the release, by each binary's own version; a binary known to neither could not be checked"
)

// pkgState is one installed package as matching sees it.
type pkgState struct {
	pkg     patchwatch.Package
	srcName string
	srcVer  string
	kernel  bool
	// newest is the newest installed version of the package's kernel
	// source, to tell "update" from "installed, waiting for a reboot".
	newest *version.Deb

	binParsed, srcParsed bool
	bin, src             version.Deb
	binErr, srcErr       error

	// rpm hosts: the parsed EVR and, for kernels, the newest installed.
	rpm       version.RPM
	rpmErr    error
	newestRPM *version.RPM
}

// version returns the package's source or binary version, parsed once.
func (p *pkgState) version(useSource bool) (string, version.Deb, error) {
	if useSource {
		if !p.srcParsed {
			p.src, p.srcErr = version.ParseDeb(p.srcVer)
			p.srcParsed = true
		}
		return p.srcVer, p.src, p.srcErr
	}
	if !p.binParsed {
		p.bin, p.binErr = version.ParseDeb(p.pkg.Version)
		p.binParsed = true
	}
	return p.pkg.Version, p.bin, p.binErr
}

// sourceOf returns the source package and version a binary is matched by.
// Signed kernel images come from linux-signed-* sources that advisories do
// not name; they carry the kernel's own version and are matched as the
// kernel source (Debian's "linux", Ubuntu's "linux-<flavour>").
func sourceOf(h *patchwatch.Host, p patchwatch.Package) (string, string) {
	src, ver := p.Source()
	if kernel, ok := kernelSource(h, src); ok {
		return kernel, p.Version
	}
	return src, ver
}

// LookupNames returns every package name under which Match looks up fixes
// for h: binary names and source names, signed kernels mapped to their
// kernel source. A store can fetch just these advisories.
func LookupNames(h *patchwatch.Host) []string {
	names := make([]string, 0, 2*len(h.Packages))
	for _, p := range h.Packages {
		src, _ := sourceOf(h, p)
		names = append(names, p.Name, src)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// LookupNamesUnsorted returns LookupNames's names in inventory order,
// without the sort and with only the cheap duplicates left out (a source
// named like its binary, or like the previous package's source): a store
// indexing a host under them drops the rest, and the sort costs more than
// the rest on an inventory of 1,500 packages.
func LookupNamesUnsorted(h *patchwatch.Host) []string {
	names := make([]string, 0, 2*len(h.Packages))
	prev := ""
	for _, p := range h.Packages {
		src, _ := sourceOf(h, p)
		names = append(names, p.Name)
		if src != p.Name && src != prev {
			names = append(names, src)
		}
		prev = src
	}
	return names
}

// HostReleases returns the releases whose advisories may concern h: its
// own and, for the RHEL rebuilds, Red Hat's.
func HostReleases(h *patchwatch.Host) []string {
	if rhel := patchwatch.RHSARelease(h.Release); rhel != h.Release {
		return []string{h.Release, rhel}
	}
	return []string{h.Release}
}

// Match returns the findings for one host, most severe first.
func (ix *Index) Match(h *patchwatch.Host) []patchwatch.Finding { return ix.match(h, nil, nil) }

// MatchWith is Match with verdicts, which must have been made for ix
// (ix.NewVerdicts): each package whose verdict depends on its tuple alone
// is judged once for every host that has it.
func (ix *Index) MatchWith(h *patchwatch.Host, v *Verdicts) []patchwatch.Finding {
	return ix.MatchTuples(h, nil, v)
}

// MatchTuples is MatchWith for a host whose packages a store interned as
// tuples: ids[i] is the ID of h.Packages[i] (or nil), and verdicts are
// found by ID. h may leave out the packages its TupleView calls
// Skippable.
func (ix *Index) MatchTuples(h *patchwatch.Host, ids []uint32, v *Verdicts) []patchwatch.Finding {
	if v != nil && v.ix != ix {
		v = nil
	}
	if len(ids) != len(h.Packages) {
		ids = nil
	}
	return ix.match(h, ids, v)
}

// verdictKey returns the memo table h's tuples are judged on.
func (ix *Index) verdictKey(h *patchwatch.Host) verdictTable {
	if h.Family == patchwatch.FamilyRPM {
		release, _ := ix.rpmRelease(h)
		return verdictTable{release: release, moduleInfo: h.ModuleInfo}
	}
	return verdictTable{release: h.Release}
}

// kernelRelated reports whether whole-host kernel state (the running and
// newest kernels, the meta packages a kernel fix command names) may read a
// Debian-family package: every kernel source, signed or not, is named
// linux or linux-*.
func kernelRelated(p *patchwatch.Package) bool {
	return strings.HasPrefix(p.Name, "linux") || strings.HasPrefix(p.SourceName, "linux")
}

// MayConcern reports whether matching a host against ix may read the
// package of binary name and source name (empty when the inventory has
// none): a fix in ix names either, or it is a kernel package (whole-host
// kernel state reads those), or it carries no source information (matched
// through binary lists and maps). Leaving out of a host the packages it is
// false for changes nothing ix.Match returns. The names are bytes so that
// a store can ask of every stored tuple without copying them.
func (ix *Index) MayConcern(name, source []byte) bool {
	if len(source) == 0 || bytes.HasPrefix(name, []byte("linux")) || bytes.HasPrefix(source, []byte("linux")) || patchwatch.IsRPMKernel(string(name)) {
		return true
	}
	for _, byPackage := range ix.fixes {
		if byPackage[string(name)] != nil || byPackage[string(source)] != nil {
			return true
		}
	}
	return false
}

func tupleID(ids []uint32, i int) uint32 {
	if ids == nil {
		return 0
	}
	return ids[i]
}

func (ix *Index) match(h *patchwatch.Host, ids []uint32, v *Verdicts) []patchwatch.Finding {
	if h.Family == patchwatch.FamilyRPM {
		return ix.matchRPM(h, ids, v)
	}
	byPackage := ix.fixes[h.Release]
	if byPackage == nil {
		return nil
	}
	kernels := newDebKernels(h, ix.learnt[h.Release])
	c := ix.newCollector(h)
	memo := v.forHost(ix.verdictKey(h))
	defer memo.done()
	for i, p := range h.Packages {
		// A package with source information that is not a kernel has the
		// verdict of its tuple on this release, whatever the host: judged
		// once, by the first host that has it.
		plain := p.SourceName != ""
		if plain {
			if known := memo.lookup(&p, tupleID(ids, i)); known != nil && !known.hostDependent {
				c.addAll(known.contributions, i, &pkgState{pkg: p})
				continue
			}
		}
		// Most packages have no fix at all: look that up before building
		// any state for them.
		src, _ := sourceOf(h, p)
		viaBinary := ix.binaryRefs(h, h.Release, p)
		if byPackage[src] == nil && byPackage[p.Name] == nil && viaBinary == nil {
			if plain {
				memo.remember(&p, tupleID(ids, i), nil, false, kernelRelated(&p))
			}
			continue
		}
		state, ok := kernels.state(h, p)
		if plain {
			if st := &state; !ok || st.kernel {
				memo.remember(&p, tupleID(ids, i), nil, true, true)
			}
		}
		if !ok {
			continue
		}
		st := &state
		verdict := debContributions(byPackage, st)
		if plain && !st.kernel {
			memo.remember(&p, tupleID(ids, i), verdict, false, kernelRelated(&p))
		}
		c.addAll(verdict, i, st)
		c.matchBinaries(viaBinary, i, st)
	}
	return c.findings(func(f *patchwatch.Finding) {
		if !h.SourceInfo {
			f.Notes = append(f.Notes, NoteNoSourceInfo)
		}
		f.Command = fixCommand(h, f)
	})
}

// debContributions judges one installed package of a Debian-family host
// against the fixes naming its source or binary name.
func debContributions(byPackage map[string][]*fixRef, st *pkgState) []contribution {
	var out []contribution
	lookups := [2]string{st.srcName, st.pkg.Name}
	for li, name := range lookups {
		if li == 1 && name == lookups[0] {
			break
		}
		for _, ref := range byPackage[name] {
			// A source fix matches through the package's source; a binary
			// fix through the binary name.
			bySource := ref.fix.Kind == patchwatch.KindSource
			if bySource && name != st.srcName || !bySource && name != st.pkg.Name {
				continue
			}
			if contributed(out, ref) {
				continue
			}
			status, installed, note := judge(st, ref, bySource)
			if status == "" {
				continue
			}
			source := ""
			if bySource && st.srcName != st.pkg.Name {
				source = st.srcName
			}
			out = append(out, contribution{ref: ref, status: status, installed: installed, source: source, note: note})
		}
	}
	return out
}

// collector gathers matched packages into one finding per advisory.
// Most hosts have a few findings: they are kept in one slice, found by a
// scan, and indexed by a map only past smallCollector (a full
// re-evaluation builds a million findings, and per-host maps were most of
// what it allocated).
type collector struct {
	h   *patchwatch.Host
	out []patchwatch.Finding
	// byAdvisory indexes out by advisory ID once it is long.
	byAdvisory map[string]int
	// done records the (advisory, package) pairs matched, in a slice
	// while short.
	done    []matchKey
	doneSet map[matchKey]bool
	// keys is space for sorting out's findings.
	keys []findingKey
	pool *sync.Pool
}

const smallCollector = 16

type matchKey struct {
	advisory *patchwatch.Advisory
	pkg      int
}

func (ix *Index) newCollector(h *patchwatch.Host) *collector {
	c, _ := ix.collectors.Get().(*collector)
	if c == nil {
		c = &collector{}
	}
	c.h, c.pool = h, &ix.collectors
	return c
}

// release returns c to its pool.
func (c *collector) release() {
	clear(c.out)
	pool := c.pool
	clear(c.keys)
	*c = collector{out: c.out[:0], done: c.done[:0], keys: c.keys[:0]}
	pool.Put(c)
}

// seen reports whether package i already matched the advisory of ref.
func (c *collector) seen(ref *fixRef, i int) bool {
	k := matchKey{ref.advisory, i}
	if c.doneSet != nil {
		return c.doneSet[k]
	}
	return slices.Contains(c.done, k)
}

func (c *collector) markDone(k matchKey) {
	if c.doneSet != nil {
		c.doneSet[k] = true
		return
	}
	if slices.Contains(c.done, k) {
		return
	}
	c.done = append(c.done, k)
	if len(c.done) > 4*smallCollector {
		c.doneSet = make(map[matchKey]bool, 2*len(c.done))
		for _, d := range c.done {
			c.doneSet[d] = true
		}
		c.done = nil
	}
}

// finding returns the index in out of the advisory's finding, -1 if none.
func (c *collector) finding(id string) int {
	if c.byAdvisory != nil {
		if i, ok := c.byAdvisory[id]; ok {
			return i
		}
		return -1
	}
	for i := range c.out {
		if c.out[i].Advisory == id {
			return i
		}
	}
	return -1
}

// add records package i of the host against ref; an empty status means
// the package is not exposed and nothing is recorded.
func (c *collector) add(ref *fixRef, i int, st *pkgState, status patchwatch.Status, installed, source, note string) {
	if status == "" {
		return
	}
	c.markDone(matchKey{ref.advisory, i})
	k := c.finding(ref.advisory.ID)
	if k < 0 {
		k = len(c.out)
		c.out = append(c.out, newFinding(c.h, ref.advisory))
		switch {
		case c.byAdvisory != nil:
			c.byAdvisory[ref.advisory.ID] = k
		case len(c.out) > smallCollector:
			c.byAdvisory = make(map[string]int, 2*len(c.out))
			for j := range c.out {
				c.byAdvisory[c.out[j].Advisory] = j
			}
		}
	}
	f := &c.out[k]
	f.Packages = append(f.Packages, patchwatch.FindingPackage{Name: st.pkg.Name, Installed: installed, Fixed: ref.fixedVersion(), Source: source})
	if note != "" && !slices.Contains(f.Notes, note) {
		f.Notes = append(f.Notes, note)
	}
	if st.kernel {
		f.RebootHint = true
		f.RunningKernel = true
	}
	f.Status = worseStatus(f.Status, status, ref.fix.Subscription)
	if status == patchwatch.StatusUpdate && ref.fix.Subscription != "" {
		f.Subscription = ref.fix.Subscription
	}
}

// findings returns the findings in a stable order after finish has
// completed each one.
// The collector is released: it must not be used again.
func (c *collector) findings(finish func(*patchwatch.Finding)) []patchwatch.Finding {
	for i := range c.out {
		finish(&c.out[i])
	}
	// Copied out of the pooled slice once, in order.
	out := make([]patchwatch.Finding, len(c.out))
	c.keys = findingOrder(c.out, c.keys)
	for i, k := range c.keys {
		out[i] = c.out[k.i]
	}
	c.release()
	return out
}

func newFinding(h *patchwatch.Host, a *patchwatch.Advisory) patchwatch.Finding {
	return patchwatch.Finding{
		Host:           h.Name,
		Advisory:       a.ID,
		Source:         a.Source,
		Title:          a.Title,
		Severity:       a.Severity,
		SourceSeverity: a.SourceSeverity,
		CVSS:           a.CVSS,
		Published:      a.Published,
		CVEs:           a.CVEs,
		URL:            a.URL,
		RebootHint:     a.RebootHint,
	}
}

// judge compares one installed package with one fix. It returns an empty
// status when the package is not exposed.
func judge(st *pkgState, ref *fixRef, bySource bool) (patchwatch.Status, string, string) {
	raw, installed, err := st.version(bySource)
	if ref.fixedVersion() == "" {
		return patchwatch.StatusNoFix, raw, ""
	}
	if err != nil {
		return patchwatch.StatusUnknownVersion, raw, fmt.Sprintf("installed version %q of %s could not be parsed (%v): exposure unknown", raw, st.pkg.Name, err)
	}
	if ref.fixedErr != nil {
		return patchwatch.StatusUnknownVersion, raw, fmt.Sprintf("fixed version %q of %s could not be parsed (%v): exposure unknown", ref.fixedVersion(), ref.fix.Package, ref.fixedErr)
	}
	if installed.Compare(ref.fixed) >= 0 {
		return "", raw, ""
	}
	if st.kernel && st.newest != nil && st.newest.Compare(ref.fixed) >= 0 {
		return patchwatch.StatusPendingReboot, raw, ""
	}
	return patchwatch.StatusUpdate, raw, ""
}

// statusRank orders statuses by how much they ask of the owner (a switch:
// a map lookup per matched package was a tenth of building findings).
func statusRank(s patchwatch.Status) int {
	switch s {
	case patchwatch.StatusPendingReboot:
		return 1
	case patchwatch.StatusUnknownVersion:
		return 2
	case patchwatch.StatusNoFix:
		return 3
	case patchwatch.StatusSubscription:
		return 4
	case patchwatch.StatusUpdate:
		return 5
	}
	return 0
}

func worseStatus(current, next patchwatch.Status, subscription string) patchwatch.Status {
	if next == patchwatch.StatusUpdate && subscription != "" {
		next = patchwatch.StatusSubscription
	}
	if statusRank(next) > statusRank(current) {
		return next
	}
	return current
}

// debKernels is what matching needs to know about a Debian-family host's
// kernels. Kernel packages built for one ABI are installed side by side;
// only the running kernel's (or, when the running kernel is unknown, the
// newest) count, and each carries the newest installed version of its
// source so that a fix that is installed but not running is told apart
// from a missing one.
type debKernels struct {
	runningABI       string
	runningInstalled bool
	runningVersion   string // from a Debian `uname -v`, or ""
	newestBySource   map[string]*version.Deb
	newestABI        map[string]string
	// learnt is the release's binary → source map, which groups the
	// kernel packages of a binary-only inventory by their kernel source.
	learnt map[string][]string
}

func newDebKernels(h *patchwatch.Host, learnt map[string][]string) *debKernels {
	k := &debKernels{runningABI: patchwatch.RunningKernelABI(h.KernelRelease), learnt: learnt}
	if v, ok := debianRunningVersion(h.KernelVersion); ok {
		k.runningVersion = v
	}
	for _, p := range h.Packages {
		src, srcVer := k.group(h, p)
		abi := patchwatch.KernelABI(p.Name, src)
		if abi == "" {
			continue
		}
		if k.newestBySource == nil {
			k.newestBySource, k.newestABI = map[string]*version.Deb{}, map[string]string{}
		}
		if abi == k.runningABI {
			k.runningInstalled = true
		}
		v, err := version.ParseDeb(srcVer)
		if err != nil {
			continue
		}
		if cur := k.newestBySource[src]; cur == nil || v.Compare(*cur) > 0 {
			k.newestBySource[src] = &v
			k.newestABI[src] = abi
		}
	}
	return k
}

// state returns the package as matching sees it, and false for the
// kernel packages that do not count (not running, or not the newest).
func (k *debKernels) state(h *patchwatch.Host, p patchwatch.Package) (pkgState, bool) {
	src, srcVer := sourceOf(h, p)
	st := pkgState{pkg: p, srcName: src, srcVer: srcVer}
	if k.newestBySource == nil {
		return st, true
	}
	group, _ := k.group(h, p)
	abi := patchwatch.KernelABI(p.Name, group)
	if abi == "" {
		return st, true
	}
	st.kernel = true
	st.newest = k.newestBySource[group]
	switch {
	case k.runningInstalled && abi != k.runningABI:
		return st, false
	case !k.runningInstalled && abi != k.newestABI[group]:
		return st, false
	}
	if k.runningInstalled && k.runningVersion != "" {
		// Debian keeps the ABI across some updates: the version really
		// running is in `uname -v`, not in the package.
		st.srcVer = k.runningVersion
		st.pkg.Version = k.runningVersion
	}
	return st, true
}

// group returns the source a package's kernel versions are grouped by:
// its own, or for a package without source information the kernel source
// the learnt map names (so that only the newest of several installed
// kernels counts, as with a full inventory).
func (k *debKernels) group(h *patchwatch.Host, p patchwatch.Package) (string, string) {
	src, ver := sourceOf(h, p)
	if p.SourceName != "" {
		return src, ver
	}
	for _, learnt := range k.learnt[p.Name] {
		if kernel, _ := kernelSource(h, learnt); patchwatch.IsKernelSource(kernel) {
			return kernel, p.Version
		}
	}
	return src, ver
}

// debianRunningVersion extracts the package version from a Debian kernel's
// `uname -v`: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)".
func debianRunningVersion(unameV string) (string, bool) {
	fields := strings.Fields(unameV)
	for i, f := range fields {
		if f == "Debian" && i+1 < len(fields) {
			v := fields[i+1]
			if _, err := version.ParseDeb(v); err == nil {
				return v, true
			}
		}
	}
	return "", false
}

// fixCommand writes the apt command that installs the finding's fixes.
func fixCommand(h *patchwatch.Host, f *patchwatch.Finding) string {
	if f.Status == patchwatch.StatusPendingReboot {
		return "sudo reboot"
	}
	if f.Status == patchwatch.StatusNoFix || f.Status == patchwatch.StatusUnknownVersion {
		return ""
	}
	var names []string
	kernel := false
	for _, p := range f.Packages {
		src := p.Source
		if src == "" {
			src = p.Name
		}
		if patchwatch.KernelABI(p.Name, src) != "" {
			kernel = true
			continue
		}
		names = append(names, p.Name)
	}
	if kernel {
		// A new kernel ABI is a new package: the meta packages pull it in.
		for _, p := range h.Packages {
			src, _ := p.Source()
			if patchwatch.IsKernelSource(src) && src != "linux-firmware" && patchwatch.KernelABI(p.Name, src) == "" && strings.HasPrefix(p.Name, "linux-") && p.Name != "linux-libc-dev" {
				names = append(names, p.Name)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	prefix := ""
	if f.Status == patchwatch.StatusSubscription {
		prefix = "sudo pro attach && "
	}
	var cmd string
	if len(names) == 0 {
		cmd = prefix + "sudo apt-get update && sudo apt-get dist-upgrade"
	} else {
		cmd = prefix + "sudo apt-get install --only-upgrade " + strings.Join(names, " ")
	}
	if f.RebootHint {
		cmd += " && sudo reboot"
	}
	return cmd
}

// SortFindings orders findings most urgent first, then most severe, then
// newest, then by host and advisory ID, so output is stable.
func SortFindings(fs []patchwatch.Finding) {
	sorted := true
	for i := 1; i < len(fs) && sorted; i++ {
		sorted = OrderOf(&fs[i-1]).Compare(OrderOf(&fs[i])) <= 0
	}
	if sorted {
		return // often so: findings come sorted, and most keep their order
	}
	keys := findingOrder(fs, nil)
	// keys[j].i is the finding that goes to j: each cycle of that
	// permutation is followed once, with one finding held aside, instead
	// of copying every finding out and back.
	for start := range keys {
		if keys[start].i == start {
			continue
		}
		held := fs[start]
		j := start
		for {
			from := keys[j].i
			keys[j].i = j
			if from == start {
				fs[j] = held
				break
			}
			fs[j] = fs[from]
			j = from
		}
	}
}

// findingKey is a finding's place in the order and its index.
type findingKey struct {
	order Order
	i     int
}

// findingOrder returns, in keys[:0], the keys of fs in the order of
// SortFindings. The sort moves the small keys, not the findings (hundreds
// of bytes each, copied twice a comparison); the order is total (host and
// advisory break every tie), so an unstable sort gives the same result.
func findingOrder(fs []patchwatch.Finding, keys []findingKey) []findingKey {
	keys = keys[:0]
	for i := range fs {
		keys = append(keys, findingKey{OrderOf(&fs[i]), i})
	}
	slices.SortFunc(keys, func(a, b findingKey) int { return a.order.Compare(b.order) })
	return keys
}

// Order is where a finding stands in the order of SortFindings, for
// sorting what stands for findings (stored summaries) the same way.
type Order struct {
	Urgency   patchwatch.Urgency  `json:"u"`
	Severity  patchwatch.Severity `json:"s"`
	Published time.Time           `json:"p"`
	Host      string              `json:"h"`
	Advisory  string              `json:"a"`
}

// OrderOf returns a finding's place in the order.
func OrderOf(f *patchwatch.Finding) Order {
	return Order{Urgency: f.Urgency, Severity: f.Severity, Published: f.Published, Host: f.Host, Advisory: f.Advisory}
}

// Compare orders a before b (negative) as SortFindings does.
func (a Order) Compare(b Order) int {
	if c := cmp.Compare(b.Urgency, a.Urgency); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := b.Published.Compare(a.Published); c != 0 {
		return c
	}
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	return strings.Compare(a.Advisory, b.Advisory)
}

// AdvisoryIDs returns the IDs of the indexed advisories keep accepts.
func (ix *Index) AdvisoryIDs(keep func(*patchwatch.Advisory) bool) []string {
	seen := map[*patchwatch.Advisory]bool{}
	var out []string
	for _, byPackage := range ix.fixes {
		for _, refs := range byPackage {
			for _, ref := range refs {
				if a := ref.advisory; !seen[a] {
					seen[a] = true
					if keep(a) {
						out = append(out, a.ID)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
