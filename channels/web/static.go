package web

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strconv"
)

// The widget is one file, styles included, so embedding it is one script
// tag and one request.
//
//go:embed static/widget.js
var widgetJS []byte

//go:embed static/demo.html
var demoHTML []byte

// asset is an embedded file served with a strong ETag, so browsers
// revalidate cheaply and a new release is picked up within max-age.
type asset struct {
	body  []byte
	etag  string
	ctype string
	cache string
	// csp, when set, is the page's Content-Security-Policy.
	csp string
}

type assets struct {
	widget asset
	demo   asset
}

func newAsset(body []byte, ctype, cache, csp string) asset {
	sum := sha256.Sum256(body)
	return asset{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ctype, cache: cache, csp: csp}
}

func loadAssets() assets {
	return assets{
		// Five minutes: short enough that a fix reaches every shop quickly,
		// long enough that page views do not all hit the server; the ETag
		// makes the revalidation a 304.
		widget: newAsset(widgetJS, "application/javascript; charset=utf-8", "public, max-age=300", ""),
		// The demo page runs under a strict policy to show the widget
		// needs no inline script and no eval.
		demo: newAsset(demoHTML, "text/html; charset=utf-8", "no-cache",
			"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
	}
}

func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", a.cache)
	h.Set("X-Content-Type-Options", "nosniff")
	if a.csp != "" {
		h.Set("Content-Security-Policy", a.csp)
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// etagMatches handles If-None-Match lists and "*"; weak validators match
// too, as RFC 9110 asks for If-None-Match.
func etagMatches(header, etag string) bool {
	for len(header) > 0 {
		for len(header) > 0 && (header[0] == ' ' || header[0] == ',') {
			header = header[1:]
		}
		end := 0
		for end < len(header) && header[end] != ',' {
			end++
		}
		tag := header[:end]
		for len(tag) > 0 && tag[len(tag)-1] == ' ' {
			tag = tag[:len(tag)-1]
		}
		if tag == "*" || tag == etag || tag == "W/"+etag {
			return true
		}
		header = header[end:]
	}
	return false
}
