package discord

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestSplit(t *testing.T) {
	para := strings.Repeat("word ", 300) // 1500 characters
	code := "```\n" + strings.Repeat("line of code\n", 250) + "```"
	tests := []struct {
		name  string
		text  string
		parts int
	}{
		{"short text stays whole", "hello", 1},
		{"exactly the limit stays whole", strings.Repeat("a", maxContent), 1},
		{"paragraphs split between paragraphs", para + "\n\n" + para, 2},
		{"one long word is cut hard", strings.Repeat("x", 4500), 3},
		{"code block is closed and reopened", code, 2},
		{"emoji count as two units", strings.Repeat("😀", 1500), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := Split(tt.text, maxContent)
			if len(parts) != tt.parts {
				t.Fatalf("got %d parts, want %d", len(parts), tt.parts)
			}
			for i, p := range parts {
				if n := length(p); n > maxContent {
					t.Errorf("part %d has %d characters", i, n)
				}
				if strings.Count(p, "```")%2 != 0 {
					t.Errorf("part %d leaves a code block open", i)
				}
			}
		})
	}
}

func TestSplitKeepsAllWords(t *testing.T) {
	var words []string
	for i := 0; i < 1000; i++ {
		words = append(words, "w"+strings.Repeat("o", i%7))
	}
	text := strings.Join(words, " ")
	parts := Split(text, 300)
	if got := strings.Fields(strings.Join(parts, " ")); strings.Join(got, " ") != text {
		t.Fatal("words lost or reordered")
	}
}

func TestEscape(t *testing.T) {
	got := Escape("*bold* _it_ `code` <@123> [x](http://e) ~~s~~ || > # - \\")
	for _, bad := range []string{" *b", " <@1", "[x]"} {
		if strings.Contains(got, bad) {
			t.Errorf("Escape left %q in %q", bad, got)
		}
	}
	if want := `\*bold\*`; !strings.Contains(got, want) {
		t.Errorf("Escape(%q) = %q, want it to contain %q", "*bold*", got, want)
	}
}

func TestContent(t *testing.T) {
	tests := []struct {
		name string
		msg  bot.Message
		want string
	}{
		{"bot text is kept as markdown", bot.Message{Role: bot.RoleBot, Text: "**Yes**"}, "**Yes**"},
		{"agent text is signed", bot.Message{Role: bot.RoleAgent, Text: "hi", Author: "Ann_B"}, `**Ann\_B:** hi`},
		{"unsigned agent text says support", bot.Message{Role: bot.RoleAgent, Text: "hi"}, "**Support:** hi"},
		{"system text is escaped italics", bot.Message{Role: bot.RoleSystem, Text: "Ann *joined*"}, `*Ann \*joined\**`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := content(tt.msg); got != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChoiceComponents(t *testing.T) {
	var choices []bot.Choice
	for i := 0; i < 12; i++ {
		choices = append(choices, bot.Choice{Label: strings.Repeat("L", 100), Value: "topic" + string(rune('a'+i))})
	}
	choices = append(choices, bot.Choice{Label: "Long", Value: strings.Repeat("v", 120)})
	rows := choiceComponents(choices)
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3 (5+5+3)", len(rows))
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []struct {
		Components []struct {
			Label    string `json:"label"`
			CustomID string `json:"custom_id"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	for _, r := range decoded {
		if len(r.Components) > maxRowButtons {
			t.Errorf("row with %d buttons", len(r.Components))
		}
		for _, b := range r.Components {
			if length(b.Label) > maxLabel || len(b.CustomID) > maxCustomID {
				t.Errorf("button over Discord's limits: label %d, custom id %d", length(b.Label), len(b.CustomID))
			}
		}
	}
	if got := decoded[0].Components[0].CustomID; got != "fdc:topica" {
		t.Errorf("custom id = %q, want the choice value", got)
	}
	if got := decoded[2].Components[2].CustomID; got != "fdl:12" {
		t.Errorf("over-long value: custom id = %q, want an index", got)
	}
}

func TestOrderEmbed(t *testing.T) {
	data := map[string]string{
		"kind": "order", "order_number": "A1001", "status": "in_transit", "status_label": "On its way",
		"carrier": "DHL", "tracking_url": "https://track.example/A1001", "estimated_delivery": "2026-11-20",
		"items": "1 × Mug", "late": "true", "gift_note": "*surprise*",
	}
	if !isOrder(data) {
		t.Fatal("order data not recognised")
	}
	e := orderEmbed(data)
	if e.Title != "Order A1001" || e.URL != "https://track.example/A1001" {
		t.Errorf("title %q url %q", e.Title, e.URL)
	}
	fields := map[string]string{}
	for _, f := range e.Fields {
		fields[f.Name] = f.Value
	}
	want := map[string]string{"Status": "On its way", "Carrier": "DHL", "Estimated delivery": "2026\\-11\\-20", "Late": "Past the expected delivery day", "Gift note": `\*surprise\*`}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("field %q = %q, want %q", k, fields[k], v)
		}
	}
	if isOrder(map[string]string{"kind": "queue", "position": "2"}) {
		t.Error("queue data rendered as an order")
	}
	if e := orderEmbed(map[string]string{"status": "x", "tracking_url": "javascript:alert(1)"}); e.URL != "" {
		t.Errorf("non-http tracking url linked: %q", e.URL)
	}
}

func TestCutReply(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"reply: hello", "hello", true},
		{"REPLY:hello", "hello", true},
		{"Reply:   two words ", "two words", true},
		{"replying to them", "", false},
		{"note: reply: later", "", false},
		{"rep", "", false},
	}
	for _, tt := range tests {
		got, ok := cutReply(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cutReply(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDisabled(t *testing.T) {
	rows := choiceComponents([]bot.Choice{{Label: "A", Value: "a"}, {Label: "B", Value: "b"}})
	raw, _ := json.Marshal(rows)
	var m discordgo.Message
	if err := json.Unmarshal([]byte(`{"components":`+string(raw)+`}`), &m); err != nil {
		t.Fatal(err)
	}
	if got := buttonLabel(m.Components, "fdc:b"); got != "B" {
		t.Errorf("buttonLabel = %q, want B", got)
	}
	out, _ := json.Marshal(disabled(m.Components))
	if strings.Count(string(out), `"disabled":true`) != 2 {
		t.Errorf("not all buttons disabled: %s", out)
	}
}

func TestIntents(t *testing.T) {
	if got, want := (Config{}).Intents(), discordgo.IntentsGuildMessages|discordgo.IntentsDirectMessages; got != want {
		t.Errorf("default intents = %d, want %d", got, want)
	}
	if got := (Config{MessageContent: true}).Intents(); got&discordgo.IntentMessageContent == 0 {
		t.Error("message content intent not requested when configured")
	}
}
