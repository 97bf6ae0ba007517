package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// remote is the API client of the CLI's remote mode (--server).
type remote struct {
	base   string
	token  string
	client *http.Client
	// idle bounds the wait for a streamed listing's next bytes (listIdle
	// when 0).
	idle time.Duration
}

// newRemote builds a client; the token comes from --token, --token-file or
// $PATCHWATCH_TOKEN, and --ca-file adds a CA to trust (a private PKI).
func newRemote(env *Env, server, token, tokenFile, caFile string) (*remote, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError("--server %q is not an http(s) URL", server)
	}
	switch {
	case token != "":
	case tokenFile != "":
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	default:
		token = env.Getenv("PATCHWATCH_TOKEN")
	}
	if token == "" {
		return nil, usageError("remote mode needs a token: --token, --token-file or $PATCHWATCH_TOKEN")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &remote{base: strings.TrimSuffix(server, "/"), token: token, client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}, nil
}

// get fetches path (with query) into v; API errors come back with the
// server's message.
func (r *remote) get(ctx context.Context, path string, q url.Values, v any) error {
	return r.do(ctx, http.MethodGet, r.url(path, q), nil, v)
}

func (r *remote) url(path string, q url.Values) string {
	u := r.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// maxResponse bounds a response read whole (everything but the fleet
// listings, which stream).
const maxResponse = 256 << 20

func (r *remote) do(ctx context.Context, method, u string, body io.Reader, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, r.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return apiError(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return err
	}
	if len(data) > maxResponse {
		return fmt.Errorf("server: response larger than %d MiB", maxResponse>>20)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errors.New("server: response is not the JSON expected")
	}
	return nil
}

// apiError is the error of a failed API call, with the server's message
// when it sent one.
func apiError(resp *http.Response) error {
	var apiErr struct {
		Error string `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &apiErr) == nil && apiErr.Error != "" {
		return fmt.Errorf("server: %s (HTTP %d)", apiErr.Error, resp.StatusCode)
	}
	return fmt.Errorf("server: HTTP %d", resp.StatusCode)
}

// Bounds of a streamed listing: one element, and the wait for the next
// bytes (the listing as a whole may take longer than any one request).
const (
	maxListElement = 16 << 20
	listIdle       = 2 * time.Minute
)

// eachListed streams the JSON array the API answers at path (a fleet
// listing, which the server streams whole) and calls fn with each element
// as it is decoded: the CLI holds one element at a time, not the fleet's
// findings. An element past maxListElement, or a server silent for the
// idle bound, stops the listing with an error.
func eachListed[T any](parent context.Context, r *remote, path string, q url.Values, fn func(*T) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url(path, q), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	// The client's overall timeout would cut a long listing short; a
	// stall is caught by the idle bound instead.
	idle := r.idle
	if idle == 0 {
		idle = listIdle
	}
	stalled := time.AfterFunc(idle, cancel)
	defer stalled.Stop()
	// stopped tells a stall or the caller's cancellation from err.
	stopped := func(err error) error {
		switch {
		case parent.Err() != nil:
			return parent.Err()
		case ctx.Err() != nil:
			return fmt.Errorf("server: no data for %s: listing stopped", idle)
		}
		return err
	}
	resp, err := (&http.Client{Transport: r.client.Transport}).Do(req)
	if err != nil {
		return stopped(fmt.Errorf("GET %s: %w", r.base, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return apiError(resp)
	}
	// Only the waits for the server count: a slow consumer (a pager on
	// the output) is not a stall.
	stalled.Stop()
	body := &listReader{r: resp.Body, left: maxListElement, waiting: func(on bool) {
		if on {
			stalled.Reset(idle)
		} else {
			stalled.Stop()
		}
	}}
	dec := json.NewDecoder(body)
	wrap := func(err error) error {
		if errors.Is(err, errElementTooLarge) {
			return err
		}
		return stopped(fmt.Errorf("server: listing is not the JSON expected: %w", err))
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return wrap(fmt.Errorf("no array (%v)", err))
	}
	for dec.More() {
		v := new(T)
		if err := dec.Decode(v); err != nil {
			return wrap(err)
		}
		body.left = maxListElement
		if err := fn(v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return wrap(err)
	}
	return nil
}

var errElementTooLarge = fmt.Errorf("server: a listed element is larger than %d MiB", maxListElement>>20)

// listReader reads a listing, failing once more than left bytes came
// since the last element, and telling waiting when each read begins and
// ends.
type listReader struct {
	r       io.Reader
	left    int
	waiting func(on bool)
}

func (l *listReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errElementTooLarge
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	l.waiting(true)
	n, err := l.r.Read(p)
	l.waiting(false)
	l.left -= n
	return n, err
}
