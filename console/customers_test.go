package console_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/console"
)

// MustTokenClient returns a bearer-token API client for an agent, as a
// shop's backend would use.
func (e *env) MustTokenClient(t *testing.T, id string) *client {
	t.Helper()
	tok, err := e.console.Accounts().NewToken(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	c := e.newClient(t)
	c.token = tok
	return c
}

// MustCustomer makes a web customer who wrote once, with profile p (nil:
// anonymous), indexed by verified email as the journey worker does, and
// returns the receipt.
func (e *env) MustCustomer(t *testing.T, user string, p *bot.Profile) bot.Receipt {
	t.Helper()
	ctx := context.Background()
	rc, err := e.engine.Handle(ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: user, Text: "hello", Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.engine.LinkVerified(ctx, rc.CustomerID); err != nil {
		t.Fatal(err)
	}
	return rc
}

func (e *env) mustCustomer(t *testing.T, id string) bot.Customer {
	t.Helper()
	c, err := e.engine.Customer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type referralReply struct {
	Moved    bool                 `json:"moved"`
	Customer console.CustomerJSON `json:"customer"`
}

func TestReferralAPI(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "shop", "agent")
	loyal := e.MustCustomer(t, "u:1", &bot.Profile{ExternalID: "1", Email: "Ann@Example.com", Name: "Ann", Verified: true}).CustomerID
	loyal2 := e.MustCustomer(t, "u:2", &bot.Profile{ExternalID: "2", Email: "bo@example.com", Verified: true}).CustomerID
	prospect := e.MustCustomer(t, "u:3", &bot.Profile{ExternalID: "3", Email: "cy@example.com", Verified: true}).CustomerID
	e.MustCustomer(t, "v:typed", &bot.Profile{Email: "typed@example.com"})
	for _, id := range []string{loyal, loyal2} {
		if _, err := e.engine.RecordOrder(ctx, id, bot.StageLoyalty, "third order", "A1***", e.engine.Now()); err != nil {
			t.Fatal(err)
		}
	}
	shop := e.MustTokenClient(t, "shop")

	moves := []struct {
		name      string
		body      map[string]string
		customer  string
		moved     bool
		wantStage bot.Stage
	}{
		{"loyal customer by verified email becomes an advocate", map[string]string{"email": "ann@example.com", "referred": "order R-1"}, loyal, true, bot.StageAdvocacy},
		{"loyal customer by id becomes an advocate", map[string]string{"customer_id": loyal2, "referred": "code  FRIEND\n42"}, loyal2, true, bot.StageAdvocacy},
		{"prospect is recorded as not moved", map[string]string{"email": "cy@example.com", "referred": "order R-3"}, prospect, false, bot.StageAwareness},
	}
	for _, tt := range moves {
		t.Run(tt.name, func(t *testing.T) {
			status, data := shop.Do("POST", "/api/customers/referrals", tt.body)
			if status != 200 {
				t.Fatalf("status %d %s", status, data)
			}
			var got referralReply
			mustDecode(t, data, &got)
			if got.Moved != tt.moved || got.Customer.ID != tt.customer || got.Customer.Stage != tt.wantStage {
				t.Fatalf("reply %+v, want moved %v, customer %s at %s", got, tt.moved, tt.customer, tt.wantStage)
			}
			c := e.mustCustomer(t, tt.customer)
			if c.Stage != tt.wantStage {
				t.Fatalf("stored stage %s", c.Stage)
			}
			if tt.moved {
				last := c.StageHistory[len(c.StageHistory)-1]
				want := strings.Join(strings.Fields(tt.body["referred"]), " ")
				if last.From != bot.StageLoyalty || last.Reason != "referral" || last.Evidence != want {
					t.Fatalf("stage change %+v, want reason referral, evidence %q", last, want)
				}
			}
		})
	}

	refusals := []struct {
		name   string
		client *client
		body   map[string]string
		status int
		code   string
	}{
		{"typed email is not found", shop, map[string]string{"email": "typed@example.com", "referred": "R-9"}, 404, "not_found"},
		{"unknown email is not found", shop, map[string]string{"email": "nobody@example.com", "referred": "R-9"}, 404, "not_found"},
		{"unknown id is not found", shop, map[string]string{"customer_id": "nope", "referred": "R-9"}, 404, "not_found"},
		{"neither email nor id is invalid", shop, map[string]string{"referred": "R-9"}, 400, "invalid"},
		{"both email and id is invalid", shop, map[string]string{"email": "ann@example.com", "customer_id": loyal, "referred": "R-9"}, 400, "invalid"},
		{"no evidence is invalid", shop, map[string]string{"email": "ann@example.com", "referred": " "}, 400, "invalid"},
		{"long evidence is too large", shop, map[string]string{"email": "ann@example.com", "referred": strings.Repeat("x", 201)}, 413, "too_large"},
		{"no credentials is unauthorized", e.newClient(t), map[string]string{"email": "ann@example.com", "referred": "R-9"}, 401, "unauthorized"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			before := e.mustCustomer(t, loyal)
			status, data := tt.client.Do("POST", "/api/customers/referrals", tt.body)
			if status != tt.status || errorCode(t, data) != tt.code {
				t.Fatalf("status %d %s, want %d %s", status, data, tt.status, tt.code)
			}
			if after := e.mustCustomer(t, loyal); len(after.StageHistory) != len(before.StageHistory) {
				t.Fatalf("a refused referral changed the journey: %+v", after.StageHistory)
			}
		})
	}
	t.Run("session without CSRF token is forbidden, with it accepted", func(t *testing.T) {
		s := e.MustLogin(t, "shop")
		body := map[string]string{"customer_id": prospect, "referred": "R-10"}
		if status, data := s.Do("POST", "/api/customers/referrals", body, console.CSRFHeader, ""); status != 403 {
			t.Fatalf("without CSRF: %d %s", status, data)
		}
		if status, data := s.Do("POST", "/api/customers/referrals", body); status != 200 {
			t.Fatalf("with CSRF: %d %s", status, data)
		}
	})
}

func TestCustomerLookupAPI(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	jo := e.MustCustomer(t, "u:1", &bot.Profile{ExternalID: "1", Email: "jo@example.com", Name: "Jo", Verified: true}).CustomerID
	typed := e.MustCustomer(t, "v:2", &bot.Profile{Email: "JO@example.com"}).CustomerID
	c := e.MustLogin(t, "alice")
	tests := []struct {
		name   string
		path   string
		status int
		want   []string
	}{
		{"search by email finds verified and typed", "/api/customers?q=jo%40example.com", 200, []string{jo, typed}},
		{"search by id finds the customer", "/api/customers?q=" + jo, 200, []string{jo}},
		{"search for nobody finds nothing", "/api/customers?q=nobody%40example.com", 200, nil},
		{"empty search is invalid", "/api/customers?q=", 400, nil},
		{"get by id", "/api/customers/" + jo, 200, []string{jo}},
		{"get unknown id is not found", "/api/customers/nope", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, data := c.Do("GET", tt.path, nil)
			if status != tt.status {
				t.Fatalf("status %d %s", status, data)
			}
			if status != 200 {
				errorCode(t, data)
				return
			}
			var got struct {
				Customers []console.CustomerJSON `json:"customers"`
				Customer  *console.CustomerJSON  `json:"customer"`
			}
			mustDecode(t, data, &got)
			if got.Customer != nil {
				got.Customers = append(got.Customers, *got.Customer)
			}
			var ids []string
			for _, cj := range got.Customers {
				ids = append(ids, cj.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("found %v, want %v", ids, tt.want)
			}
		})
	}
}

// identityKeys lists identities as sorted "channel/id" keys.
func identityKeys(ids []bot.Identity) []string {
	var out []string
	for _, i := range ids {
		out = append(out, i.Key())
	}
	slices.Sort(out)
	return out
}

// customerOf returns the customer of a conversation.
func (e *env) customerOf(t *testing.T, convID string) string {
	t.Helper()
	v, err := e.engine.View(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	return v.Customer.ID
}

func TestLinkAPI(t *testing.T) {
	ctx := context.Background()
	// Customers: waiting in the queue, held by bob, and a Slack customer
	// who never asked for a person; the one to link is always the Slack
	// customer, whose record is newer.
	type fixture struct {
		e                          *env
		waiting, held, slack, conv string
	}
	setup := func(t *testing.T) fixture {
		e := newEnv(t, console.Config{})
		e.engine.Register(bot.ChannelSlack, e.sender)
		e.MustAgent(t, "alice", "agent")
		bob := e.MustAgent(t, "bob", "agent")
		e.MustAgent(t, "root", "admin")
		f := fixture{e: e}
		f.conv = e.MustEscalate(t, "v:waiting")
		f.waiting = e.customerOf(t, f.conv)
		held := e.MustEscalate(t, "v:held")
		if _, err := e.engine.Claim(ctx, held, bob); err != nil {
			t.Fatal(err)
		}
		f.held = e.customerOf(t, held)
		rc, err := e.engine.Handle(ctx, bot.Inbound{Channel: bot.ChannelSlack, UserID: "T1:U1", Text: "hello", Profile: &bot.Profile{Name: "Sam"}})
		if err != nil {
			t.Fatal(err)
		}
		f.slack = rc.CustomerID
		return f
	}
	t.Run("agent links the customer of a waiting conversation", func(t *testing.T) {
		f := setup(t)
		status, data := f.e.MustLogin(t, "alice").Do("POST", "/api/customers/"+f.waiting+"/link", map[string]string{"customer_id": f.slack})
		if status != 200 {
			t.Fatalf("status %d %s", status, data)
		}
		var got struct {
			Customer console.CustomerJSON `json:"customer"`
		}
		mustDecode(t, data, &got)
		want := []string{"slack/T1:U1", "web/v:waiting"}
		if id := got.Customer.ID; (id != f.waiting && id != f.slack) || !slices.Equal(identityKeys(got.Customer.Identities), want) || got.Customer.Name != "Sam" {
			t.Fatalf("merged %+v, want one of the two with %v", got.Customer, want)
		}
		// The conversation view shows both identities and both contacts;
		// both ids lead to the same customer.
		status, data = f.e.MustLogin(t, "alice").Do("GET", "/api/conversations/"+f.conv, nil)
		var view console.ViewJSON
		mustDecode(t, data, &view)
		if status != 200 || !slices.Equal(identityKeys(view.Customer.Identities), want) || len(view.Contacts) != 2 {
			t.Fatalf("view: %d identities %v, %d contacts", status, view.Customer.Identities, len(view.Contacts))
		}
		for _, id := range []string{f.waiting, f.slack} {
			if c := f.e.mustCustomer(t, id); c.ID != got.Customer.ID {
				t.Fatalf("%s resolves to %s, want %s", id, c.ID, got.Customer.ID)
			}
		}
	})
	t.Run("admin links any two customers", func(t *testing.T) {
		f := setup(t)
		status, data := f.e.MustLogin(t, "root").Do("POST", "/api/customers/"+f.slack+"/link", map[string]string{"customer_id": f.held})
		if status != 200 {
			t.Fatalf("status %d %s", status, data)
		}
		a, b := f.e.mustCustomer(t, f.slack), f.e.mustCustomer(t, f.held)
		if a.ID != b.ID || !slices.Equal(identityKeys(a.Identities), []string{"slack/T1:U1", "web/v:held"}) {
			t.Fatalf("after the link: %+v and %+v, want one customer", a, b)
		}
	})
	refusals := []struct {
		name   string
		agent  string
		path   func(f fixture) string
		other  func(f fixture) string
		status int
		code   string
	}{
		{"agent linking someone else's customer is forbidden", "alice", func(f fixture) string { return f.held }, func(f fixture) string { return f.slack }, 403, "forbidden"},
		{"agent linking a customer not in the queue is forbidden", "alice", func(f fixture) string { return f.slack }, func(f fixture) string { return f.waiting }, 403, "forbidden"},
		{"linking a customer with themselves is invalid", "root", func(f fixture) string { return f.waiting }, func(f fixture) string { return f.waiting }, 400, "invalid"},
		{"no other customer is invalid", "root", func(f fixture) string { return f.waiting }, func(f fixture) string { return " " }, 400, "invalid"},
		{"unknown other customer is not found", "root", func(f fixture) string { return f.waiting }, func(f fixture) string { return "nope" }, 404, "not_found"},
		{"unknown customer is not found", "root", func(f fixture) string { return "nope" }, func(f fixture) string { return f.waiting }, 404, "not_found"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			status, data := f.e.MustLogin(t, tt.agent).Do("POST", "/api/customers/"+tt.path(f)+"/link", map[string]string{"customer_id": tt.other(f)})
			if status != tt.status || errorCode(t, data) != tt.code {
				t.Fatalf("status %d %s, want %d %s", status, data, tt.status, tt.code)
			}
			for _, id := range []string{f.waiting, f.held, f.slack} {
				if c := f.e.mustCustomer(t, id); c.ID != id || len(c.Identities) != 1 {
					t.Fatalf("a refused link changed customer %s: %+v", id, c)
				}
			}
		})
	}
	t.Run("no credentials is unauthorized", func(t *testing.T) {
		f := setup(t)
		status, data := f.e.newClient(t).Do("POST", "/api/customers/"+f.waiting+"/link", map[string]string{"customer_id": f.slack})
		if status != 401 || errorCode(t, data) != "unauthorized" {
			t.Fatalf("status %d %s", status, data)
		}
	})
}

func TestAssignAPI(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*env, string) {
		e := newEnv(t, console.Config{})
		e.MustAgent(t, "alice", "agent")
		e.MustAgent(t, "bob", "agent")
		e.MustAgent(t, "root", "admin")
		return e, e.MustEscalate(t, "v:1")
	}
	t.Run("admin assigns a waiting conversation", func(t *testing.T) {
		e, id := setup(t)
		bob := e.MustLogin(t, "bob")
		ws, _, err := bob.DialWS(t, "")
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		e.sender.Reset()
		status, data := e.MustLogin(t, "root").Do("POST", "/api/conversations/"+id+"/assign", map[string]string{"agent_id": "Bob"})
		if status != 200 {
			t.Fatalf("status %d %s", status, data)
		}
		v, err := e.engine.View(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		last := v.Transitions[len(v.Transitions)-1]
		if v.Conversation.State != bot.StateAgent || v.Conversation.AgentID != "bob" || last.By != "agent:root" || last.Reason != "assigned to bob" {
			t.Fatalf("conversation %+v, last transition %+v", v.Conversation, last)
		}
		if !slices.Contains(e.sender.Texts(), "Bob has joined the conversation.") {
			t.Fatalf("customer was told %q", e.sender.Texts())
		}
		// Bob's console shows it as his, live.
		waitFrame(t, ws, func(f frame) bool {
			if f.Type != "queue" {
				return false
			}
			for _, it := range f.Queue.Items {
				if it.ConversationID == id && it.Agent != nil && it.Agent.ID == "bob" {
					return true
				}
			}
			return false
		})
		if status, data := bob.Do("POST", "/api/conversations/"+id+"/reply", map[string]string{"text": "Hi"}); status != 201 {
			t.Fatalf("bob's reply: %d %s", status, data)
		}
	})
	refusals := []struct {
		name   string
		agent  string
		to     string
		claim  bool
		status int
		code   string
	}{
		{"agent is forbidden", "alice", "bob", false, 403, "forbidden"},
		{"unknown agent is not found", "root", "nobody", false, 404, "not_found"},
		{"no agent is invalid", "root", " ", false, 400, "invalid"},
		{"held conversation is a conflict", "root", "bob", true, 409, "conflict"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			e, id := setup(t)
			if tt.claim {
				if _, err := e.engine.Claim(ctx, id, bot.Agent{ID: "alice", Name: "Alice", Role: "agent"}); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := e.engine.View(ctx, id)
			status, data := e.MustLogin(t, tt.agent).Do("POST", "/api/conversations/"+id+"/assign", map[string]string{"agent_id": tt.to})
			if status != tt.status || errorCode(t, data) != tt.code {
				t.Fatalf("status %d %s, want %d %s", status, data, tt.status, tt.code)
			}
			after, _ := e.engine.View(ctx, id)
			if after.Conversation.AgentID != before.Conversation.AgentID || len(after.Transitions) != len(before.Transitions) {
				t.Fatalf("a refused assign changed the conversation: %+v", after.Conversation)
			}
		})
	}
}
