package slack

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// ErrBadRoute reports a malformed agent routing rule.
var ErrBadRoute = errors.New("slack: bad agent route")

// Route sends escalations that match it to a Slack channel instead of the
// default agents' channel. Exactly one of Stage and Topic is set.
type Route struct {
	// Stage matches escalations of customers at this journey stage.
	Stage bot.Stage
	// Topic matches escalations whose contact asked about this topic id
	// (any intent of the contact so far).
	Topic string
	// Channel is the Slack channel id (C…, G…) the escalation goes to.
	Channel string
}

// String renders the route the way ParseRoutes reads it.
func (r Route) String() string {
	if r.Topic != "" {
		return "topic:" + r.Topic + "=" + r.Channel
	}
	return "stage:" + string(r.Stage) + "=" + r.Channel
}

// ParseRoutes reads SLACK_AGENT_ROUTES: comma-separated rules
// "stage:<stage>=<channel id>" or "topic:<topic id>=<channel id>", for
// example "stage:purchase=C123,topic:damaged-item=C456". Rules are tried
// in order; the first match wins.
func ParseRoutes(s string) ([]Route, error) {
	var out []Route
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		rule, channel, ok := strings.Cut(item, "=")
		kind, value, ok2 := strings.Cut(rule, ":")
		channel, value = strings.TrimSpace(channel), strings.TrimSpace(value)
		if !ok || !ok2 || value == "" || !validChannelID(channel) {
			return nil, fmt.Errorf("%w %q: want stage:<stage>=<channel id> or topic:<topic>=<channel id>", ErrBadRoute, item)
		}
		switch strings.ToLower(strings.TrimSpace(kind)) {
		case "stage":
			st, err := bot.ParseStage(value)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %w", ErrBadRoute, item, err)
			}
			out = append(out, Route{Stage: st, Channel: channel})
		case "topic":
			out = append(out, Route{Topic: value, Channel: channel})
		default:
			return nil, fmt.Errorf("%w %q: unknown kind %q (want stage or topic)", ErrBadRoute, item, kind)
		}
	}
	return out, nil
}

// validChannelID accepts Slack conversation ids: public (C), private (G)
// channels. Names (#support) are refused: the API wants ids and names can
// be renamed.
func validChannelID(s string) bool {
	if len(s) < 2 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// route picks the agents' channel for an escalation: the first rule that
// matches the customer's stage or one of the contact's topics, else def.
func route(routes []Route, def string, stage bot.Stage, topics []string) string {
	for _, r := range routes {
		if r.Stage != "" && r.Stage == stage {
			return r.Channel
		}
		if r.Topic != "" && slices.Contains(topics, r.Topic) {
			return r.Channel
		}
	}
	return def
}
