package slack

import (
	"strings"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestTranscriptLine(t *testing.T) {
	tests := []struct {
		name string
		msg  bot.Message
		want string
	}{
		{"customer links stay text", bot.Message{Role: bot.RoleCustomer, Text: "see [your bank](https://evil.example) <!channel>"},
			"*Customer:* see [your bank](https://evil.example) &lt;!channel&gt;"},
		{"bot links are links", bot.Message{Role: bot.RoleBot, Text: "see [FAQ](https://shop.example/faq)"},
			"_Bot:_ see <https://shop.example/faq|FAQ>"},
		{"agents are named", bot.Message{Role: bot.RoleAgent, Author: "Alice", Text: "hi"}, "*Agent Alice:* hi"},
		{"notes are marked", bot.Message{Role: bot.RoleNote, Author: "Bob", Text: "vip"}, ":memo: _Note by Bob:_ vip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transcriptLine(tt.msg, 300); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParentMessage_ShowsStateAndButtons(t *testing.T) {
	v := bot.ConversationView{
		Conversation: bot.Conversation{ID: "c1", Channel: bot.ChannelWeb, UserID: "v:1", State: bot.StateWaiting},
		Customer:     bot.Customer{Stage: bot.StagePurchase, Profile: bot.Profile{Name: "Dana <script>"}},
		Contact:      bot.Contact{EscalationTrigger: "frustration"},
	}
	text, blocks := parentMessage(v)
	if !strings.Contains(text, "Dana &lt;script&gt;") || !strings.Contains(text, "purchase") || !strings.Contains(text, "frustrated") {
		t.Errorf("fallback text = %q", text)
	}
	if n := len(blocks); n < 3 {
		t.Fatalf("blocks = %d", n)
	}
	v.Conversation.State, v.Conversation.AgentID = bot.StateAgent, "slack:U1"
	text, _ = parentMessage(v)
	if !strings.Contains(text, "claimed by <@U1>") {
		t.Errorf("claimed text = %q", text)
	}
}
