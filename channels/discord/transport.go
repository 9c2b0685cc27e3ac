package discord

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// rewriter sends discordgo's REST calls somewhere other than discord.com.
// discordgo computes its endpoints at init from package variables, so the
// HTTP client is the one clean seam for pointing it at a fake.
type rewriter struct {
	base    *url.URL // nil: leave the host alone
	gateway string   // "": ask the API
	next    http.RoundTripper
}

func newRewriter(apiURL, gatewayURL string, next http.RoundTripper) (*rewriter, error) {
	if next == nil {
		next = http.DefaultTransport
	}
	rw := &rewriter{gateway: gatewayURL, next: next}
	if apiURL != "" {
		u, err := url.Parse(apiURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("discord: bad api url %q", apiURL)
		}
		rw.base = u
	}
	return rw, nil
}

func (rw *rewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "discord.com" {
		return rw.next.RoundTrip(r)
	}
	if rw.gateway != "" && r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, "/gateway") || strings.HasSuffix(r.URL.Path, "/gateway/bot")) {
		body, _ := json.Marshal(map[string]string{"url": rw.gateway})
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{
			StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)), Request: r,
		}, nil
	}
	if rw.base == nil {
		return rw.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = rw.base.Scheme, rw.base.Host, ""
	return rw.next.RoundTrip(r2)
}

// scrub removes the interaction token from a failed request's URL before
// the error is logged: interaction and webhook URLs carry it in the path.
func scrub(err error) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	u := ue.URL
	for _, p := range []string{"/interactions/", "/webhooks/"} {
		if i := strings.Index(u, p); i >= 0 {
			u = u[:i+len(p)] + "…"
		}
	}
	return fmt.Errorf("%s %s: %w", ue.Op, u, ue.Err)
}
