package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Buckets the console keeps its records in.
const (
	BucketAgents   = "console_agents"   // agent id -> Account
	BucketTokens   = "console_tokens"   // sha256(API token) hex -> agent id
	BucketSessions = "console_sessions" // sha256(session id) hex -> Session
	BucketCanned   = "console_canned"   // canned reply id -> Canned
)

// Password rules. bcrypt reads at most 72 bytes, so longer passwords are
// refused rather than silently truncated.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 72
)

// tokenPrefix marks Frontdesk API tokens, so a leaked one is recognisable
// by secret scanners.
const tokenPrefix = "fdt_"

// Errors of account management, for errors.Is.
var (
	ErrAgentExists   = errors.New("an agent with this id already exists")
	ErrNoAgent       = errors.New("no such agent")
	ErrWeakPassword  = fmt.Errorf("the password must be %d to %d bytes long", MinPasswordLen, MaxPasswordLen)
	ErrBadAgentID    = errors.New("an agent id is 1 to 64 characters of a-z, 0-9, '.', '_', '-' or '@'")
	ErrBadAgentName  = errors.New("an agent name is 1 to 100 printable characters")
	ErrBadRole       = fmt.Errorf("the role must be %q or %q", bot.RoleNameAgent, bot.RoleNameAdmin)
	errWrongPassword = errors.New("wrong id or password")
)

// Account is an agent's login as stored. Hashes never leave this package
// through the API: Agent() is the public view.
type Account struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"password_hash"`
	TokenHash    string    `json:"token_hash,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Agent is the account as the engine and the API see it.
func (a Account) Agent() bot.Agent { return bot.Agent{ID: a.ID, Name: a.Name, Role: a.Role} }

// Accounts manages agent accounts in a bot.Store. The zero value with a
// Store set works.
type Accounts struct {
	Store bot.Store
	// Cost is the bcrypt cost of new hashes. Default bcrypt.DefaultCost;
	// tests lower it.
	Cost int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (a *Accounts) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Accounts) cost() int {
	if a.Cost > 0 {
		return a.Cost
	}
	return bcrypt.DefaultCost
}

// NormalizeID lower-cases and trims a login id and checks its alphabet.
func NormalizeID(id string) (string, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" || len(id) > 64 {
		return "", ErrBadAgentID
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return "", ErrBadAgentID
		}
	}
	return id, nil
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		return "", ErrBadAgentName
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", ErrBadAgentName
		}
	}
	return name, nil
}

// CheckPassword enforces the password rules.
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return ErrWeakPassword
	}
	return nil
}

func checkRole(role string) (string, error) {
	switch role {
	case "":
		return bot.RoleNameAgent, nil
	case bot.RoleNameAgent, bot.RoleNameAdmin:
		return role, nil
	}
	return "", ErrBadRole
}

// Add creates an agent account with a bcrypt-hashed password.
func (a *Accounts) Add(ctx context.Context, id, name, role, password string) (Account, error) {
	id, err := NormalizeID(id)
	if err != nil {
		return Account{}, err
	}
	if name, err = checkName(name); err != nil {
		return Account{}, err
	}
	if role, err = checkRole(role); err != nil {
		return Account{}, err
	}
	if err := CheckPassword(password); err != nil {
		return Account{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cost())
	if err != nil {
		return Account{}, fmt.Errorf("console: hash password: %w", err)
	}
	now := a.now()
	acc := Account{ID: id, Name: name, Role: role, PasswordHash: string(hash), CreatedAt: now, UpdatedAt: now}
	err = a.Store.Update(ctx, func(tx bot.Tx) error {
		ok, err := tx.Get(BucketAgents, []byte(id), nil)
		if err != nil {
			return err
		}
		if ok {
			return ErrAgentExists
		}
		return tx.Put(BucketAgents, []byte(id), acc)
	})
	if err != nil {
		return Account{}, fmt.Errorf("console: add agent %s: %w", id, err)
	}
	return acc, nil
}

// Get returns the account with id; ErrNoAgent if there is none.
func (a *Accounts) Get(ctx context.Context, id string) (Account, error) {
	var acc Account
	err := a.Store.View(ctx, func(tx bot.Tx) error {
		var err error
		acc, err = getAccount(tx, id)
		return err
	})
	return acc, err
}

func getAccount(tx bot.Tx, id string) (Account, error) {
	var acc Account
	ok, err := tx.Get(BucketAgents, []byte(id), &acc)
	if err != nil {
		return acc, fmt.Errorf("console: get agent: %w", err)
	}
	if !ok {
		return acc, ErrNoAgent
	}
	return acc, nil
}

// List returns every account, by id.
func (a *Accounts) List(ctx context.Context) ([]Account, error) {
	var out []Account
	err := a.Store.View(ctx, func(tx bot.Tx) error {
		out = out[:0]
		return tx.Scan(BucketAgents, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var acc Account
			if err := decode(&acc); err != nil {
				return false, err
			}
			out = append(out, acc)
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("console: list agents: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Remove deletes an account with its API token and sessions.
func (a *Accounts) Remove(ctx context.Context, id string) error {
	err := a.Store.Update(ctx, func(tx bot.Tx) error {
		acc, err := getAccount(tx, id)
		if err != nil {
			return err
		}
		if acc.TokenHash != "" {
			if err := tx.Delete(BucketTokens, []byte(acc.TokenHash)); err != nil {
				return err
			}
		}
		if err := deleteSessions(tx, id); err != nil {
			return err
		}
		return tx.Delete(BucketAgents, []byte(id))
	})
	if err != nil {
		return fmt.Errorf("console: remove agent %s: %w", id, err)
	}
	return nil
}

// SetPassword changes an agent's password and signs out their sessions.
func (a *Accounts) SetPassword(ctx context.Context, id, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cost())
	if err != nil {
		return fmt.Errorf("console: hash password: %w", err)
	}
	now := a.now()
	err = a.Store.Update(ctx, func(tx bot.Tx) error {
		acc, err := getAccount(tx, id)
		if err != nil {
			return err
		}
		acc.PasswordHash, acc.UpdatedAt = string(hash), now
		if err := deleteSessions(tx, id); err != nil {
			return err
		}
		return tx.Put(BucketAgents, []byte(id), acc)
	})
	if err != nil {
		return fmt.Errorf("console: set password of %s: %w", id, err)
	}
	return nil
}

// NewToken issues a new API token for an agent, replacing any previous
// one, and returns it. Only its hash is stored: it cannot be shown again.
func (a *Accounts) NewToken(ctx context.Context, id string) (string, error) {
	token := tokenPrefix + randomString(32)
	h := hashSecret(token)
	now := a.now()
	err := a.Store.Update(ctx, func(tx bot.Tx) error {
		acc, err := getAccount(tx, id)
		if err != nil {
			return err
		}
		if acc.TokenHash != "" {
			if err := tx.Delete(BucketTokens, []byte(acc.TokenHash)); err != nil {
				return err
			}
		}
		acc.TokenHash, acc.UpdatedAt = h, now
		if err := tx.Put(BucketTokens, []byte(h), acc.ID); err != nil {
			return err
		}
		return tx.Put(BucketAgents, []byte(id), acc)
	})
	if err != nil {
		return "", fmt.Errorf("console: new token for %s: %w", id, err)
	}
	return token, nil
}

// dummyHash is compared against when the id does not exist, so a login for
// an unknown id takes as long as one with a wrong password. One is made
// per cost on first use, so commands that never log in do not pay for it.
func (a *Accounts) dummyHash() []byte {
	cost := a.cost()
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("frontdesk-dummy-password"), cost)
	dummyHashes.Store(cost, h)
	return h
}

var dummyHashes sync.Map // bcrypt cost -> hash

// Authenticate checks an id and password. It fails with the same error
// whether the id or the password is wrong.
func (a *Accounts) Authenticate(ctx context.Context, id, password string) (Account, error) {
	nid, idErr := NormalizeID(id)
	var acc Account
	err := idErr
	if err == nil {
		acc, err = a.Get(ctx, nid)
	}
	if err != nil && !errors.Is(err, ErrNoAgent) && !errors.Is(err, ErrBadAgentID) {
		return Account{}, err
	}
	if err != nil || len(password) > MaxPasswordLen {
		_ = bcrypt.CompareHashAndPassword(a.dummyHash(), []byte(password))
		return Account{}, errWrongPassword
	}
	if bcrypt.CompareHashAndPassword([]byte(acc.PasswordHash), []byte(password)) != nil {
		return Account{}, errWrongPassword
	}
	return acc, nil
}

// ByToken returns the account an API token belongs to.
func (a *Accounts) ByToken(ctx context.Context, token string) (Account, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return Account{}, ErrNoAgent
	}
	h := hashSecret(token)
	var acc Account
	err := a.Store.View(ctx, func(tx bot.Tx) error {
		var id string
		ok, err := tx.Get(BucketTokens, []byte(h), &id)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoAgent
		}
		acc, err = getAccount(tx, id)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	// The index lookup matched by hash; compare again in constant time so
	// a stale index entry can never authenticate.
	if subtle.ConstantTimeCompare([]byte(acc.TokenHash), []byte(h)) != 1 {
		return Account{}, ErrNoAgent
	}
	return acc, nil
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how session ids and API tokens are stored: a leaked
// database does not hand out working credentials. They are 256-bit random
// values, so a fast hash is enough.
func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
