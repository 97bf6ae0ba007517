package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Download is a bulk resource saved to a file.
type Download struct {
	// Path is the complete file; the caller removes it (Discard) once it
	// has been read to the end.
	Path string
	// NotModified is set when the server answered 304; Path is then empty.
	NotModified bool
	Validators  Validators
	Size        int64
}

// Discard removes the downloaded file and its note.
func (d Download) Discard() error {
	if d.Path == "" {
		return nil
	}
	err := os.Remove(d.Path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if rmErr := os.Remove(d.Path + ".json"); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}

// partNote is kept beside a partial or complete download: what resource
// the bytes belong to, so a resume never splices two versions together.
type partNote struct {
	URL        string     `json:"url"`
	Validators Validators `json:"validators"`
	Complete   bool       `json:"complete"`
}

// Download GETs url into the file dest (conventionally beside the
// database), streaming: memory use does not depend on the size. The body
// is written to dest+".part"; an interrupted transfer resumes with a Range
// request (guarded by If-Range) on the next attempt, and on the next call
// if the process stopped. A file completed by an earlier call whose reader
// did not Discard it is returned again without a request, so a crash while
// reading the file does not cost another download; that is only done for
// an unconditional request (v empty): with validators, a leftover is
// removed and the server asked what is new. v makes the request
// conditional. Attempts that made progress do not count against the retry
// budget; maxBytes bounds the file.
func (f *Fetcher) Download(ctx context.Context, url string, v Validators, dest string, maxBytes int64) (Download, error) {
	if note, err := readNote(dest + ".json"); err == nil && note.Complete {
		st, statErr := os.Stat(dest)
		if statErr == nil && note.URL == url && v == (Validators{}) {
			f.log.Info("reusing a completed download", "url", url, "file", dest, "bytes", st.Size())
			return Download{Path: dest, Validators: note.Validators, Size: st.Size()}, nil
		}
		// A conditional request wants what is new, not a leftover.
		_ = (Download{Path: dest}).Discard()
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return Download{}, fmt.Errorf("download %s: %w", url, err)
	}
	var d Download
	err := f.retry(ctx, url, func() (bool, error) {
		before := partSize(dest + ".part")
		var err error
		d, err = f.downloadOnce(ctx, url, v, dest, maxBytes)
		return partSize(dest+".part") > before, err
	})
	if err != nil {
		return Download{}, err
	}
	if !d.NotModified {
		f.log.Info("downloaded", "url", url, "file", dest, "bytes", d.Size)
	}
	return d, nil
}

func partSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func readNote(path string) (partNote, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return partNote{}, err
	}
	var n partNote
	return n, json.Unmarshal(b, &n)
}

func writeNote(path string, n partNote) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// resumeValidator is what If-Range may carry: a strong ETag, else a
// Last-Modified date.
func resumeValidator(v Validators) string {
	if v.ETag != "" && !strings.HasPrefix(v.ETag, "W/") {
		return v.ETag
	}
	return v.LastModified
}

func (f *Fetcher) downloadOnce(ctx context.Context, url string, v Validators, dest string, maxBytes int64) (Download, error) {
	part, noteFile := dest+".part", dest+".json"
	have := partSize(part)
	note, noteErr := readNote(noteFile)
	extra := http.Header{}
	cond := v
	if have > 0 && noteErr == nil && note.URL == url && !note.Complete && resumeValidator(note.Validators) != "" {
		extra.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		extra.Set("If-Range", resumeValidator(note.Validators))
		// The partial bytes are of a version we do not have whole: a 304
		// would leave us with half a file.
		cond = Validators{}
	} else {
		have = 0
	}
	resp, body, err := f.get(ctx, url, cond, extra)
	if err != nil {
		return Download{}, err
	}
	defer body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return Download{NotModified: true, Validators: v}, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return Download{}, &retryable{
			err:   fmt.Errorf("download %s: %w %d", url, ErrStatus, resp.StatusCode),
			after: retryAfter(resp.Header.Get("Retry-After")),
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// The resource shrank or changed: start again from zero.
		_ = os.Remove(part)
		return Download{}, &retryable{err: fmt.Errorf("download %s: range not satisfiable; restarting", url)}
	case resp.StatusCode == http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			_ = os.Remove(part)
			return Download{}, &retryable{err: fmt.Errorf("download %s: Content-Range %q does not continue at %d", url, resp.Header.Get("Content-Range"), have)}
		}
	case resp.StatusCode == http.StatusOK:
		have = 0 // no range support, or the resource changed
	default:
		return Download{}, &StatusError{URL: url, Code: resp.StatusCode}
	}
	if resp.ContentLength > 0 && have+resp.ContentLength > maxBytes {
		return Download{}, fmt.Errorf("download %s: %w (%d > %d bytes)", url, ErrTooLarge, have+resp.ContentLength, maxBytes)
	}
	got := Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if have > 0 {
		got = note.Validators
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if have > 0 {
		flags = os.O_WRONLY | os.O_APPEND
	}
	if err := writeNote(noteFile, partNote{URL: url, Validators: got}); err != nil {
		return Download{}, fmt.Errorf("download %s: %w", url, err)
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return Download{}, fmt.Errorf("download %s: %w", url, err)
	}
	n, copyErr := io.Copy(out, io.LimitReader(body, maxBytes-have+1))
	closeErr := out.Close()
	switch {
	case copyErr != nil:
		return Download{}, &retryable{err: fmt.Errorf("download %s: after %d bytes: %w", url, have+n, copyErr)}
	case closeErr != nil:
		return Download{}, fmt.Errorf("download %s: %w", url, closeErr)
	case have+n > maxBytes:
		_ = os.Remove(part)
		return Download{}, fmt.Errorf("download %s: %w (limit %d bytes)", url, ErrTooLarge, maxBytes)
	case resp.ContentLength >= 0 && n != resp.ContentLength:
		return Download{}, &retryable{err: fmt.Errorf("download %s: body ended after %d of %d bytes", url, n, resp.ContentLength)}
	}
	if err := os.Rename(part, dest); err != nil {
		return Download{}, fmt.Errorf("download %s: %w", url, err)
	}
	if err := writeNote(noteFile, partNote{URL: url, Validators: got, Complete: true}); err != nil {
		return Download{}, fmt.Errorf("download %s: %w", url, err)
	}
	return Download{Path: dest, Validators: got, Size: have + n}, nil
}

// contentRangeStart reads the first byte position of "bytes 100-199/200".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil && n >= 0
}
