package intents

import (
	"slices"
	"testing"
)

func TestExtractEntitiesFindsAndNormalisesValues(t *testing.T) {
	tests := []struct {
		name                     string
		text                     string
		orders, emails, postcode []string
	}{
		{"hash code", "where is order #A1234?", []string{"A1234"}, nil, nil},
		{"lower-case code", "my order is a1234", []string{"A1234"}, nil, nil},
		{"prefixed code", "ORD-5512 hasn't arrived", []string{"ORD-5512"}, nil, nil},
		{"hash digits", "order #100234 please", []string{"100234"}, nil, nil},
		{"bare number after order", "order 100234 is late", []string{"100234"}, nil, nil},
		{"number after order number", "my order number is: 5512", []string{"5512"}, nil, nil},
		{"glued hash", "order#778899", []string{"778899"}, nil, nil},
		{"in parentheses", "(#AB12345), thanks", []string{"AB12345"}, nil, nil},
		{"amount is not an order", "I paid 1200 for it", nil, nil, nil},
		{"short code is not an order", "size B12 please", nil, nil, nil},
		{"repeated once", "#A1234 and again A1234", []string{"A1234"}, nil, nil},
		{"email", "write to Jane.Doe+shop@Example.co.uk.", nil, []string{"jane.doe+shop@example.co.uk"}, nil},
		{"email digits are not an order", "a12345@example.com", nil, []string{"a12345@example.com"}, nil},
		{"uk postcode", "deliver to SW1A 1AA please", nil, nil, []string{"SW1A 1AA"}},
		{"uk postcode lower no space", "my postcode is m11ae", nil, nil, []string{"M1 1AE"}},
		{"canadian postcode", "K1A 0B1", nil, nil, []string{"K1A 0B1"}},
		{"us zip after state", "Beverly Hills, CA 90210", nil, nil, []string{"90210"}},
		{"us zip+4", "zip 10001-1234", nil, nil, []string{"10001-1234"}},
		{"zip after keyword", "my zip code is 60614", nil, nil, []string{"60614"}},
		{"five digits without context", "I have 12345 points", nil, nil, nil},
		{"word 'in' is not a state", "ship in 90210", nil, nil, nil},
		{"dutch postcode with keyword", "postcode 1012 AB", nil, nil, []string{"1012 AB"}},
		{"all at once", "Order #A1234, email me@x.io, ship to EC1A 1BB", []string{"A1234"}, []string{"me@x.io"}, []string{"EC1A 1BB"}},
		{"nothing", "hello there", nil, nil, nil},
		{"empty", "", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ExtractEntities(tt.text)
			if !slices.Equal(e.OrderNumbers, tt.orders) {
				t.Errorf("OrderNumbers = %q, want %q", e.OrderNumbers, tt.orders)
			}
			if !slices.Equal(e.Emails, tt.emails) {
				t.Errorf("Emails = %q, want %q", e.Emails, tt.emails)
			}
			if !slices.Equal(e.Postcodes, tt.postcode) {
				t.Errorf("Postcodes = %q, want %q", e.Postcodes, tt.postcode)
			}
		})
	}
}

func TestTokenizeReplacesValuesAndExpandsContractions(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Where's my order #A1234?", "where is my order <order>"},
		{"I don't know, I'm lost", "i do not know i am lost"},
		{"can't won't", "can not will not"},
		{"dont cant", "do not can not"},
		{"the shop's hours", "the shop hours"},
		{"mail a@b.com or see https://x.y/z", "mail <email> or see <url>"},
		{"2 items for 15", "<num> items for <num>"},
		{"top-up failed", "top up failed"},
		{"ＣＡＦÉ naïve", "cafe naive"},
	}
	for _, tt := range tests {
		got := tokenize(nil, string(fold(nil, tt.in)))
		if s := joinTokens(got); s != tt.want {
			t.Errorf("tokenize(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func TestStripPleasantriesKeepsTheQuestion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hi there how long does shipping take", "how long does shipping take"},
		{"good morning can i pay with paypal", "can i pay with paypal"},
		{"hi", "hi"},
		{"hello there", "hello there"},
		{"where is my order thanks a lot", "where is my order"},
		{"thank you", "thank you"},
		{"are you open", "are you open"},
	}
	for _, tt := range tests {
		got := stripPleasantries(tokenize(nil, tt.in))
		if s := joinTokens(got); s != tt.want {
			t.Errorf("stripPleasantries(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func joinTokens(t []string) string {
	s := ""
	for i, x := range t {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}
