// Package feeds fetches advisory sources over HTTP with the guarantees
// every poller shares: conditional GET, timeouts, a size limit on every
// response, and retries with backoff.
package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Errors returned by Fetch.
var (
	// ErrTooLarge: the response exceeded the size limit.
	ErrTooLarge = errors.New("response exceeds the size limit")
	// ErrStatus: the server answered with a status that is not retried.
	ErrStatus = errors.New("unexpected HTTP status")
)

// Validators are the HTTP cache validators of a resource, kept between
// polls for conditional GET.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Fetcher performs GETs with limits and retries. The zero value is not
// usable; use NewFetcher.
type Fetcher struct {
	client *http.Client
	// idle bounds the wait for the headers and for each read of the body,
	// not the whole transfer: a slow link still finishes a large archive.
	idle      time.Duration
	maxBytes  int64
	attempts  int
	backoff   time.Duration
	userAgent string
	log       *slog.Logger
	// sleep waits between attempts; tests replace it.
	sleep func(context.Context, time.Duration) error
}

// FetcherOptions configure a Fetcher; zero fields take the defaults.
type FetcherOptions struct {
	// Timeout is an idle timeout: the longest wait for the response
	// headers or for any read of the body (default 60s). It does not bound
	// the whole transfer.
	Timeout  time.Duration
	MaxBytes int64         // per response, default 64 MiB
	Attempts int           // default 4
	Backoff  time.Duration // first wait, doubled each retry; default 2s
	// Transport, when set, replaces http.DefaultTransport (tests, proxies).
	Transport http.RoundTripper
	Logger    *slog.Logger
	// Sleep replaces the wait between attempts (tests).
	Sleep func(context.Context, time.Duration) error
}

// NewFetcher returns a Fetcher with opts applied over the defaults.
func NewFetcher(opts FetcherOptions) *Fetcher {
	f := &Fetcher{
		client:    &http.Client{Transport: opts.Transport},
		idle:      opts.Timeout,
		maxBytes:  opts.MaxBytes,
		attempts:  opts.Attempts,
		backoff:   opts.Backoff,
		userAgent: "patchwatch (+https://github.com/patchwatch/patchwatch)",
		log:       opts.Logger,
		sleep:     opts.Sleep,
	}
	if f.idle == 0 {
		f.idle = 60 * time.Second
	}
	if f.maxBytes == 0 {
		f.maxBytes = 64 << 20
	}
	if f.attempts == 0 {
		f.attempts = 4
	}
	if f.backoff == 0 {
		f.backoff = 2 * time.Second
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.sleep == nil {
		f.sleep = sleepContext
	}
	return f
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Result is a fetched resource.
type Result struct {
	Body []byte
	// NotModified is set when the server answered 304 to the validators
	// given; Body is then empty.
	NotModified bool
	Validators  Validators
}

// StatusError is a final HTTP status (not retried); it wraps ErrStatus.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("fetch %s: %v %d", e.URL, ErrStatus, e.Code)
}

func (e *StatusError) Unwrap() error { return ErrStatus }

// IsNotFound reports whether err is a 404 or 410 answer: the resource does
// not exist (yet), which is an answer, not a failure.
func IsNotFound(err error) bool {
	var s *StatusError
	return errors.As(err, &s) && (s.Code == http.StatusNotFound || s.Code == http.StatusGone)
}

// PartError is the failure of one part of a feed's round (its backfill,
// its live feed, a resync), so that a status recorder can say which part
// failed while the others went on.
type PartError struct {
	Feed, Part string
	Err        error
}

func (e *PartError) Error() string { return e.Feed + " " + e.Part + ": " + e.Err.Error() }
func (e *PartError) Unwrap() error { return e.Err }

// retryable marks an error that another attempt may cure.
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// Fetch GETs url, conditionally when validators are given. Network errors,
// truncated bodies, 5xx and 429 are retried with exponential backoff
// (honouring Retry-After); other statuses and oversized bodies fail at once.
func (f *Fetcher) Fetch(ctx context.Context, url string, v Validators) (Result, error) {
	return f.FetchMax(ctx, url, v, f.maxBytes)
}

// FetchMax is Fetch with its own size limit, for bulk archives that are
// larger than any single record.
func (f *Fetcher) FetchMax(ctx context.Context, url string, v Validators, maxBytes int64) (Result, error) {
	var res Result
	err := f.retry(ctx, url, func() (bool, error) {
		var err error
		res, err = f.once(ctx, url, v, maxBytes)
		return false, err
	})
	return res, err
}

// retry runs attempt until it succeeds, fails for good, or has failed
// f.attempts times in a row, waiting with exponential backoff (or the
// server's Retry-After) between failures. An attempt that made progress
// (a download that grew) resets the count and is resumed at once.
func (f *Fetcher) retry(ctx context.Context, url string, attempt func() (progressed bool, err error)) error {
	wait := f.backoff
	var lastErr error
	for failures := 0; failures < f.attempts; {
		progressed, err := attempt()
		if err == nil {
			return nil
		}
		var r *retryable
		if !errors.As(err, &r) || ctx.Err() != nil {
			return err
		}
		lastErr = err
		if progressed {
			failures, wait = 0, f.backoff
			f.log.Warn("transfer interrupted, resuming", "url", url, "err", err)
			continue
		}
		failures++
		if failures == f.attempts {
			break
		}
		d := wait
		if r.after > 0 {
			d = r.after
		}
		f.log.Warn("fetch failed, retrying", "url", url, "attempt", failures, "wait", d, "err", err)
		if err := f.sleep(ctx, d); err != nil {
			return fmt.Errorf("fetch %s: %w", url, err)
		}
		wait *= 2
	}
	return fmt.Errorf("after %d attempts: %w", f.attempts, lastErr)
}

func (f *Fetcher) once(ctx context.Context, url string, v Validators, maxBytes int64) (Result, error) {
	resp, body, err := f.get(ctx, url, v, nil)
	if err != nil {
		return Result{}, err
	}
	defer body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return Result{NotModified: true, Validators: v}, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return Result{}, &retryable{
			err:   fmt.Errorf("fetch %s: %w %d", url, ErrStatus, resp.StatusCode),
			after: retryAfter(resp.Header.Get("Retry-After")),
		}
	case resp.StatusCode != http.StatusOK:
		return Result{}, &StatusError{URL: url, Code: resp.StatusCode}
	}
	if resp.ContentLength > maxBytes {
		return Result{}, fmt.Errorf("fetch %s: %w (%d > %d bytes)", url, ErrTooLarge, resp.ContentLength, maxBytes)
	}
	// Records and feeds are small; the bulk archives go through Download.
	content, err := io.ReadAll(io.LimitReader(body, maxBytes+1))
	if err != nil {
		return Result{}, &retryable{err: fmt.Errorf("read %s: %w", url, err)}
	}
	if int64(len(content)) > maxBytes {
		return Result{}, fmt.Errorf("fetch %s: %w (%d bytes)", url, ErrTooLarge, maxBytes)
	}
	return Result{
		Body:       content,
		Validators: Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")},
	}, nil
}

// get sends one GET with the validators and extra headers, and returns the
// response with a body whose reads are bounded by the idle timeout. A
// network error is retryable.
func (f *Fetcher) get(ctx context.Context, url string, v Validators, extra http.Header) (*http.Response, io.ReadCloser, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	watchdog := time.AfterFunc(f.idle, func() { cancel(errIdle{f.idle}) })
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		watchdog.Stop()
		cancel(nil)
		return nil, nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	resp, err := f.client.Do(req)
	if err != nil {
		watchdog.Stop()
		err = causeOf(ctx, err)
		cancel(nil)
		return nil, nil, &retryable{err: fmt.Errorf("fetch %s: %w", url, err)}
	}
	return resp, &idleBody{body: resp.Body, ctx: ctx, cancel: cancel, watchdog: watchdog, idle: f.idle}, nil
}

// errIdle is the cause of a request cancelled by the idle timeout.
type errIdle struct{ d time.Duration }

func (e errIdle) Error() string { return fmt.Sprintf("no data for %v (idle timeout)", e.d) }

// causeOf names the idle timeout rather than "context canceled" when the
// watchdog ended the request.
func causeOf(ctx context.Context, err error) error {
	var idle errIdle
	if c := context.Cause(ctx); errors.As(c, &idle) {
		return idle
	}
	return err
}

// idleBody re-arms the watchdog on every read, so only a stall ends it.
type idleBody struct {
	body     io.ReadCloser
	ctx      context.Context
	cancel   context.CancelCauseFunc
	watchdog *time.Timer
	idle     time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.watchdog.Reset(b.idle)
	}
	if err != nil && err != io.EOF {
		err = causeOf(b.ctx, err)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.watchdog.Stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date,
// capped so a hostile server cannot park the poller.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(h); err == nil && secs >= 0 {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), 10*time.Minute)
}

// SplitErrors unpacks an errors.Join into its parts: parsers of whole list
// files report one error per rejected entry.
func SplitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}
