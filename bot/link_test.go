package bot_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
)

func TestLinkVerified_WebAndSlackBecomeOneCustomer(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.engine.Register(bot.ChannelSlack, &bottest.Sender{})
	jane := &bot.Profile{ExternalID: "42", Email: "Jane@Example.com", Name: "Jane", Verified: true}
	web := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "u:42", Text: "how long is shipping?", Profile: jane})
	if _, _, err := h.engine.LinkVerified(ctx, web.CustomerID); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(time.Hour)
	slackProfile := &bot.Profile{Email: "jane@example.com", Name: "Jane D", Verified: true}
	slack := h.MustSend(t, bot.Inbound{Channel: bot.ChannelSlack, UserID: "T1:U9", Text: "returns", Profile: slackProfile})
	if slack.CustomerID == web.CustomerID {
		t.Fatal("precondition: separate customers before linking")
	}
	if _, err := h.engine.RecordOrder(ctx, slack.CustomerID, bot.StagePostPurchase, "order delivered", "A1***", h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	merged, ok, err := h.engine.LinkVerified(ctx, slack.CustomerID)
	if err != nil || !ok {
		t.Fatalf("linked %v, %v", ok, err)
	}
	// The older record (the web visitor) survives and gets everything.
	if merged.ID != web.CustomerID || len(merged.Identities) != 2 {
		t.Fatalf("merged %+v", merged)
	}
	if merged.Stage != bot.StagePostPurchase || merged.Profile.Name != "Jane" {
		t.Fatalf("stage %s profile %+v", merged.Stage, merged.Profile)
	}
	var tos []bot.Stage
	for _, ch := range merged.StageHistory {
		tos = append(tos, ch.To)
	}
	if !slices.Equal(tos, []bot.Stage{bot.StageConsideration, bot.StagePostPurchase, bot.StagePostPurchase}) {
		t.Fatalf("history %v", tos)
	}
	if last := merged.StageHistory[2]; !strings.HasPrefix(last.Reason, "linked with "+slack.CustomerID) || last.From != bot.StageConsideration {
		t.Fatalf("link stage change %+v", last)
	}
	rec, err := h.engine.CustomerByID(ctx, slack.CustomerID)
	if err != nil || rec.Customer.ID != web.CustomerID || rec.MergedFrom != slack.CustomerID || len(rec.Contacts) != 2 {
		t.Fatalf("record %+v %v", rec, err)
	}
	for _, c := range rec.Contacts {
		if c.CustomerID != web.CustomerID {
			t.Fatalf("contact %s still on %s", c.ID, c.CustomerID)
		}
	}
	// The Slack identity now writes as the merged customer.
	again := h.MustSend(t, bot.Inbound{Channel: bot.ChannelSlack, UserID: "T1:U9", Text: "who are you"})
	if again.CustomerID != web.CustomerID {
		t.Fatalf("slack message went to %s", again.CustomerID)
	}
	v, err := h.engine.View(ctx, slack.ConversationID)
	if err != nil || v.Conversation.CustomerID != web.CustomerID {
		t.Fatalf("conversation customer %s %v", v.Conversation.CustomerID, err)
	}
	// Linking again is a no-op.
	if _, ok, err := h.engine.LinkVerified(ctx, slack.CustomerID); ok || err != nil {
		t.Fatalf("second link %v %v", ok, err)
	}
}

func TestLinkVerified_UnverifiedEmailNeverLinks(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	a := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "u:1", Text: "who are you", Profile: &bot.Profile{Email: "jo@example.com", Verified: true}})
	if _, _, err := h.engine.LinkVerified(ctx, a.CustomerID); err != nil {
		t.Fatal(err)
	}
	b := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:typed", Text: "who are you", Profile: &bot.Profile{Email: "jo@example.com"}})
	if _, ok, err := h.engine.LinkVerified(ctx, b.CustomerID); ok || err != nil {
		t.Fatalf("linked an unverified email: %v %v", ok, err)
	}
}

func TestLink_ByAgent(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	a := h.MustSay(t, "v:a", "who are you")
	h.clock.Add(time.Minute)
	b := h.MustSay(t, "v:b", "how long is shipping?")
	c, err := h.engine.Link(ctx, b.CustomerID, a.CustomerID, "agent knows them")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != a.CustomerID || c.Stage != bot.StageConsideration || len(c.Identities) != 2 {
		t.Fatalf("merged %+v", c)
	}
	t.Run("same customer is refused", func(t *testing.T) {
		_, err := h.engine.Link(ctx, a.CustomerID, b.CustomerID, "")
		if bot.ErrorCode(err) != bot.ECodeInvalid {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("unknown customer is not found", func(t *testing.T) {
		_, err := h.engine.Link(ctx, a.CustomerID, "nobody", "")
		if bot.ErrorCode(err) != bot.ECodeNotFound {
			t.Fatalf("err %v", err)
		}
	})
}

func TestForget_ErasesPersonalDataKeepsCounts(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	prof := &bot.Profile{ExternalID: "7", Email: "sam@example.com", Name: "Sam", Verified: true}
	rc := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "u:7", ClientID: "m1", Text: "how long is shipping?", Profile: prof})
	if _, _, err := h.engine.LinkVerified(ctx, rc.CustomerID); err != nil {
		t.Fatal(err)
	}
	h.MustSay(t, "u:7", "do you sell unicorns")
	if err := h.store.Update(ctx, func(tx bot.Tx) error {
		v, err := bot.GetConversation(tx, rc.ConversationID)
		if err != nil {
			return err
		}
		c, err := bot.GetContact(tx, v.ContactID)
		if err != nil {
			return err
		}
		c.OrderNumber, c.Ratings = "A1001", map[string]int{"csat": 4}
		return bot.PutContact(tx, &c)
	}); err != nil {
		t.Fatal(err)
	}
	before := h.contact(t, rc.ConversationID)

	res, err := h.engine.Forget(ctx, rc.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Identities != 1 || res.Conversations != 1 || res.Contacts != 1 || res.Messages < 4 {
		t.Fatalf("result %+v", res)
	}
	rec, err := h.engine.CustomerByID(ctx, rc.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Customer.Profile != (bot.Profile{}) || len(rec.Customer.Identities) != 0 || rec.ForgottenAt.IsZero() {
		t.Fatalf("customer %+v", rec)
	}
	if rec.Customer.Stage != bot.StageConsideration || len(rec.Customer.StageHistory) != 1 || rec.Customer.StageHistory[0].Evidence != "" {
		t.Fatalf("stage kept anonymously? %+v", rec.Customer)
	}
	v, err := h.engine.View(ctx, rc.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range v.Messages {
		if m.Text != bot.RedactedText || m.ClientID != "" || m.Data != nil {
			t.Fatalf("message not redacted: %+v", m)
		}
	}
	if v.Conversation.UserID != bot.ForgottenUser || v.Conversation.Address != nil {
		t.Fatalf("conversation %+v", v.Conversation)
	}
	// Counts are kept: the contact with its outcome, intents and rating.
	after := v.Contact
	if after.OrderNumber != "" || after.Outcome != before.Outcome || after.Ratings["csat"] != 4 || len(after.Turns) != len(before.Turns) || after.StageAtStart != before.StageAtStart {
		t.Fatalf("contact before %+v after %+v", before, after)
	}
	if err := h.store.View(ctx, func(tx bot.Tx) error {
		if _, ok, err := bot.CustomerByIdentity(tx, bot.Identity{Channel: bot.ChannelWeb, ID: "u:7"}); ok || err != nil {
			t.Errorf("identity still indexed (%v)", err)
		}
		if _, ok, err := bot.MessageByClientID(tx, rc.ConversationID, "m1"); ok || err != nil {
			t.Errorf("client id still indexed (%v)", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The same visitor writing again is a stranger.
	again := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "u:7", Text: "who are you", Profile: prof})
	if again.CustomerID == rc.CustomerID || again.ConversationID == rc.ConversationID {
		t.Fatal("a forgotten customer was recognised")
	}
	// And a new verified login with the same email does not link back.
	if _, ok, err := h.engine.LinkVerified(ctx, again.CustomerID); ok || err != nil {
		t.Fatalf("linked to a forgotten customer: %v %v", ok, err)
	}
}
