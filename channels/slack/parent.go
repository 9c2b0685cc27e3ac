package slack

import (
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// summaryLines is how many recent messages the parent message shows.
const summaryLines = 8

// parentMessage renders the agents' parent message of a conversation:
// who, where, stage, trigger, status, recent messages, and the buttons
// that fit the state. It returns the notification text and the blocks.
func parentMessage(v bot.ConversationView) (string, []slackapi.Block) {
	conv := v.Conversation
	customer := customerLabel(v)
	trigger := v.Contact.EscalationTrigger
	for _, t := range v.Transitions {
		if t.To == bot.StateWaiting && trigger == "" {
			trigger = t.Reason
		}
	}
	stage := string(v.Customer.Stage)
	status := statusLine(v)

	fallback := "Escalation from " + escape(string(conv.Channel)) + ": " + escape(customer) + " (" + escape(stage) + ", " + escape(triggerLabel(trigger)) + ") · " + status
	mk := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
	}
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(mk(truncate("*"+escape(customer)+"* needs a person · "+status, 3000)), nil, nil),
		slackapi.NewSectionBlock(nil, []*slackapi.TextBlockObject{
			mk("*Customer*\n" + truncate(escape(customer)+"\n`"+escape(string(conv.Channel)+" "+conv.UserID)+"`", 1900)),
			mk("*Channel*\n" + escape(string(conv.Channel))),
			mk("*Journey stage*\n" + escape(stage)),
			mk("*Trigger*\n" + escape(triggerLabel(trigger))),
		}, nil),
	}
	var lines []string
	msgs := v.Messages
	if len(msgs) > summaryLines {
		msgs = msgs[len(msgs)-summaryLines:]
	}
	for _, m := range msgs {
		lines = append(lines, transcriptLine(m, 300))
	}
	if len(lines) > 0 {
		blocks = append(blocks, slackapi.NewSectionBlock(mk(truncate("*Recent messages*\n"+strings.Join(lines, "\n"), 3000)), nil, nil))
	}
	var buttons []slackapi.BlockElement
	if conv.State == bot.StateWaiting {
		buttons = append(buttons, slackapi.NewButtonBlockElement(actionClaim, conv.ID,
			slackapi.NewTextBlockObject(slackapi.PlainTextType, "Claim", false, false)).WithStyle(slackapi.StylePrimary))
	}
	if conv.State == bot.StateWaiting || conv.State == bot.StateAgent {
		buttons = append(buttons, slackapi.NewButtonBlockElement(actionResolve, conv.ID,
			slackapi.NewTextBlockObject(slackapi.PlainTextType, "Resolve", false, false)).WithStyle(slackapi.StyleDanger))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slackapi.NewActionBlock(blockAgent, buttons...))
	}
	blocks = append(blocks, slackapi.NewContextBlock("", mk(
		"Only the agent who claimed this conversation can answer the customer, by starting a thread message with `reply:` (✅). Everything else in the thread is a private note (📝).")))
	return fallback, blocks
}

// customerLabel names the customer for agents: profile name or email, else
// their channel identity.
func customerLabel(v bot.ConversationView) string {
	p := v.Customer.Profile
	switch {
	case p.Name != "" && p.Email != "":
		return p.Name + " <" + p.Email + ">"
	case p.Name != "":
		return p.Name
	case p.Email != "":
		return p.Email
	}
	return "Customer " + v.Conversation.UserID
}

// statusLine says who holds the conversation now.
func statusLine(v bot.ConversationView) string {
	switch v.Conversation.State {
	case bot.StateWaiting:
		return ":hourglass_flowing_sand: waiting for an agent"
	case bot.StateAgent:
		return ":raising_hand: claimed by " + who(v.Conversation.AgentID)
	case bot.StateResolved:
		by := ""
		for _, t := range v.Transitions {
			if t.To == bot.StateResolved {
				by = strings.TrimPrefix(t.By, "agent:")
			}
		}
		return ":white_check_mark: resolved by " + who(by)
	}
	return ":robot_face: back with the bot"
}

// triggerLabel explains an escalation trigger in words.
func triggerLabel(t string) string {
	switch t {
	case "":
		return "unknown"
	case "frustration":
		return "customer sounds frustrated"
	case "customer_request":
		return "customer asked for a person"
	case "repeated_misses":
		return "the bot could not answer"
	case "repeated_question":
		return "the bot's answer did not help"
	case "topic_needs_human":
		return "topic needs a person"
	}
	return strings.ReplaceAll(t, "_", " ")
}

// transcriptLine renders one message for the agents' thread.
func transcriptLine(m bot.Message, max int) string {
	text := Mrkdwn(truncate(m.Text, max))
	switch m.Role {
	case bot.RoleCustomer:
		// A customer's markdown link stays text: agents see the real URL
		// (Slack links it), never a label chosen by a stranger.
		return "*Customer:* " + escape(truncate(m.Text, max))
	case bot.RoleBot:
		return "_Bot:_ " + text
	case bot.RoleAgent:
		return "*Agent " + escape(m.Author) + ":* " + text
	case bot.RoleNote:
		return ":memo: _Note by " + escape(m.Author) + ":_ " + text
	}
	return "_" + text + "_"
}
