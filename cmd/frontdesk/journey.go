package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/reports"
	"github.com/frontdesk-chat/frontdesk/webhooks"
)

func init() {
	plugins = append(plugins, plugin{name: "journey", open: openJourney, consumer: true})
}

// Sweep intervals of the journey plugin.
const (
	idleSweepEvery   = time.Minute
	lapsedSweepEvery = time.Hour
)

// agentAuths holds, per running Main, the agent console's login check for
// routes other parts add under /agent and /api. The console plugin
// registers it with setAgentAuth; the reports look it up on each request,
// so the order in which plugins open does not matter.
var agentAuths sync.Map // *Main → func(http.Handler) http.Handler

// setAgentAuth registers the console's login check for m (console plugin).
func setAgentAuth(m *Main, fn func(http.Handler) http.Handler) { agentAuths.Store(m, fn) }

// reportsAuth guards the reports with the agent console's login check
// (session cookie or API token), looked up when a request comes. Without a
// console the reports are refused rather than served to anyone.
func reportsAuth(m *Main) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fn, ok := agentAuths.Load(m)
			if !ok {
				journeyError(w, http.StatusServiceUnavailable, bot.ECodeUnavailable, "Reports need the agent console's login, which is not running.")
				return
			}
			fn.(func(http.Handler) http.Handler)(next).ServeHTTP(w, r)
		})
	}
}

func journeyError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// parseDays reads a duration that may be given in days ("90d") or as a Go
// duration ("36h").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("bad number of days %q", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad duration %q (use 90d or 36h)", s)
	}
	return d, nil
}

// journeySettings reads the journey's environment:
//
//	FRONTDESK_SURVEYS        off, or which of csat,ces,nps to ask (default all three)
//	FRONTDESK_NPS_EVERY      least time between NPS questions to one customer (default 90d)
//	FRONTDESK_REVIEW_URL     review/referral link offered to advocates (default none)
//	FRONTDESK_LAPSED_AFTER   no purchase for this long moves a buyer to lapsed (default 180d)
func journeySettings(getenv func(string) string) (bot.SurveyConfig, bot.JourneyRules, error) {
	var sc bot.SurveyConfig
	var jr bot.JourneyRules
	if v := strings.ToLower(strings.TrimSpace(getenv("FRONTDESK_SURVEYS"))); v != "" {
		if v == "off" || v == "none" {
			sc.Disabled = true
		} else {
			sc.NoCSAT, sc.NoCES, sc.NoNPS = true, true, true
			for _, k := range splitList(v) {
				switch bot.SurveyKind(k) {
				case bot.SurveyCSAT:
					sc.NoCSAT = false
				case bot.SurveyCES:
					sc.NoCES = false
				case bot.SurveyNPS:
					sc.NoNPS = false
				default:
					return sc, jr, fmt.Errorf("FRONTDESK_SURVEYS: unknown survey %q (want off or a list of csat, ces, nps)", k)
				}
			}
		}
	}
	if v := getenv("FRONTDESK_NPS_EVERY"); v != "" {
		d, err := parseDays(v)
		if err != nil {
			return sc, jr, fmt.Errorf("FRONTDESK_NPS_EVERY: %w", err)
		}
		sc.NPSEvery = d
	}
	if v := strings.TrimSpace(getenv("FRONTDESK_REVIEW_URL")); v != "" {
		if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
			return sc, jr, fmt.Errorf("FRONTDESK_REVIEW_URL: want an http(s) URL")
		}
		sc.ReviewURL = v
	}
	if v := getenv("FRONTDESK_LAPSED_AFTER"); v != "" {
		d, err := parseDays(v)
		if err != nil {
			return sc, jr, fmt.Errorf("FRONTDESK_LAPSED_AFTER: %w", err)
		}
		jr.LapsedAfter = d
	}
	return sc, jr, nil
}

// openJourney wires the journey into the server: survey and stage settings,
// the journey worker (surveys on close, linking by verified email), the
// idle-contact and lapsed-customer sweepers, outgoing webhooks and the
// reports (GET /api/reports, GET /agent/reports).
func openJourney(ctx context.Context, m *Main, mux *http.ServeMux) (func(context.Context) error, error) {
	getenv := m.Getenv
	sc, jr, err := journeySettings(getenv)
	if err != nil {
		return nil, err
	}
	m.Engine.SetSurveys(sc)
	m.Engine.SetJourney(jr)
	log := m.Logger.With("part", "journey")

	urls := splitList(getenv("FRONTDESK_WEBHOOK_URLS"))
	if u := strings.TrimSpace(getenv("FRONTDESK_WEBHOOK_URL")); u != "" {
		urls = append(urls, u)
	}
	secret := getenv("FRONTDESK_WEBHOOK_SECRET")
	for _, u := range urls {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return nil, fmt.Errorf("FRONTDESK_WEBHOOK_URL(S): %q is not an http(s) URL", u)
		}
	}
	if len(urls) > 0 && secret == "" {
		return nil, fmt.Errorf("FRONTDESK_WEBHOOK_SECRET is required with FRONTDESK_WEBHOOK_URL(S): receivers must be able to verify deliveries")
	}

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	worker := bot.NewJourneyWorker(m.Engine, 0)
	wg.Go(func() { worker.Run(bg) })
	// Contacts stored before the contacts-by-customer index existed are
	// indexed in the background; until then readers scan the ledger.
	wg.Go(func() { backfillContactIndex(bg, m.Engine, log) })

	var disp *webhooks.Dispatcher
	if len(urls) > 0 {
		disp = webhooks.New(m.DB, webhooks.Config{URLs: urls, Secret: []byte(secret), Logger: log.With("part", "webhooks")})
		disp.Subscribe(m.Engine)
		wg.Go(func() {
			if err := disp.Run(bg); err != nil {
				log.Error("webhooks stopped", "err", err)
			}
		})
		log.Info("webhooks enabled", "urls", len(urls))
	}

	wg.Go(func() {
		idle := time.NewTicker(idleSweepEvery)
		defer idle.Stop()
		lapsed := time.NewTicker(lapsedSweepEvery)
		defer lapsed.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-idle.C:
				if n, err := m.Engine.CloseIdle(bg, m.Engine.Now()); err != nil {
					log.Warn("close idle contacts", "err", err)
				} else if n > 0 {
					log.Debug("idle contacts closed", "count", n)
				}
			case <-lapsed.C:
				if n, err := m.Engine.SweepLapsed(bg, m.Engine.Now()); err != nil {
					log.Warn("lapsed sweep", "err", err)
				} else if n > 0 {
					log.Info("customers lapsed", "count", n)
				}
			}
		}
	})

	h := &reports.Handler{Store: m.DB, Now: m.Engine.Now, Logger: log, ConsoleURL: "/agent"}
	h.Routes(mux, reportsAuth(m))

	return func(ctx context.Context) error {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		agentAuths.Delete(m)
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("journey: shutdown: %w", ctx.Err())
		}
	}, nil
}

// backfillContactIndex completes the contacts-by-customer index (a no-op
// once complete) and logs what it did.
func backfillContactIndex(ctx context.Context, e *bot.Engine, log *slog.Logger) {
	n, err := bot.BackfillContactIndex(ctx, e.Store(), e.Now())
	switch {
	case err != nil && ctx.Err() == nil:
		log.Warn("contacts-by-customer index backfill", "err", err)
	case n > 0:
		log.Info("contacts-by-customer index backfilled", "contacts", n)
	}
}
