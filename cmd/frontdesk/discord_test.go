package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/channels/discord"
	"github.com/frontdesk-chat/frontdesk/channels/discord/discordfake"
)

func TestDiscordConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		on      bool
		wantErr bool
		check   func(t *testing.T, c discord.Config)
	}{
		{name: "off without a token", env: map[string]string{"DISCORD_AGENT_CHANNEL": "1"}},
		{name: "on with defaults", env: map[string]string{"DISCORD_BOT_TOKEN": "t"}, on: true, check: func(t *testing.T, c discord.Config) {
			if c.MessageContent || c.ReplyMode != "" || c.AgentChannel != "" {
				t.Errorf("defaults changed: %+v", c)
			}
		}},
		{name: "every setting read", on: true, env: map[string]string{
			"DISCORD_BOT_TOKEN": "t", "DISCORD_APP_ID": "9", "DISCORD_MESSAGE_CONTENT": "true", "DISCORD_REPLY_MODE": "reply",
			"DISCORD_GUILD_MODES": "11=thread, 12=reply", "DISCORD_AGENT_CHANNEL": "5", "DISCORD_AGENT_ROLE": "6",
		}, check: func(t *testing.T, c discord.Config) {
			if !c.MessageContent || c.ReplyMode != discord.ModeReply || c.AppID != "9" || c.AgentChannel != "5" || c.AgentRole != "6" ||
				c.GuildModes["11"] != discord.ModeThread || c.GuildModes["12"] != discord.ModeReply {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "bad reply mode refused", env: map[string]string{"DISCORD_BOT_TOKEN": "t", "DISCORD_REPLY_MODE": "loud"}, wantErr: true},
		{name: "bad guild mode refused", env: map[string]string{"DISCORD_BOT_TOKEN": "t", "DISCORD_GUILD_MODES": "11"}, wantErr: true},
		{name: "bad boolean refused", env: map[string]string{"DISCORD_BOT_TOKEN": "t", "DISCORD_MESSAGE_CONTENT": "maybe"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, on, err := discordConfig(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr || on != tt.on {
				t.Fatalf("on %v err %v; want on %v, error %v", on, err, tt.on, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestServe_DiscordOffWithoutToken(t *testing.T) {
	fake := discordfake.New(discordfake.Config{})
	defer fake.Close()
	MustServe(t, t.TempDir(), func(m *Main) {
		m.Getenv = func(k string) string {
			if k == "DISCORD_API_URL" {
				return fake.URL
			}
			return ""
		}
	})
	if n := len(fake.Requests()) + len(fake.Identifies()); n != 0 {
		t.Errorf("Discord was contacted %d times without a token", n)
	}
}

func TestServe_DiscordDMGetsTheFAQAnswer(t *testing.T) {
	fake := discordfake.New(discordfake.Config{})
	t.Cleanup(fake.Close)
	env := map[string]string{"DISCORD_BOT_TOKEN": fake.Token(), "DISCORD_API_URL": fake.URL, "DISCORD_AGENT_CHANNEL": "42"}
	MustServe(t, t.TempDir(), func(m *Main) { m.Getenv = func(k string) string { return env[k] } })
	if len(fake.Identifies()) != 1 {
		t.Fatalf("identifies = %d, want 1", len(fake.Identifies()))
	}
	topic := mustAnswerable(t)
	fake.Send(discordfake.UserMessage{ChannelID: "dm-1", AuthorID: "500", Content: topic.Questions[0]})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := strings.TrimSpace(topic.Answer)
	err := fake.Wait(ctx, func() bool {
		for _, m := range fake.Messages("dm-1") {
			if strings.TrimSpace(m.Content) == want {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no answer %q in the DM; got %+v", want, fake.Messages("dm-1"))
	}
}
