package console

import (
	"net/http"
	"net/url"
	"strconv"
)

// pager is one page of a list and the links to its neighbours.
type pager struct {
	Page, Pages, Total, From, To int
	PrevURL, NextURL             string
	// JSON is the equivalent API request.
	JSON string
}

// paginate cuts the page the request's page parameter names (from 1) out
// of items; a page past the end shows the last one.
func paginate[T any](r *http.Request, items []T, size int, jsonURL string) ([]T, pager) {
	p := pager{Total: len(items), Pages: max(1, (len(items)+size-1)/size), JSON: jsonURL}
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	start := (p.Page - 1) * size
	end := min(start+size, len(items))
	if len(items) > 0 {
		p.From, p.To = start+1, end
	}
	link := func(page int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page))
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.PrevURL = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.NextURL = link(p.Page + 1)
	}
	return items[start:end], p
}

// apiURL is the API request equivalent to a page: the same query
// parameters, of those the API knows, on path.
func apiURL(path string, q url.Values, keep ...string) string {
	out := url.Values{}
	for _, k := range keep {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	if len(out) == 0 {
		return path
	}
	return path + "?" + out.Encode()
}
