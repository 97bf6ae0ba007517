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
	p := pageOf(r, len(items), size, jsonURL)
	if p.Total == 0 {
		return items[:0], p
	}
	return items[p.From-1 : p.To], p
}

// pageOf is the page the request's page parameter names (from 1) of a list
// of total items, for lists read a page at a time: items From to To (from
// 1; both 0 when the list is empty) are shown.
func pageOf(r *http.Request, total, size int, jsonURL string) pager {
	p := pager{Total: total, Pages: max(1, (total+size-1)/size), JSON: jsonURL}
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	if total > 0 {
		p.From, p.To = (p.Page-1)*size+1, min(p.Page*size, total)
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
	return p
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
