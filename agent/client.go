package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/patchwatch/patchwatch/inventory"
)

// Client talks to the patchwatch API for one VM.
type Client struct {
	Server string
	HTTP   *http.Client
	// Attempts and Backoff govern retries of network errors, 5xx and 429.
	Attempts int
	Backoff  time.Duration
	Log      *slog.Logger
	// Sleep waits between attempts; tests replace it.
	Sleep func(context.Context, time.Duration) error
}

// NewClient returns a client for server, trusting the CA in caFile when given.
func NewClient(server, caFile string, log *slog.Logger) (*Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{Server: strings.TrimSuffix(server, "/"), HTTP: &http.Client{Transport: tr, Timeout: time.Minute},
		Attempts: 5, Backoff: 5 * time.Second, Log: log}, nil
}

// apiError is an answer the server gave; Temporary ones are retried.
type apiError struct {
	Status     int
	Message    string
	RetryAfter time.Duration
}

func (e *apiError) Error() string { return fmt.Sprintf("server answered %d: %s", e.Status, e.Message) }

func (e *apiError) temporary() bool { return e.Status == http.StatusTooManyRequests || e.Status >= 500 }

// post sends body with retries and decodes the answer into out.
func (c *Client) post(ctx context.Context, path, token, contentType string, body []byte, out any) error {
	wait := c.Backoff
	var last error
	for attempt := 1; attempt <= max(c.Attempts, 1); attempt++ {
		err := c.postOnce(ctx, path, token, contentType, body, out)
		if err == nil {
			return nil
		}
		last = err
		var ae *apiError
		if errors.As(err, &ae) && !ae.temporary() || ctx.Err() != nil || attempt == c.Attempts {
			return err
		}
		d := wait
		if ae != nil && ae.RetryAfter > 0 {
			d = ae.RetryAfter
		}
		c.Log.Warn("send failed, retrying", "attempt", attempt, "wait", d, "err", err)
		sleep := c.Sleep
		if sleep == nil {
			sleep = sleepContext
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
		wait *= 2
	}
	return last
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

func (c *Client) postOnce(ctx context.Context, path, token, contentType string, body []byte, out any) error {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Server+path, bytes.NewReader(gz.Bytes()))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		ae := &apiError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))}
		var msg struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &msg) == nil && msg.Error != "" {
			ae.Message = msg.Error
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			ae.RetryAfter = min(time.Duration(secs)*time.Second, 10*time.Minute)
		}
		return ae
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Enroll trades an enrollment token for the host's own token.
func (c *Client) Enroll(ctx context.Context, enrollToken string, host inventory.ReportHost) (string, error) {
	body, _ := json.Marshal(map[string]string{"hostname": host.Hostname, "instance_id": host.InstanceID, "instance_name": host.InstanceName})
	var resp struct {
		Token string `json:"token"`
	}
	if err := c.post(ctx, "/api/v1/enroll", enrollToken, "application/json", body, &resp); err != nil {
		return "", fmt.Errorf("enroll: %w", err)
	}
	if resp.Token == "" {
		return "", errors.New("enroll: the server sent no token")
	}
	return resp.Token, nil
}

// Send posts a report with the host token; it returns once the server has
// stored it.
func (c *Client) Send(ctx context.Context, hostToken string, rep inventory.Report) error {
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := c.post(ctx, "/api/v1/reports", hostToken, "application/json", body, nil); err != nil {
		return fmt.Errorf("send report: %w", err)
	}
	return nil
}

// IsUnauthorized reports whether err is the server refusing the token.
func IsUnauthorized(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
}

// LoadToken reads the host token from dir; "" when there is none yet.
func LoadToken(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "host-token"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// SaveToken writes the host token to a root-only file in a root-only dir.
func SaveToken(dir, token string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".host-token.tmp")
	if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "host-token"))
}

// Metadata is what the OpenStack metadata service says about the VM.
type Metadata struct {
	UUID      string            `json:"uuid"`
	Name      string            `json:"name"`
	ProjectID string            `json:"project_id"`
	Meta      map[string]string `json:"meta"`
}

// DefaultMetadataURL is OpenStack's metadata service.
const DefaultMetadataURL = "http://169.254.169.254/openstack/latest/meta_data.json"

// FetchMetadata reads the metadata service; its meta may carry the
// enrollment token (patchwatch_enroll_token), so keys never live on the image.
func FetchMetadata(ctx context.Context, url string) (Metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Metadata{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Metadata{}, fmt.Errorf("metadata service: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Metadata{}, fmt.Errorf("metadata service answered %d", resp.StatusCode)
	}
	var m Metadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m); err != nil {
		return Metadata{}, fmt.Errorf("metadata service: %w", err)
	}
	return m, nil
}
