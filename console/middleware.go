package console

import (
	"context"
	"net/http"

	"github.com/frontdesk-chat/frontdesk/bot"
)

type agentKey struct{}

// AgentFrom returns the signed-in agent of a request that passed
// RequireAgent or RequireAdmin.
func AgentFrom(ctx context.Context) (bot.Agent, bool) {
	a, ok := ctx.Value(agentKey{}).(bot.Agent)
	return a, ok
}

// RequireAgent guards routes that other parts add under /api or /agent
// (reports, exports) with the console's authentication: a session cookie
// (with the CSRF token on writes) or a bearer API token. Refusals are the
// API's JSON errors (401, 403). The agent is available through AgentFrom.
func (c *Console) RequireAgent(next http.Handler) http.Handler {
	return c.require(roleAgent, next)
}

// RequireAdmin is RequireAgent for admins only.
func (c *Console) RequireAdmin(next http.Handler) http.Handler {
	return c.require(roleAdmin, next)
}

func (c *Console) require(need role, next http.Handler) http.Handler {
	return c.api(need, func(w http.ResponseWriter, r *http.Request, p *principal) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, p.agent())))
	})
}

// HasAgents reports whether any agent account exists. Accounts only change
// through "frontdesk agents" while the server is stopped, so a check at
// start-up holds for the server's life.
func (c *Console) HasAgents(ctx context.Context) (bool, error) {
	found := false
	err := c.store.View(ctx, func(tx bot.Tx) error {
		return tx.Scan(BucketAgents, nil, nil, func([]byte, func(any) error) (bool, error) {
			found = true
			return false, nil
		})
	})
	return found, err
}
