package web

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/frontdesk-chat/frontdesk/bot"
)

var testSecret = []byte("test-secret-0123456789-abcdefghij")

// MustToken signs claims with method and key for tests.
func MustToken(tb testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	tb.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

// MustMint mints a valid identity token.
func MustMint(tb testing.TB, sub string) string {
	tb.Helper()
	tok, err := MintIdentity(testSecret, sub, sub+"@example.com", "Ada Lovelace", time.Hour)
	if err != nil {
		tb.Fatalf("mint: %v", err)
	}
	return tok
}

// badTokens are refused tokens by what is wrong with them.
func badTokens(tb testing.TB) []struct{ name, token, want string } {
	tb.Helper()
	now := time.Now()
	claims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"sub": "user-42", "email": "a@example.com", "name": "Ada", "exp": exp.Unix()}
	}
	valid := MustMint(tb, "user-42")
	parts := strings.Split(valid, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","email":"x@example.com","exp":9999999999}`))
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	return []struct{ name, token, want string }{
		{"expired token is refused", MustToken(tb, jwt.SigningMethodHS256, testSecret, claims(now.Add(-time.Hour))), "identity token expired"},
		{"tampered payload is refused", parts[0] + "." + forged + "." + parts[2], "identity token signature is invalid"},
		{"alg none is refused", unsigned, `identity token must be signed with HS256, not "none"`},
		{"wrong secret is refused", MustToken(tb, jwt.SigningMethodHS256, []byte("another-secret"), claims(now.Add(time.Hour))), "identity token signature is invalid"},
		{"HS512 is refused", MustToken(tb, jwt.SigningMethodHS512, testSecret, claims(now.Add(time.Hour))), `identity token must be signed with HS256, not "HS512"`},
		{"token without exp is refused", MustToken(tb, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "user-42"}), "identity token has no expiry (exp)"},
		{"token without sub is refused", MustToken(tb, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}), "identity token has no subject (sub)"},
		{"subject with slash is refused", MustToken(tb, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "a/b", "exp": now.Add(time.Hour).Unix()}), "identity token subject (sub) is too long or has spaces, control characters or '/'"},
		{"token from the future is refused", MustToken(tb, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u", "exp": now.Add(2 * time.Hour).Unix(), "nbf": now.Add(time.Hour).Unix()}), "identity token is not valid yet (check the clocks)"},
		{"garbage is refused", "not-a-jwt", "identity token is malformed"},
	}
}

func TestVerifyIdentity(t *testing.T) {
	t.Run("valid token gives a verified profile", func(t *testing.T) {
		p, err := VerifyIdentity(testSecret, MustMint(t, "user-42"), time.Now())
		want := bot.Profile{ExternalID: "user-42", Email: "user-42@example.com", Name: "Ada Lovelace", Verified: true}
		if err != nil || p != want {
			t.Fatalf("VerifyIdentity = %+v, %v; want %+v", p, err, want)
		}
	})
	t.Run("token just expired within the leeway is accepted", func(t *testing.T) {
		tok := MustToken(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u", "exp": time.Now().Add(-10 * time.Second).Unix()})
		if _, err := VerifyIdentity(testSecret, tok, time.Now()); err != nil {
			t.Fatalf("VerifyIdentity = %v", err)
		}
	})
	t.Run("no secret refuses every token", func(t *testing.T) {
		_, err := VerifyIdentity(nil, MustMint(t, "user-42"), time.Now())
		if bot.ErrorCode(err) != bot.ECodeUnauthorized || !strings.Contains(bot.ErrorMessage(err), "not enabled") {
			t.Fatalf("err = %v", err)
		}
	})
	for _, tt := range badTokens(t) {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyIdentity(testSecret, tt.token, time.Now())
			if bot.ErrorCode(err) != bot.ECodeUnauthorized || bot.ErrorMessage(err) != tt.want {
				t.Errorf("err = %v (message %q), want unauthorized %q", err, bot.ErrorMessage(err), tt.want)
			}
		})
	}
}

func TestMintIdentityRefusesBadInput(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		sub    string
		ttl    time.Duration
	}{
		{"empty secret", nil, "u", time.Hour},
		{"empty subject", testSecret, "", time.Hour},
		{"subject with space", testSecret, "a b", time.Hour},
		{"zero ttl", testSecret, "u", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, err := MintIdentity(tt.secret, tt.sub, "", "", tt.ttl); err == nil {
				t.Error("MintIdentity succeeded")
			}
		})
	}
}

func TestIdentifiedVisitor(t *testing.T) {
	env := MustServe(t, Config{IdentitySecret: testSecret})
	c := env.MustDial(t, nil)
	welcome := c.MustHello(visitorID("known"), MustMint(t, "user-42"))
	if !welcome.Identified || welcome.Name != "Ada Lovelace" {
		t.Errorf("welcome = %+v, want identified as Ada", welcome)
	}
	c.MustAsk("m1", hoursQuestion)
	in := env.bot.Inbounds()[0]
	if in.UserID != "u:user-42" || in.Profile == nil || !in.Profile.Verified || in.Profile.Email != "user-42@example.com" {
		t.Errorf("inbound UserID %q Profile %+v, want the verified shop user", in.UserID, in.Profile)
	}

	// The same shop user on another device sees the same conversation.
	other := env.MustDial(t, nil)
	if w := other.MustHello(visitorID("laptop"), MustMint(t, "user-42")); len(w.History) != 2 {
		t.Errorf("history on the second device = %d messages, want 2", len(w.History))
	}
}

func TestRefusedTokenLeavesVisitorAnonymous(t *testing.T) {
	cases := badTokens(t)
	cases = append(cases, struct{ name, token, want string }{"token without a server secret is refused", MustMint(t, "user-42"), "identity tokens are not enabled on this server"})
	for i, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			secret := testSecret
			if i == len(cases)-1 {
				secret = nil
			}
			env := MustServe(t, Config{IdentitySecret: secret})
			c := env.MustDial(t, nil)
			v := visitorID("anon")
			c.MustSend(map[string]string{"type": "hello", "visitor": v, "token": tt.token})
			if f := c.MustReadType("error"); f.Code != bot.ECodeUnauthorized || f.Text() != tt.want {
				t.Errorf("error = %q %q, want unauthorized %q", f.Code, f.Text(), tt.want)
			}
			if w := c.MustReadType("welcome"); w.Identified {
				t.Errorf("welcome = %+v, want anonymous", w)
			}
			c.MustAsk("m1", hoursQuestion)
			if in := env.bot.Inbounds()[0]; in.UserID != "v:"+v || in.Profile != nil {
				t.Errorf("inbound UserID %q Profile %+v, want the anonymous visitor", in.UserID, in.Profile)
			}
		})
	}
}
