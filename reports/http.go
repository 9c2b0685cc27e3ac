package reports

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// ErrBadRange reports since/until/channel values that cannot be read.
var ErrBadRange = errors.New("bad report range")

// ParseTime reads a report bound: a date (2026-11-01, midnight UTC), an
// RFC 3339 time, or an age before now ("7d", "36h", "90m"). A date given as
// the upper bound (end true) means the end of that day, so
// --until 2026-11-30 includes the 30th.
func ParseTime(s string, now time.Time, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if end {
			t = t.Add(24 * time.Hour)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return now.Add(-time.Duration(d) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%w: %q is not a date (2026-11-01), an RFC 3339 time or an age (7d, 36h)", ErrBadRange, s)
}

// ParseFilter reads since, until and channel as the CLI and the HTTP
// query give them.
func ParseFilter(since, until, channel string, now time.Time) (Filter, error) {
	var f Filter
	var err error
	if f.Since, err = ParseTime(since, now, false); err != nil {
		return f, err
	}
	if f.Until, err = ParseTime(until, now, true); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, fmt.Errorf("%w: since must be before until", ErrBadRange)
	}
	channel = strings.ToLower(strings.TrimSpace(channel))
	if channel != "" && channel != "all" {
		if len(channel) > 32 || strings.ContainsAny(channel, " /") {
			return f, fmt.Errorf("%w: bad channel %q", ErrBadRange, channel)
		}
		f.Channel = bot.Channel(channel)
	}
	return f, nil
}

// Handler serves the reports: JSON and the HTML page.
type Handler struct {
	// Store is the ledger.
	Store bot.Store
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives errors. Default: discard.
	Logger *slog.Logger
	// ConsoleURL, if set, is linked from the page header. Default "".
	ConsoleURL string
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Routes mounts GET /api/reports and GET /agent/reports on mux, each
// wrapped in auth (the agent console's login check).
func (h *Handler) Routes(mux *http.ServeMux, auth func(http.Handler) http.Handler) {
	if auth == nil {
		auth = func(next http.Handler) http.Handler { return next }
	}
	mux.Handle("GET /api/reports", auth(http.HandlerFunc(h.ServeJSON)))
	mux.Handle("GET /agent/reports", auth(http.HandlerFunc(h.ServePage)))
}

func (h *Handler) compute(w http.ResponseWriter, r *http.Request) (*Report, bool) {
	q := r.URL.Query()
	now := h.now()
	f, err := ParseFilter(q.Get("since"), q.Get("until"), q.Get("channel"), now)
	if err != nil {
		writeError(w, http.StatusBadRequest, bot.ECodeInvalid, err.Error())
		return nil, false
	}
	rep, err := Compute(r.Context(), h.Store, f, now)
	if err != nil {
		h.log().Error("report", "err", err)
		writeError(w, http.StatusInternalServerError, bot.ECodeInternal, "The report could not be computed.")
		return nil, false
	}
	return rep, true
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// ServeJSON is GET /api/reports?since=&until=&channel=.
func (h *Handler) ServeJSON(w http.ResponseWriter, r *http.Request) {
	rep, ok := h.compute(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

//go:embed templates/page.html
var pageFS embed.FS

var page = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"pct":   Percent,
	"dur":   Duration,
	"score": ScoreText,
	"nps":   NPSText,
}).ParseFS(pageFS, "templates/page.html"))

type pageData struct {
	R                   *Report
	Charts              []Chart
	Since, Until        string
	Channel             string
	ChannelOptions      []string
	JSONURL, ConsoleURL string
}

// ServePage is GET /agent/reports: the report as tables and SVG charts.
func (h *Handler) ServePage(w http.ResponseWriter, r *http.Request) {
	rep, ok := h.compute(w, r)
	if !ok {
		return
	}
	d := pageData{R: rep, Charts: Charts(rep), Since: rep.Since.UTC().Format("2006-01-02"),
		Until: rep.Until.Add(-time.Nanosecond).UTC().Format("2006-01-02"), Channel: string(rep.Channel),
		ChannelOptions: []string{string(bot.ChannelWeb), string(bot.ChannelSlack), string(bot.ChannelDiscord)},
		JSONURL:        "/api/reports?" + r.URL.RawQuery, ConsoleURL: h.ConsoleURL}
	if r.URL.RawQuery == "" {
		d.JSONURL = "/api/reports?" + url.Values{"since": {d.Since}, "until": {d.Until}}.Encode()
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, d); err != nil {
		h.log().Error("report page", "err", err)
		writeError(w, http.StatusInternalServerError, bot.ECodeInternal, "The report could not be shown.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'")
	_, _ = w.Write(buf.Bytes())
}
