package slack_test

import (
	"context"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// customerOf returns the customer of a Slack user's DM conversation.
func (e *env) customerOf(user string) (bot.Customer, bool) {
	e.t.Helper()
	conv, _, err := e.engine.History(e.ctx, bot.ChannelSlack, "T1:"+user, "D1", 1)
	if err != nil {
		e.t.Fatal(err)
	}
	if conv.ID == "" {
		return bot.Customer{}, false
	}
	c, err := e.engine.Customer(e.ctx, conv.CustomerID)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, true
}

// runJourney runs the journey worker (linking by verified email) until the
// test ends.
func (e *env) runJourney() {
	w := bot.NewJourneyWorker(e.engine, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

func TestSlackCustomer_WithTheWebCustomersVerifiedEmailIsLinked(t *testing.T) {
	e := newEnv(t, nil)
	e.runJourney()
	// What the web channel passes for a visitor with a signed identity
	// token (channels/web.VerifyIdentity).
	web, err := e.engine.Handle(e.ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "u:42", Text: "how long is shipping?",
		Profile: &bot.Profile{ExternalID: "42", Email: "Jane@Example.com", Name: "Jane", Verified: true}})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("the web customer's email indexed", func() bool {
		c, err := e.engine.CustomerByVerifiedEmail(e.ctx, "jane@example.com")
		return err == nil && c.ID == web.CustomerID
	})

	e.fake.SetUser("UJ", "Jane D")
	e.fake.SetUserEmail("UJ", "jane@example.com")
	e.send("Ev1", dm("UJ", "how long is shipping?", "1699999999.000100"))
	e.waitPost("the answer", "D1", "1699999999.000100", "Delivery takes 2-3 days")
	var merged bot.Customer
	e.waitFor("the Slack customer linked to the web customer", func() bool {
		c, ok := e.customerOf("UJ")
		merged = c
		return ok && c.ID == web.CustomerID
	})
	if len(merged.Identities) != 2 || merged.Identities[1] != (bot.Identity{Channel: bot.ChannelSlack, ID: "T1:UJ"}) {
		t.Fatalf("identities %+v", merged.Identities)
	}
	// The web profile, which the shop vouched for with its user id, wins.
	if p := merged.Profile; p.ExternalID != "42" || p.Name != "Jane" || !p.Verified {
		t.Fatalf("profile %+v", p)
	}

	// Later Slack messages keep it: a verified customer's profile is not
	// replaced by Slack's.
	e.send("Ev2", dm("UJ", "checkout fails", "1699999999.000200"))
	e.waitPost("the second answer", "D1", "1699999999.000200", "Try another card")
	c, _ := e.customerOf("UJ")
	if c.ID != web.CustomerID || c.Profile.ExternalID != "42" || c.Profile.Name != "Jane" {
		t.Fatalf("after a second Slack message: %s %+v", c.ID, c.Profile)
	}
}

func TestSlackCustomer_Profile(t *testing.T) {
	tests := []struct {
		name  string
		email string
		fail  bool
		want  bot.Profile
	}{
		{name: "member with an email is verified", email: "carol@example.com",
			want: bot.Profile{Name: "Carol", Email: "carol@example.com", Verified: true}},
		{name: "member without an email is named, unverified", want: bot.Profile{Name: "Carol"}},
		{name: "users.info failing leaves the customer anonymous", email: "carol@example.com", fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.email != "" {
				e.fake.SetUserEmail("UC1", tt.email)
			}
			e.fake.FailUsersInfo(tt.fail)
			e.send("Ev1", dm("UC1", "how long is shipping?", "1699999999.000100"))
			// Answered whether or not Slack could say who the customer is.
			e.waitPost("the answer", "D1", "1699999999.000100", "Delivery takes 2-3 days")
			c, ok := e.customerOf("UC1")
			if !ok {
				t.Fatal("no conversation")
			}
			if c.Profile != tt.want {
				t.Fatalf("profile %+v, want %+v", c.Profile, tt.want)
			}
			// users.info is asked once per user, answered or not: the
			// second message is answered from the cache.
			e.send("Ev2", dm("UC1", "checkout fails", "1699999999.000200"))
			e.waitPost("the second answer", "D1", "1699999999.000200", "Try another card")
			if n := e.fake.Calls("users.info"); n != 1 {
				t.Fatalf("users.info called %d times, want 1", n)
			}
		})
	}
}
