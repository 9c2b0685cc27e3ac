package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/frontdesk-chat/frontdesk/channels/slack"
)

// The Slack channel plugin. It is off unless SLACK_BOT_TOKEN is set;
// docs/slack.md explains the settings:
//
//	SLACK_BOT_TOKEN       bot token xoxb-… (required to turn Slack on)
//	SLACK_APP_TOKEN       app-level token xapp-…: connect with Socket Mode
//	SLACK_SIGNING_SECRET  serve the Events API on /slack/events and
//	                      /slack/interactivity (at least one of the two)
//	SLACK_AGENT_CHANNEL   channel id escalations go to (default: none)
//	SLACK_AGENT_ROUTES    stage:<stage>=<channel id>,topic:<topic>=<channel id>
//	SLACK_API_URL         a fake Slack Web API, for tests only

func init() {
	plugins = append(plugins, plugin{name: "slack", open: openSlack})
}

// slackStartTimeout bounds checking the token at startup.
const slackStartTimeout = 30 * time.Second

// slackConfig reads the SLACK_* settings. on is false when Slack is not
// configured.
func slackConfig(getenv func(string) string) (cfg slack.Config, on bool, err error) {
	token := strings.TrimSpace(getenv("SLACK_BOT_TOKEN"))
	if token == "" {
		return cfg, false, nil
	}
	cfg = slack.Config{
		BotToken:      token,
		AppToken:      strings.TrimSpace(getenv("SLACK_APP_TOKEN")),
		SigningSecret: strings.TrimSpace(getenv("SLACK_SIGNING_SECRET")),
		AgentChannel:  strings.TrimSpace(getenv("SLACK_AGENT_CHANNEL")),
		APIURL:        strings.TrimSpace(getenv("SLACK_API_URL")),
	}
	if cfg.AppToken == "" && cfg.SigningSecret == "" {
		return cfg, false, fmt.Errorf("SLACK_BOT_TOKEN is set: also set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (Events API)")
	}
	if cfg.Routes, err = slack.ParseRoutes(getenv("SLACK_AGENT_ROUTES")); err != nil {
		return cfg, false, fmt.Errorf("SLACK_AGENT_ROUTES: %w", err)
	}
	return cfg, true, nil
}

func openSlack(ctx context.Context, m *Main, mux *http.ServeMux) (func(context.Context) error, error) {
	cfg, on, err := slackConfig(m.Getenv)
	if err != nil || !on {
		return nil, err
	}
	log := m.Logger.With("channel", "slack")
	cfg.Logger = log
	a, err := slack.New(m.Engine, cfg)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, slackStartTimeout)
	defer cancel()
	if err := a.Start(sctx); err != nil {
		_ = a.Close(context.Background())
		return nil, err
	}
	if cfg.SigningSecret != "" {
		h := a.Handler()
		mux.Handle("POST /slack/events", h)
		mux.Handle("POST /slack/interactivity", h)
	}
	log.Info("slack on", "socket_mode", cfg.AppToken != "", "events_api", cfg.SigningSecret != "",
		"agent_channel", cfg.AgentChannel, "routes", len(cfg.Routes))
	return a.Close, nil
}
