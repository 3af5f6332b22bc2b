package helmchart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/internal/design"
)

// Limits on fetching a chart from a repository.
const (
	MaxIndexBytes = 32 << 20 // a repository's index.yaml
	FetchTimeout  = 2 * time.Minute
	maxRedirects  = 5
	maxListed     = 20 // versions named in a "no such version" error
)

// Repository names a chart in a chart repository (one serving index.yaml).
type Repository struct {
	// URL is the repository's http or https URL (without index.yaml).
	URL string
	// Chart is the chart's name in the index.
	Chart string
	// Version is the exact version, or a semver constraint (^1.2, ~1.2.3,
	// >=1.0 <2) resolved to the newest version that meets it.
	Version string
}

// Fetcher fetches charts from repositories over HTTP, bounded. Its zero
// value uses the default limits and a client of its own.
type Fetcher struct {
	// Client is the HTTP client; its CheckRedirect is replaced by one that
	// refuses a change of scheme. Nil: a new client.
	Client *http.Client
	// MaxIndexBytes and MaxArchiveBytes bound index.yaml and the archive
	// (0: MaxIndexBytes and MaxChartBytes; never more than those).
	MaxIndexBytes, MaxArchiveBytes int64
	// Timeout bounds the whole fetch (0: FetchTimeout).
	Timeout time.Duration
}

// Fetched is a chart archive fetched from a repository.
type Fetched struct {
	Data []byte
	// URL is the archive's absolute URL.
	URL string
	// Version is the version picked from the index.
	Version string
	// Digest is the archive's sha256 (hex), checked against the index's
	// when it gives one.
	Digest string
	// IndexDigest says whether the index gave a digest to check.
	IndexDigest bool
}

// Fetch reads the repository's index.yaml, picks the chart version, and
// downloads and checks the archive it names.
func (f Fetcher) Fetch(ctx context.Context, r Repository) (Fetched, error) {
	base, err := repoURL(r.URL)
	if err != nil {
		return Fetched{}, err
	}
	if r.Chart == "" || strings.ContainsAny(r.Chart, "/\\") {
		return Fetched{}, fmt.Errorf("chart name %q: want a name from the repository's index", r.Chart)
	}
	if r.Version == "" {
		return Fetched{}, errors.New("chart version: required with a repository")
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = FetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := f.client()

	indexURL := *base
	indexURL.Path = strings.TrimSuffix(base.Path, "/") + "/index.yaml"
	indexURL.RawPath = ""
	b, err := get(ctx, client, indexURL.String(), limit(f.MaxIndexBytes, MaxIndexBytes))
	if err != nil {
		return Fetched{}, fmt.Errorf("repository index: %w", err)
	}
	var idx index
	if err := yaml.Unmarshal(b, &idx); err != nil {
		return Fetched{}, fmt.Errorf("repository index %s: not a chart repository index: %w", indexURL.String(), err)
	}
	cv, err := pick(idx, r.Chart, r.Version)
	if err != nil {
		return Fetched{}, fmt.Errorf("repository %s: %w", r.URL, err)
	}
	if len(cv.URLs) == 0 {
		return Fetched{}, fmt.Errorf("repository %s: chart %s %s lists no archive URL", r.URL, r.Chart, cv.Version)
	}
	dir := *base
	dir.Path = strings.TrimSuffix(base.Path, "/") + "/"
	dir.RawPath = ""
	ref, err := url.Parse(cv.URLs[0])
	if err != nil {
		return Fetched{}, fmt.Errorf("repository %s: chart %s %s: archive URL %q: %w", r.URL, r.Chart, cv.Version, cv.URLs[0], err)
	}
	au := dir.ResolveReference(ref)
	if au.Scheme != "http" && au.Scheme != "https" {
		return Fetched{}, fmt.Errorf("repository %s: chart %s %s: archive URL %q: only http and https are fetched", r.URL, r.Chart, cv.Version, cv.URLs[0])
	}
	if au.User != nil {
		return Fetched{}, fmt.Errorf("repository %s: chart %s %s: archive URL carries credentials, refused", r.URL, r.Chart, cv.Version)
	}
	data, err := get(ctx, client, au.String(), limit(f.MaxArchiveBytes, MaxChartBytes))
	if err != nil {
		return Fetched{}, fmt.Errorf("chart %s %s archive: %w", r.Chart, cv.Version, err)
	}
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	out := Fetched{Data: data, URL: au.String(), Version: cv.Version, Digest: got}
	if cv.Digest != "" {
		want := strings.ToLower(strings.TrimPrefix(cv.Digest, "sha256:"))
		if want != got {
			return Fetched{}, fmt.Errorf("chart %s %s archive %s: digest mismatch: sha256 %s, the index says %s", r.Chart, cv.Version, au.String(), got, cv.Digest)
		}
		out.IndexDigest = true
	}
	return out, nil
}

// RenderRepository fetches the chart r names and renders it as
// RenderArchive does. The chart reference records the repository URL, the
// archive's URL (From) and its digest; the archive's Chart.yaml must be
// the name and version the index listed.
func RenderRepository(ctx context.Context, f Fetcher, r Repository, o Options) ([]design.Resource, design.Chart, []design.Note, error) {
	ref := design.Chart{Release: o.Release, Namespace: o.Namespace, Chart: r.Chart, Repo: r.URL, Values: o.Values}
	got, err := f.Fetch(ctx, r)
	if err != nil {
		return nil, ref, nil, err
	}
	o.Path, o.Repo = got.URL, r.URL
	rs, ref, notes, err := RenderArchive(got.Data, o)
	ref.Digest = "sha256:" + got.Digest
	if err != nil {
		return nil, ref, nil, err
	}
	if ref.Chart != r.Chart || ref.Version != got.Version {
		return nil, ref, nil, fmt.Errorf("chart %s: the archive is %s %s, the index listed %s %s", got.URL, ref.Chart, ref.Version, r.Chart, got.Version)
	}
	if !got.IndexDigest {
		notes = append(notes, design.Note{Source: "chart " + o.Release, Field: "digest",
			Reason: "the repository's index gives no digest for " + r.Chart + " " + got.Version + ": the archive's sha256 is recorded, not checked"})
	}
	return rs, ref, notes, nil
}

// repoURL checks a repository URL: http or https, a host, no credentials
// (they would be stored in the design).
func repoURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("repository URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("repository URL %q: only http and https repositories are supported", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("repository URL %q: no host", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("repository URL %q: credentials in the URL are refused (they would be stored in the design)", u.Redacted())
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// index is the part of a chart repository's index.yaml that is read (the
// format of Helm's repo.IndexFile; Helm's own package is not used, as it
// brings in its registry, plugin and signing modules).
type index struct {
	APIVersion string                     `json:"apiVersion"`
	Entries    map[string][]*chartVersion `json:"entries"`
}

type chartVersion struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest,omitempty"`
}

// pick finds the version asked for: an exact match first, else, when the
// version is a semver constraint, the newest version meeting it.
func pick(idx index, name, version string) (*chartVersion, error) {
	vs := slices.DeleteFunc(slices.Clone(idx.Entries[name]), func(cv *chartVersion) bool { return cv == nil })
	if len(vs) == 0 {
		return nil, fmt.Errorf("no chart %q in the index (it has %s)", name, listed(slices.Sorted(maps.Keys(idx.Entries))))
	}
	for _, cv := range vs {
		if cv.Version == version {
			return cv, nil
		}
	}
	type parsed struct {
		v  *semver.Version
		cv *chartVersion
	}
	var ok []parsed
	for _, cv := range vs {
		if v, err := semver.NewVersion(cv.Version); err == nil {
			ok = append(ok, parsed{v, cv})
		}
	}
	slices.SortStableFunc(ok, func(a, b parsed) int { return b.v.Compare(a.v) })
	if isConstraint(version) {
		c, err := semver.NewConstraint(version)
		if err != nil {
			return nil, fmt.Errorf("chart version %q: not a version nor a semver constraint: %w", version, err)
		}
		for _, p := range ok {
			if c.Check(p.v) {
				return p.cv, nil
			}
		}
	}
	var have []string
	for _, p := range ok {
		have = append(have, p.cv.Version)
	}
	for _, cv := range vs { // versions that are not semver, last
		if _, err := semver.NewVersion(cv.Version); err != nil {
			have = append(have, cv.Version)
		}
	}
	return nil, fmt.Errorf("chart %s has no version %q (available: %s)", name, version, listed(have))
}

func isConstraint(v string) bool {
	return strings.ContainsAny(v, "^~<>=!*xX| ")
}

func listed(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > maxListed {
		return strings.Join(s[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(s)-maxListed)
	}
	return strings.Join(s, ", ")
}

func limit(asked, most int64) int64 {
	if asked <= 0 || asked > most {
		return most
	}
	return asked
}

func (f Fetcher) client() *http.Client {
	c := &http.Client{}
	if f.Client != nil {
		cp := *f.Client
		c = &cp
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		if req.URL.Scheme != via[0].URL.Scheme {
			return fmt.Errorf("redirect from %s to %s refused: a change of scheme", via[0].URL.Scheme, req.URL.Scheme)
		}
		return nil
	}
	return c
}

// get fetches u, refusing a status other than 200 and a body past max bytes.
func get(ctx context.Context, c *http.Client, u string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if resp.ContentLength > max {
		return nil, fmt.Errorf("GET %s: %d bytes, more than %d", u, resp.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("GET %s: more than %d bytes", u, max)
	}
	return b, nil
}
