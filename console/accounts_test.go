package console_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/console"
	"github.com/frontdesk-chat/frontdesk/store"
)

func mustAccounts(t *testing.T) *console.Accounts {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "t.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &console.Accounts{Store: db, Cost: bcrypt.MinCost}
}

func TestAccounts_Add(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, id, agentName, role, password string
		want                                error
	}{
		{"agent is created", "Alice", "Alice Smith", "", password, nil},
		{"admin is created", "root@shop.example", "Root", "admin", password, nil},
		{"empty password is refused", "bob", "Bob", "", "", console.ErrWeakPassword},
		{"short password is refused", "bob", "Bob", "", "123456789", console.ErrWeakPassword},
		{"over 72 bytes is refused", "bob", "Bob", "", strings.Repeat("x", 73), console.ErrWeakPassword},
		{"bad id is refused", "bob smith", "Bob", "", password, console.ErrBadAgentID},
		{"empty name is refused", "bob", " ", "", password, console.ErrBadAgentName},
		{"unknown role is refused", "bob", "Bob", "owner", password, console.ErrBadRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAccounts(t)
			acc, err := a.Add(ctx, tt.id, tt.agentName, tt.role, tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				if list, _ := a.List(ctx); len(list) != 0 {
					t.Fatalf("refused account stored: %+v", list)
				}
				return
			}
			if acc.ID != strings.ToLower(tt.id) || strings.Contains(acc.PasswordHash, tt.password) || !strings.HasPrefix(acc.PasswordHash, "$2") {
				t.Fatalf("account %+v", acc)
			}
			if acc.Role != bot.RoleNameAgent && acc.Role != bot.RoleNameAdmin {
				t.Fatalf("role %q", acc.Role)
			}
			if _, err := a.Add(ctx, tt.id, "Again", "", password); !errors.Is(err, console.ErrAgentExists) {
				t.Fatalf("duplicate: %v", err)
			}
		})
	}
}

func TestAccounts_AuthenticatePasswdTokenRemove(t *testing.T) {
	ctx := context.Background()
	a := mustAccounts(t)
	if _, err := a.Add(ctx, "alice", "Alice", "agent", password); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "ALICE", password); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, pw := range []string{"", "wrong password", password + " "} {
		if _, err := a.Authenticate(ctx, "alice", pw); err == nil {
			t.Fatalf("password %q accepted", pw)
		}
	}
	if _, err := a.Authenticate(ctx, "nobody", password); err == nil {
		t.Fatal("unknown id accepted")
	}
	if err := a.SetPassword(ctx, "alice", "short"); !errors.Is(err, console.ErrWeakPassword) {
		t.Fatalf("weak new password: %v", err)
	}
	if err := a.SetPassword(ctx, "alice", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "alice", password); err == nil {
		t.Fatal("old password still works")
	}
	tok, err := a.NewToken(ctx, "alice")
	if err != nil || !strings.HasPrefix(tok, "fdt_") {
		t.Fatalf("token %q %v", tok, err)
	}
	if acc, err := a.ByToken(ctx, tok); err != nil || acc.ID != "alice" || strings.Contains(acc.TokenHash, tok) {
		t.Fatalf("by token: %+v %v", acc, err)
	}
	if err := a.Remove(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ByToken(ctx, tok); !errors.Is(err, console.ErrNoAgent) {
		t.Fatalf("removed agent's token: %v", err)
	}
	if err := a.Remove(ctx, "alice"); !errors.Is(err, console.ErrNoAgent) {
		t.Fatalf("remove twice: %v", err)
	}
	if _, err := a.NewToken(ctx, "alice"); !errors.Is(err, console.ErrNoAgent) {
		t.Fatalf("token for nobody: %v", err)
	}
}

func TestAccounts_PasswordChangeAndRemovalEndSessions(t *testing.T) {
	e := newEnv(t, console.Config{})
	e.MustAgent(t, "alice", "agent")
	e.MustAgent(t, "bob", "agent")
	alice, bob := e.MustLogin(t, "alice"), e.MustLogin(t, "bob")
	ctx := context.Background()
	if err := e.console.Accounts().SetPassword(ctx, "alice", "another long password"); err != nil {
		t.Fatal(err)
	}
	if status, _ := alice.Do("GET", "/api/me", nil); status != 401 {
		t.Fatalf("session survived a password change: %d", status)
	}
	if err := e.console.Accounts().Remove(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if status, _ := bob.Do("GET", "/api/me", nil); status != 401 {
		t.Fatalf("session survived removal: %d", status)
	}
}
