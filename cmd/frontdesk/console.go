package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/console"
)

// The agent console: /agent, the agents' JSON API under /api/, presence,
// and the handoff settings (business hours, thresholds). docs/agents.md
// documents it.

func init() {
	plugins = append(plugins, plugin{name: "console", open: openConsole})
}

// consoleOrderSources holds, per running Main, the order source of the
// console's orders panel. The orders plugin registers it with
// setConsoleOrders; the console looks it up on each request, so the order
// in which plugins open does not matter.
var consoleOrderSources sync.Map // *Main → console.OrderLister

// setConsoleOrders gives the console's orders panel its data (orders
// plugin).
func setConsoleOrders(m *Main, o console.OrderLister) { consoleOrderSources.Store(m, o) }

// lazyOrders finds m's order source when a conversation is opened.
type lazyOrders struct{ m *Main }

var _ console.OrderLister = lazyOrders{}

func (l lazyOrders) Orders(ctx context.Context, c bot.Customer) ([]console.OrderSummary, error) {
	o, ok := consoleOrderSources.Load(l.m)
	if !ok {
		return nil, bot.Errorf(bot.ECodeUnavailable, "No order source is configured.")
	}
	return o.(console.OrderLister).Orders(ctx, c)
}

func openConsole(ctx context.Context, m *Main, mux *http.ServeMux) (func(context.Context) error, error) {
	h, err := handoffSettings(m.Getenv, m.Engine.Handoff())
	if err != nil {
		return nil, err
	}
	m.Engine.SetHandoff(h)
	cfg, presence, err := consoleSettings(m.Getenv)
	if err != nil {
		return nil, err
	}
	cfg.Logger = m.Logger.With("part", "console")
	cfg.Orders = lazyOrders{m}
	c := console.New(m.Engine, cfg)
	c.Mount(mux)
	setAgentAuth(m, c.RequireAgent)

	// Presence decides between "a person is coming" and "leave a message".
	// Without any console account agents work elsewhere (Slack, Discord),
	// so the console cannot tell who is online and stays out of it.
	hasAgents, err := c.HasAgents(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case presence == "off":
	case presence == "console" || hasAgents:
		m.Engine.SetPresence(c)
	}
	m.Logger.Info("agent console ready", "path", "/agent", "presence", presence == "console" || (presence == "" && hasAgents),
		"business_hours", h.Hours != nil)
	return c.Close, nil
}

// consoleSettings reads the console's environment:
//
//	FRONTDESK_SECURE_COOKIES   true: session cookies are Secure even over plain HTTP (behind a TLS proxy)
//	FRONTDESK_TRUST_PROXY      true: login rate limits use the last X-Forwarded-For address
//	FRONTDESK_CONSOLE_ORIGINS  extra origins allowed to call the API with a session cookie
//	FRONTDESK_PRESENCE         console (always use the console's presence), off (never), or empty:
//	                           use it when agent accounts exist
func consoleSettings(getenv func(string) string) (console.Config, string, error) {
	var cfg console.Config
	var err error
	if cfg.SecureCookies, err = envBool(getenv, "FRONTDESK_SECURE_COOKIES"); err != nil {
		return cfg, "", err
	}
	if cfg.TrustProxy, err = envBool(getenv, "FRONTDESK_TRUST_PROXY"); err != nil {
		return cfg, "", err
	}
	cfg.AllowedOrigins = splitList(getenv("FRONTDESK_CONSOLE_ORIGINS"))
	presence := strings.ToLower(strings.TrimSpace(getenv("FRONTDESK_PRESENCE")))
	switch presence {
	case "", "console", "off":
	default:
		return cfg, "", fmt.Errorf("FRONTDESK_PRESENCE: %q is not console or off", presence)
	}
	return cfg, presence, nil
}

func envBool(getenv func(string) string, name string) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not true or false", name, v)
	}
	return b, nil
}

// handoffSettings reads the escalation settings over base:
//
//	FRONTDESK_HOURS             business hours, "Mon-Fri 09:00-17:30; Sat 10:00-14:00" (default: always open)
//	FRONTDESK_TIMEZONE          their time zone, "Europe/London" (default UTC)
//	FRONTDESK_HOLIDAYS          closed dates, "2026-12-25,2026-12-26"
//	FRONTDESK_MAX_MISSES        unanswered messages in a row before escalating (default 2)
//	FRONTDESK_STAGE_MAX_MISSES  per journey stage, "purchase=1,consideration=3"
//	FRONTDESK_FRUSTRATION       words that escalate at once, comma-separated (default: a built-in list)
//	FRONTDESK_AVG_HANDLE        assumed minutes per waiting customer for the wait estimate, "3m"
func handoffSettings(getenv func(string) string, base bot.HandoffConfig) (bot.HandoffConfig, error) {
	h := base
	hours, err := console.ParseBusinessHours(getenv("FRONTDESK_HOURS"), getenv("FRONTDESK_TIMEZONE"), getenv("FRONTDESK_HOLIDAYS"))
	if err != nil {
		return h, fmt.Errorf("FRONTDESK_HOURS/FRONTDESK_TIMEZONE/FRONTDESK_HOLIDAYS: %w", err)
	}
	if hours != nil {
		h.Hours = hours
	}
	if v := strings.TrimSpace(getenv("FRONTDESK_MAX_MISSES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return h, fmt.Errorf("FRONTDESK_MAX_MISSES: %q is not a whole number of at least 1", v)
		}
		h.MaxMisses = n
	}
	if v := getenv("FRONTDESK_STAGE_MAX_MISSES"); v != "" {
		m, err := console.ParseStageMaxMisses(v)
		if err != nil {
			return h, fmt.Errorf("FRONTDESK_STAGE_MAX_MISSES: %w", err)
		}
		h.StageMaxMisses = m
	}
	if v := getenv("FRONTDESK_FRUSTRATION"); v != "" {
		words := splitList(strings.ToLower(v))
		if len(words) == 0 {
			return h, fmt.Errorf("FRONTDESK_FRUSTRATION: no words in %q", v)
		}
		h.Frustration = words
	}
	if v := strings.TrimSpace(getenv("FRONTDESK_AVG_HANDLE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return h, fmt.Errorf("FRONTDESK_AVG_HANDLE: %q is not a duration like 3m", v)
		}
		h.AvgHandle = d
	}
	return h, nil
}
