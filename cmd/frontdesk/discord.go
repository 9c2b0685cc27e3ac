package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/channels/discord"
)

// The Discord channel plugin. It is off unless DISCORD_BOT_TOKEN is set;
// docs/discord.md explains the settings:
//
//	DISCORD_BOT_TOKEN        bot token (required to turn Discord on)
//	DISCORD_APP_ID           application id (default: learnt at connect)
//	DISCORD_MESSAGE_CONTENT  true to request the Message Content intent
//	DISCORD_REPLY_MODE       thread (default) or reply
//	DISCORD_GUILD_MODES      per-server modes: <guild id>=thread|reply,...
//	DISCORD_AGENT_CHANNEL    staff channel id for escalations (default off)
//	DISCORD_AGENT_ROLE       role id agents need (default: channel access)
//	DISCORD_API_URL, DISCORD_GATEWAY_URL   a fake Discord, for tests only

func init() {
	plugins = append(plugins, plugin{name: "discord", open: openDiscord})
}

// discordOpenTimeout bounds connecting at startup.
const discordOpenTimeout = 30 * time.Second

// discordConfig reads the DISCORD_* settings. on is false when Discord is
// not configured.
func discordConfig(getenv func(string) string) (cfg discord.Config, on bool, err error) {
	token := strings.TrimSpace(getenv("DISCORD_BOT_TOKEN"))
	if token == "" {
		return cfg, false, nil
	}
	cfg = discord.Config{
		Token:        token,
		AppID:        strings.TrimSpace(getenv("DISCORD_APP_ID")),
		AgentChannel: strings.TrimSpace(getenv("DISCORD_AGENT_CHANNEL")),
		AgentRole:    strings.TrimSpace(getenv("DISCORD_AGENT_ROLE")),
		APIURL:       strings.TrimSpace(getenv("DISCORD_API_URL")),
		GatewayURL:   strings.TrimSpace(getenv("DISCORD_GATEWAY_URL")),
	}
	if v := strings.TrimSpace(getenv("DISCORD_MESSAGE_CONTENT")); v != "" {
		if cfg.MessageContent, err = strconv.ParseBool(v); err != nil {
			return cfg, false, fmt.Errorf("DISCORD_MESSAGE_CONTENT: want true or false, got %q", v)
		}
	}
	if v := strings.TrimSpace(getenv("DISCORD_REPLY_MODE")); v != "" {
		if cfg.ReplyMode, err = discord.ParseMode(v); err != nil {
			return cfg, false, fmt.Errorf("DISCORD_REPLY_MODE: %w", err)
		}
	}
	for _, item := range splitList(getenv("DISCORD_GUILD_MODES")) {
		guild, mode, ok := strings.Cut(item, "=")
		guild, mode = strings.TrimSpace(guild), strings.TrimSpace(mode)
		if !ok || guild == "" {
			return cfg, false, fmt.Errorf("DISCORD_GUILD_MODES: want <guild id>=thread|reply, got %q", item)
		}
		m, err := discord.ParseMode(mode)
		if err != nil {
			return cfg, false, fmt.Errorf("DISCORD_GUILD_MODES: %w", err)
		}
		if cfg.GuildModes == nil {
			cfg.GuildModes = map[string]discord.Mode{}
		}
		cfg.GuildModes[guild] = m
	}
	return cfg, true, nil
}

func openDiscord(ctx context.Context, m *Main, _ *http.ServeMux) (func(context.Context) error, error) {
	cfg, on, err := discordConfig(m.Getenv)
	if err != nil || !on {
		return nil, err
	}
	log := m.Logger.With("channel", "discord")
	cfg.Logger = log
	routeDiscordgoLogs(log)
	a, err := discord.New(m.Engine, cfg)
	if err != nil {
		return nil, err
	}
	m.Engine.Register(bot.ChannelDiscord, a)
	octx, cancel := context.WithTimeout(ctx, discordOpenTimeout)
	defer cancel()
	if err := a.Open(octx); err != nil {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		_ = a.Close(cctx)
		return nil, err
	}
	log.Info("discord on", "message_content", cfg.MessageContent, "reply_mode", string(cfg.ReplyMode), "agent_channel", cfg.AgentChannel != "")
	return a.Close, nil
}

// discordgoLog is where discordgo's own messages go. discordgo logs
// through a package variable, so the latest opened Main's logger wins.
var discordgoLog atomic.Pointer[slog.Logger]

func routeDiscordgoLogs(l *slog.Logger) {
	if discordgoLog.Swap(l) != nil {
		return
	}
	discordgo.Logger = func(level, _ int, format string, args ...any) {
		lg := discordgoLog.Load()
		if lg == nil {
			return
		}
		sl := slog.LevelDebug
		switch level {
		case discordgo.LogError:
			sl = slog.LevelError
		case discordgo.LogWarning:
			sl = slog.LevelWarn
		case discordgo.LogInformational:
			sl = slog.LevelInfo
		}
		lg.Log(context.Background(), sl, "discordgo", "detail", fmt.Sprintf(format, args...))
	}
}
