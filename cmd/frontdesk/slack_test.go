package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/channels/slack"
	"github.com/frontdesk-chat/frontdesk/channels/slack/slackfake"
)

func TestSlackConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		on      bool
		wantErr bool
		check   func(t *testing.T, c slack.Config)
	}{
		{name: "off without a bot token", env: map[string]string{"SLACK_APP_TOKEN": "xapp", "SLACK_AGENT_CHANNEL": "C1"}},
		{name: "socket mode", on: true, env: map[string]string{"SLACK_BOT_TOKEN": "xoxb", "SLACK_APP_TOKEN": "xapp"}, check: func(t *testing.T, c slack.Config) {
			if c.BotToken != "xoxb" || c.AppToken != "xapp" || c.SigningSecret != "" || c.AgentChannel != "" || len(c.Routes) != 0 {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "every setting read", on: true, env: map[string]string{
			"SLACK_BOT_TOKEN": "xoxb", "SLACK_SIGNING_SECRET": "s", "SLACK_AGENT_CHANNEL": "C1",
			"SLACK_AGENT_ROUTES": "stage:purchase=C2,topic:damaged-item=C3", "SLACK_API_URL": "http://127.0.0.1:1/",
		}, check: func(t *testing.T, c slack.Config) {
			if c.SigningSecret != "s" || c.AgentChannel != "C1" || c.APIURL != "http://127.0.0.1:1/" || len(c.Routes) != 2 ||
				c.Routes[0].Stage != bot.StagePurchase || c.Routes[1].Topic != "damaged-item" || c.Routes[1].Channel != "C3" {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "a bot token alone is refused", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb"}, wantErr: true},
		{name: "bad routes refused", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb", "SLACK_APP_TOKEN": "xapp", "SLACK_AGENT_ROUTES": "stage:nope=C1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, on, err := slackConfig(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr || on != tt.on {
				t.Fatalf("on %v err %v; want on %v, error %v", on, err, tt.on, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestServe_SlackOffWithoutTokens(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	MustServe(t, t.TempDir(), func(m *Main) {
		m.Getenv = func(k string) string {
			if k == "SLACK_API_URL" {
				return fake.APIURL()
			}
			return ""
		}
	})
	if n := fake.Calls("auth.test") + fake.Opens(); n != 0 {
		t.Errorf("Slack was contacted %d times without a token", n)
	}
}

// A web customer asks for a person; a Slack agent claims the escalation,
// writes a note and a reply in the thread: only the reply reaches the
// customer's WebSocket.
func TestServe_SlackAgentAnswersWebCustomer(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.SetUser("UA1", "Alice")
	env := map[string]string{"SLACK_BOT_TOKEN": fake.BotToken, "SLACK_APP_TOKEN": fake.AppToken,
		"SLACK_AGENT_CHANNEL": "CAGENTS", "SLACK_API_URL": fake.APIURL()}
	m := MustServe(t, t.TempDir(), func(m *Main) { m.Getenv = func(k string) string { return env[k] } })
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	wait := func(what string, cond func() bool) {
		t.Helper()
		if err := fake.WaitFor(ctx, cond); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}

	c := MustDial(t, m, newVisitor())
	c.MustWrite(map[string]string{"type": "choice", "id": "c1", "value": bot.ChoiceHuman, "label": "Talk to a person"})
	var parent slackfake.Post
	wait("the escalation in Slack", func() bool {
		for _, p := range fake.PostsIn("CAGENTS", "") {
			if _, ok := p.Button("fd_claim"); ok {
				parent = p
				return true
			}
		}
		return false
	})
	if _, err := fake.Click(ctx, slackfake.Click{User: "UA1", Channel: "CAGENTS", MessageTS: parent.TS, ActionID: "fd_claim"}); err != nil {
		t.Fatal(err)
	}
	for { // queue updates come first
		if got := c.MustReply("system"); strings.Contains(got.Text, "Alice has joined") {
			break
		}
	}
	agentSays := func(id, text, ts string) {
		t.Helper()
		ev := map[string]any{"type": "message", "channel": "CAGENTS", "channel_type": "channel", "user": "UA1",
			"text": text, "ts": ts, "thread_ts": parent.TS, "team": "T1"}
		if _, err := fake.SendEvent(ctx, id, ev); err != nil {
			t.Fatal(err)
		}
	}
	agentSays("EvNote", "internal: customer is a VIP", "1700000900.000100")
	wait("the note's reaction", func() bool { return fake.HasReaction("CAGENTS", "1700000900.000100", "memo") })
	agentSays("EvReply", "reply: Hi, I'm Alice. How can I help?", "1700000900.000200")
	got := c.MustReply("agent")
	if got.Text != "Hi, I'm Alice. How can I help?" || got.Author != "Alice" {
		t.Fatalf("first agent message the customer saw: %+v (a note must never arrive)", got)
	}
}
