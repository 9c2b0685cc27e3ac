package bot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestMaskOrderNumberAndEmail(t *testing.T) {
	cases := []struct{ in, want string }{
		{"A1234", "A1***4"}, {"100234", "10***4"}, {"A12", "***"}, {"", "***"}, {"A123", "A***3"},
	}
	for _, c := range cases {
		if got := bot.MaskOrderNumber(c.in); got != c.want {
			t.Errorf("MaskOrderNumber(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	emails := []struct{ in, want string }{
		{"jane@example.com", "j***@example.com"}, {"élodie@example.fr", "é***@example.fr"}, {"nobody", "***"}, {"@x.com", "***"},
	}
	for _, c := range emails {
		if got := bot.MaskEmail(c.in); got != c.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseOrderStatus(t *testing.T) {
	good := map[string]bot.OrderStatus{
		"shipped": bot.OrderShipped, "Out for delivery": bot.OrderOutForDelivery, "out-for-delivery": bot.OrderOutForDelivery,
		"DISPATCHED": bot.OrderShipped, "canceled": bot.OrderCancelled, "pending": bot.OrderPlaced,
	}
	for in, want := range good {
		if got, err := bot.ParseOrderStatus(in); err != nil || got != want {
			t.Errorf("ParseOrderStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "shiped", "lost"} {
		if _, err := bot.ParseOrderStatus(in); !errors.Is(err, bot.ErrUnknownOrderStatus) {
			t.Errorf("ParseOrderStatus(%q) err = %v, want ErrUnknownOrderStatus", in, err)
		}
	}
}

func TestOrderValidate(t *testing.T) {
	ok := bot.Order{Number: "A1001", Email: "jane@example.com", Status: bot.OrderShipped, TrackingURL: "https://track.example/x"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid order: %v", err)
	}
	cases := []struct {
		name string
		edit func(*bot.Order)
		want string
	}{
		{"no number", func(o *bot.Order) { o.Number = "" }, "missing order number"},
		{"bad number", func(o *bot.Order) { o.Number = "A 1/2" }, "bad order number"},
		{"no email", func(o *bot.Order) { o.Email = "" }, "missing email"},
		{"bad email", func(o *bot.Order) { o.Email = "jane.example.com" }, "bad email"},
		{"unknown status", func(o *bot.Order) { o.Status = "shiped" }, "unknown status"},
		{"script tracking link", func(o *bot.Order) { o.TrackingURL = "javascript:alert(1)" }, "bad tracking URL"},
		{"zero quantity", func(o *bot.Order) { o.Items = []bot.OrderItem{{Name: "Hat"}} }, "quantity 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := ok
			c.edit(&o)
			err := o.Validate()
			if !errors.Is(err, bot.ErrInvalidOrder) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want %q", err, c.want)
			}
		})
	}
}

func TestOrderOwnedBy(t *testing.T) {
	o := bot.Order{Email: "jane@example.com", Postcode: "CA12 5DJ"}
	cases := []struct {
		email, postcode string
		want            bool
	}{
		{"JANE@example.com ", "", true}, {"", "ca125dj", true}, {"", "CA12-5DJ", true},
		{"tom@example.com", "", false}, {"", "CA12 5DK", false}, {"", "", false},
	}
	for _, c := range cases {
		if got := o.OwnedBy(c.email, c.postcode); got != c.want {
			t.Errorf("OwnedBy(%q, %q) = %v, want %v", c.email, c.postcode, got, c.want)
		}
	}
	if (&bot.Order{Email: "a@b.co"}).OwnedBy("", "") {
		t.Error("an order without a postcode is owned by an empty postcode")
	}
}
