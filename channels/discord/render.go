package discord

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Discord's limits.
const (
	maxContent     = 2000 // characters in a message
	maxButtons     = 25   // 5 rows of 5
	maxRowButtons  = 5
	maxLabel       = 80
	maxCustomID    = 100
	maxThreadName  = 100
	maxEmbedTitle  = 256
	maxEmbedDesc   = 4096
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxEmbedFields = 25
)

// Custom id prefixes of the bot's buttons.
const (
	idChoice      = "fdc:" // + choice value
	idChoiceIndex = "fdl:" // + index, for values too long for a custom id
	idAgent       = "fda:" // + action ":" + conversation id
)

// markdownEscaper backslash-escapes the characters Discord markdown gives a
// meaning to. Discord's parser accepts a backslash before any punctuation,
// so over-escaping is harmless.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, `*`, `\*`, `_`, `\_`, "~", `\~`, "`", "\\`", `|`, `\|`,
	`>`, `\>`, `#`, `\#`, `-`, `\-`, `[`, `\[`, `]`, `\]`, `(`, `\(`, `)`, `\)`, `<`, `\<`,
)

// Escape makes text show literally in Discord: no formatting, links, or
// mention pills. Use it for words typed by others (customers' messages
// mirrored to agents, names).
func Escape(s string) string { return markdownEscaper.Replace(s) }

// length is a string's length as Discord counts it (UTF-16 code units,
// which is never less than the number of characters).
func length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
		if r == utf8.RuneError {
			n++
		}
	}
	return n
}

// truncate shortens s to at most n characters, ending with "…" if cut.
func truncate(s string, n int) string {
	if length(s) <= n {
		return s
	}
	return prefixOf(s, n-1) + "…"
}

// prefixOf returns the longest prefix of s of at most n units.
func prefixOf(s string, n int) string {
	used := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 2
		}
		if used+w > n {
			return s[:i]
		}
		used += w
	}
	return s
}

const fence = "```"

// Split cuts text into messages of at most limit characters, preferring
// paragraph, line and word boundaries. A code block cut in two is closed
// at the end of one part and reopened at the start of the next.
func Split(text string, limit int) []string {
	if limit < 32 {
		limit = 32
	}
	var out []string
	open := false
	for text != "" {
		prefix := ""
		if open {
			prefix = fence + "\n"
		}
		if length(prefix)+length(text) <= limit {
			out = append(out, prefix+text)
			break
		}
		budget := limit - length(prefix) - len("\n"+fence)
		head := prefixOf(text, budget)
		cut, skip := len(head), 0
		if i := strings.LastIndex(head, "\n\n"); i > len(head)/2 {
			cut, skip = i, 2
		} else if i := strings.LastIndex(head, "\n"); i > len(head)/2 {
			cut, skip = i, 1
		} else if i := strings.LastIndex(head, " "); i > len(head)/2 {
			cut, skip = i, 1
		}
		chunk := text[:cut]
		text = text[cut+skip:]
		if strings.Count(chunk, fence)%2 == 1 {
			open = !open
		}
		piece := prefix + chunk
		if open {
			piece += "\n" + fence
		}
		if strings.TrimSpace(piece) != "" {
			out = append(out, piece)
		}
	}
	return out
}

// content is a message's text as the customer sees it on Discord.
func content(msg bot.Message) string {
	switch msg.Role {
	case bot.RoleAgent:
		name := msg.Author
		if name == "" {
			name = "Support"
		}
		return "**" + Escape(name) + ":** " + msg.Text
	case bot.RoleSystem:
		if msg.Text == "" {
			return ""
		}
		return "*" + Escape(msg.Text) + "*"
	default:
		return msg.Text
	}
}

// choiceComponents renders quick replies as rows of buttons. Clicks come
// back as interactions carrying the custom id.
func choiceComponents(choices []bot.Choice) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	var row []discordgo.MessageComponent
	for i, c := range choices {
		if i == maxButtons {
			break
		}
		id := idChoice + c.Value
		if len(id) > maxCustomID {
			id = idChoiceIndex + strconv.Itoa(i)
		}
		style := discordgo.SecondaryButton
		if c.Value == bot.ChoiceHuman {
			style = discordgo.PrimaryButton
		}
		label := truncate(strings.TrimSpace(c.Label), maxLabel)
		if label == "" {
			label = truncate(c.Value, maxLabel)
		}
		row = append(row, discordgo.Button{Label: label, Style: style, CustomID: id})
		if len(row) == maxRowButtons {
			rows = append(rows, discordgo.ActionsRow{Components: row})
			row = nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, discordgo.ActionsRow{Components: row})
	}
	return rows
}

// disabled returns components with every button disabled.
func disabled(comps []discordgo.MessageComponent) []discordgo.MessageComponent {
	out := make([]discordgo.MessageComponent, 0, len(comps))
	for _, c := range comps {
		switch v := c.(type) {
		case *discordgo.ActionsRow:
			out = append(out, discordgo.ActionsRow{Components: disabled(v.Components)})
		case discordgo.ActionsRow:
			out = append(out, discordgo.ActionsRow{Components: disabled(v.Components)})
		case *discordgo.Button:
			b := *v
			b.Disabled = true
			out = append(out, b)
		case discordgo.Button:
			v.Disabled = true
			out = append(out, v)
		default:
			out = append(out, c)
		}
	}
	return out
}

// buttonLabel finds the label of the button with custom id in comps.
func buttonLabel(comps []discordgo.MessageComponent, id string) string {
	for _, c := range comps {
		switch v := c.(type) {
		case *discordgo.ActionsRow:
			if l := buttonLabel(v.Components, id); l != "" {
				return l
			}
		case *discordgo.Button:
			if v.CustomID == id {
				return v.Label
			}
		}
	}
	return ""
}

// orderKeys are the order-status data keys (as the order flow sets them)
// with their display names, in display order.
var orderKeys = []struct {
	key, name string
	inline    bool
}{
	{"status_label", "Status", true},
	{"status", "Status", true},
	{"carrier", "Carrier", true},
	{"estimated_delivery", "Estimated delivery", true},
	{"eta", "Estimated delivery", true},
	{"tracking_number", "Tracking number", true},
	{"tracking_url", "Tracking", false},
	{"placed_at", "Ordered", true},
	{"shipped_at", "Shipped", true},
	{"delivered_at", "Delivered", true},
	{"items", "Items", false},
}

// orderNumberKeys may hold the order number, first found wins.
var orderNumberKeys = []string{"order_number", "order", "number"}

// isOrder reports whether message data is an order status.
func isOrder(data map[string]string) bool {
	if k := data["kind"]; k == "order" || k == "order_problem" {
		return true
	}
	for _, k := range []string{"status", "carrier", "tracking_url", "eta"} {
		if data[k] != "" {
			return true
		}
	}
	return false
}

// orderEmbed renders an order status as an embed: the order number as
// title (linked to tracking), known fields first, any other data after.
func orderEmbed(data map[string]string) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Title: "Order status", Color: 0x5865F2}
	used := map[string]bool{"kind": true}
	for _, k := range orderNumberKeys {
		if v := data[k]; v != "" {
			e.Title = truncate("Order "+v, maxEmbedTitle)
			used[k] = true
			break
		}
	}
	track := data["tracking_url"]
	if !strings.HasPrefix(track, "https://") && !strings.HasPrefix(track, "http://") {
		track = ""
	}
	shown := map[string]bool{}
	for _, k := range orderKeys {
		v := data[k.key]
		used[k.key] = true
		if v == "" || shown[k.name] {
			continue
		}
		val := Escape(v)
		if k.key == "tracking_url" {
			if track == "" {
				continue
			}
			e.URL = track
			val = "[Track the parcel](" + track + ")"
		}
		shown[k.name] = true
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: k.name, Value: truncate(val, maxFieldValue), Inline: k.inline})
	}
	if data["late"] == "true" {
		used["late"] = true
		e.Color = 0xFEE75C
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Late", Value: "Past the expected delivery day", Inline: true})
	}
	var rest []string
	for k, v := range data {
		if !used[k] && v != "" {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		if len(e.Fields) == maxEmbedFields {
			break
		}
		name := strings.ReplaceAll(k, "_", " ")
		name = strings.ToUpper(name[:1]) + name[1:]
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: truncate(name, maxFieldName), Value: truncate(Escape(data[k]), maxFieldValue), Inline: true})
	}
	return e
}

// noMentions lets a message ping nobody: text from the FAQ, agents or
// customers can never @everyone a server.
func noMentions(repliedUser bool) *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, RepliedUser: repliedUser}
}
