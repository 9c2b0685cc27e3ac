package web

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// IdentityLeeway is the clock skew tolerated between the shop's backend,
// which mints identity tokens, and Frontdesk.
const IdentityLeeway = 30 * time.Second

// maxSubject bounds the shop's user id: it becomes part of storage keys.
const maxSubject = 128

// identityClaims are the claims of a visitor identity token. sub and exp
// are required; email and name are shown to agents.
type identityClaims struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	jwt.RegisteredClaims
}

// VerifyIdentity checks a visitor identity token minted by a shop's backend
// (HS256 with secret; sub and exp required; IdentityLeeway of clock skew)
// and returns the verified profile. Its errors are *bot.Error values with
// code "unauthorized" and a message that says what is wrong ("identity
// token expired", ...), safe to show to the visitor; the cause is wrapped
// for logs.
//
// Only HS256 is accepted: "none", other HMAC sizes and public-key
// algorithms are refused, so a token cannot choose how it is checked.
func VerifyIdentity(secret []byte, token string, now time.Time) (bot.Profile, error) {
	if len(secret) == 0 {
		return bot.Profile{}, unauthorized("identity tokens are not enabled on this server", nil)
	}
	if token == "" {
		return bot.Profile{}, unauthorized("identity token is empty", nil)
	}
	if len(token) > maxTokenBytes {
		return bot.Profile{}, unauthorized("identity token is too long", nil)
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(IdentityLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var c identityClaims
	_, err := p.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil })
	if err != nil {
		return bot.Profile{}, unauthorized(identityProblem(token, err), err)
	}
	if c.Subject == "" {
		return bot.Profile{}, unauthorized("identity token has no subject (sub)", nil)
	}
	if !usableSubject(c.Subject) {
		return bot.Profile{}, unauthorized("identity token subject (sub) is too long or has spaces, control characters or '/'", nil)
	}
	return bot.Profile{ExternalID: c.Subject, Email: c.Email, Name: c.Name, Verified: true}, nil
}

// MintIdentity makes an identity token for a shop user, valid for ttl. It is
// what a shop's backend does (in any language; see docs/protocol.md) and
// what tests use. Keep ttl short (minutes to a day): the widget asks the
// page for a fresh token on each page load.
func MintIdentity(secret []byte, sub, email, name string, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("web: mint identity: empty secret")
	}
	if sub == "" || !usableSubject(sub) {
		return "", fmt.Errorf("web: mint identity: unusable subject %q", sub)
	}
	if ttl <= 0 {
		return "", errors.New("web: mint identity: ttl must be positive")
	}
	now := time.Now()
	c := identityClaims{Email: email, Name: name, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("web: mint identity: %w", err)
	}
	return s, nil
}

func unauthorized(msg string, cause error) *bot.Error {
	return &bot.Error{Code: bot.ECodeUnauthorized, Message: msg, Err: cause}
}

// identityProblem turns a jwt error into a short message a shop developer
// can act on.
func identityProblem(token string, err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "identity token is malformed"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "identity token has no expiry (exp)"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "identity token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "identity token is not valid yet (check the clocks)"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		if alg := tokenAlg(token); alg != "" && alg != jwt.SigningMethodHS256.Alg() {
			return fmt.Sprintf("identity token must be signed with HS256, not %.16q", alg)
		}
		return "identity token signature is invalid"
	default:
		return "identity token is invalid"
	}
}

// tokenAlg reads the alg header without verifying anything, only to explain
// a refusal.
func tokenAlg(token string) string {
	t, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil || t == nil {
		return ""
	}
	alg, _ := t.Header["alg"].(string)
	return alg
}

func usableSubject(s string) bool {
	if len(s) > maxSubject || strings.ContainsRune(s, '/') {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}
