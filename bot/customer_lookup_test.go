package bot_test

import (
	"context"
	"slices"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// mustVerified makes a customer who wrote with a verified email, indexed
// as the journey worker does.
func mustVerified(t *testing.T, h *dbHarness, ch bot.Channel, user, email string) string {
	t.Helper()
	rc := h.MustSend(t, bot.Inbound{Channel: ch, UserID: user, Text: "who are you", Profile: &bot.Profile{Email: email, Name: user, Verified: true}})
	c, _, err := h.engine.LinkVerified(context.Background(), rc.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func TestCustomerByVerifiedEmail(t *testing.T) {
	ctx := context.Background()
	h := newDBHarness(t)
	jo := mustVerified(t, h, bot.ChannelWeb, "u:1", "Jo@Example.com")
	typed := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:2", Text: "who are you", Profile: &bot.Profile{Email: "typed@example.com"}}).CustomerID
	gone := mustVerified(t, h, bot.ChannelWeb, "u:3", "gone@example.com")
	if _, err := h.engine.Forget(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.engine.LinkVerified(ctx, typed); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, email, want, code string
	}{
		{name: "verified email is found whatever its case", email: " jo@EXAMPLE.com ", want: jo},
		{name: "typed email is not found", email: "typed@example.com", code: bot.ECodeNotFound},
		{name: "unknown email is not found", email: "nobody@example.com", code: bot.ECodeNotFound},
		{name: "forgotten customer is not found", email: "gone@example.com", code: bot.ECodeNotFound},
		{name: "empty email is invalid", email: " ", code: bot.ECodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := h.engine.CustomerByVerifiedEmail(ctx, tt.email)
			if tt.code != "" {
				if bot.ErrorCode(err) != tt.code {
					t.Fatalf("err %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil || c.ID != tt.want {
				t.Fatalf("got %s, %v; want %s", c.ID, err, tt.want)
			}
		})
	}
	t.Run("merged customer is found as the survivor", func(t *testing.T) {
		other := mustVerified(t, h, bot.ChannelSlack, "T1:U1", "jo2@example.com")
		merged, err := h.engine.Link(ctx, jo, other, "test")
		if err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"jo@example.com", "jo2@example.com"} {
			if c, err := h.engine.CustomerByVerifiedEmail(ctx, email); err != nil || c.ID != merged.ID {
				t.Fatalf("%s: %s, %v; want %s", email, c.ID, err, merged.ID)
			}
		}
	})
}

func TestFindCustomers(t *testing.T) {
	ctx := context.Background()
	h := newDBHarness(t)
	jo := mustVerified(t, h, bot.ChannelWeb, "u:1", "jo@example.com")
	typed := h.MustSend(t, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:2", Text: "who are you", Profile: &bot.Profile{Email: "JO@example.com"}}).CustomerID
	h.clock.Add(1)
	x := h.MustSay(t, "v:3", "who are you").CustomerID
	y := h.MustSay(t, "v:4", "who are you").CustomerID
	if _, err := h.engine.Link(ctx, x, y, "test"); err != nil {
		t.Fatal(err)
	}
	survivor := x
	if y < x {
		survivor = y
	}
	tests := []struct {
		name  string
		query string
		want  []string
		code  string
	}{
		{name: "id finds the customer", query: jo, want: []string{jo}},
		{name: "merged id finds the survivor", query: x, want: []string{survivor}},
		{name: "email finds verified and typed, verified first", query: "Jo@Example.com", want: []string{jo, typed}},
		{name: "unknown id finds nobody", query: "nope", want: nil},
		{name: "empty query is invalid", query: "  ", code: bot.ECodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.engine.FindCustomers(ctx, tt.query, 0)
			if tt.code != "" {
				if bot.ErrorCode(err) != tt.code {
					t.Fatalf("err %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("found %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestRecordReferral(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		stage     bot.Stage
		byMerged  bool
		moved     bool
		wantStage bot.Stage
	}{
		{name: "loyal customer becomes an advocate", stage: bot.StageLoyalty, moved: true, wantStage: bot.StageAdvocacy},
		{name: "loyal customer known by a merged id becomes an advocate", stage: bot.StageLoyalty, byMerged: true, moved: true, wantStage: bot.StageAdvocacy},
		{name: "prospect stays where they are", stage: bot.StageAwareness, wantStage: bot.StageAwareness},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newDBHarness(t)
			id := h.MustSay(t, "v:1", "who are you").CustomerID
			if tt.stage == bot.StageLoyalty {
				if _, err := h.engine.RecordOrder(ctx, id, bot.StageLoyalty, "third order", "A1***", h.clock.Now()); err != nil {
					t.Fatal(err)
				}
			}
			ask := id
			if tt.byMerged {
				h.clock.Add(1)
				newer := h.MustSay(t, "v:2", "who are you").CustomerID
				if _, err := h.engine.Link(ctx, id, newer, "test"); err != nil {
					t.Fatal(err)
				}
				ask = newer
			}
			moved, err := h.engine.RecordReferral(ctx, ask, "order R-77")
			if err != nil || moved != tt.moved {
				t.Fatalf("moved %v, %v; want %v", moved, err, tt.moved)
			}
			rec, err := h.engine.CustomerByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			c := rec.Customer
			if c.Stage != tt.wantStage {
				t.Fatalf("stage %s, want %s", c.Stage, tt.wantStage)
			}
			if tt.moved {
				last := c.StageHistory[len(c.StageHistory)-1]
				if last.From != bot.StageLoyalty || last.Reason != "referral" || last.Evidence != "order R-77" {
					t.Fatalf("stage change %+v", last)
				}
			}
		})
	}
	t.Run("unknown customer is not found", func(t *testing.T) {
		h := newDBHarness(t)
		if _, err := h.engine.RecordReferral(ctx, "nope", "x"); bot.ErrorCode(err) != bot.ECodeNotFound {
			t.Fatalf("err %v", err)
		}
	})
}
