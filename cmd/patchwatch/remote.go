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
	u := r.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return r.do(ctx, http.MethodGet, u, nil, v)
}

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
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var apiErr struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &apiErr) == nil && apiErr.Error != "" {
			return fmt.Errorf("server: %s (HTTP %d)", apiErr.Error, resp.StatusCode)
		}
		return fmt.Errorf("server: HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errors.New("server: response is not the JSON expected")
	}
	return nil
}
