package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// maxBody bounds a request body: the largest thing sent is a reply.
const maxBody = 64 << 10

type role int

const (
	roleAgent role = iota
	roleAdmin
)

// errorBody is the API's one error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}

// statusOf maps the engine's error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case bot.ECodeInvalid, bot.ECodeEmpty, bot.ECodeInvalidUTF8:
		return http.StatusBadRequest
	case bot.ECodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case bot.ECodeUnauthorized:
		return http.StatusUnauthorized
	case bot.ECodeForbidden:
		return http.StatusForbidden
	case bot.ECodeNotFound:
		return http.StatusNotFound
	case bot.ECodeConflict:
		return http.StatusConflict
	case bot.ECodeRateLimited:
		return http.StatusTooManyRequests
	case bot.ECodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeErr reports err to the client: an *bot.Error's code and message,
// or a generic internal error whose details only go to the log.
func (c *Console) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	code := bot.ErrorCode(err)
	if code == bot.ECodeInternal {
		c.log.Error("console api", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, statusOf(code), code, bot.ErrorMessage(err))
}

func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// api wraps an API handler with authentication (bearer token or session
// cookie), CSRF protection of cookie-authenticated writes, and the role
// check.
func (c *Console) api(need role, h func(http.ResponseWriter, *http.Request, *principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		p, err := c.authenticate(r)
		if errors.Is(err, errUnauthenticated) {
			writeError(w, http.StatusUnauthorized, bot.ECodeUnauthorized, "Sign in first (session cookie or Authorization: Bearer token).")
			return
		}
		if err != nil {
			c.writeErr(w, r, err)
			return
		}
		if isWrite(r.Method) {
			if err := c.checkCSRF(r, p); err != nil {
				writeError(w, http.StatusForbidden, bot.ECodeForbidden, "This request needs the X-CSRF-Token header from your session, sent from the console's own origin.")
				return
			}
		}
		if need == roleAdmin && !p.admin() {
			writeError(w, http.StatusForbidden, bot.ECodeForbidden, "This needs the admin role.")
			return
		}
		h(w, r, p)
	}
}

// decode reads a JSON body into v.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return bot.Errorf(bot.ECodeTooLarge, "The request body is too large.")
		}
		return &bot.Error{Code: bot.ECodeInvalid, Message: "The request body must be a JSON object.", Err: err}
	}
	return nil
}

type loginRequest struct {
	ID       string `json:"id"`
	Password string `json:"password"`
}

type meJSON struct {
	Agent AgentJSON `json:"agent"`
	// CSRFToken is for session (cookie) clients: send it as X-CSRF-Token
	// on every write. Empty for bearer-token clients, which need none.
	CSRFToken string `json:"csrf_token,omitempty"`
	// Auth is "session" or "token".
	Auth string `json:"auth"`
}

func (c *Console) me(p *principal) meJSON {
	m := meJSON{Agent: AgentJSON{ID: p.acc.ID, Name: p.acc.Name, Role: p.acc.Role, Online: c.presence.online(p.acc.ID, c.engine.Now())}, Auth: "token"}
	if p.session != nil {
		m.CSRFToken, m.Auth = p.session.CSRF, "session"
	}
	return m
}

// apiLogin: POST /api/login {"id","password"} → session cookie and the
// CSRF token.
func (c *Console) apiLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !c.sameOrigin(r) {
		writeError(w, http.StatusForbidden, bot.ECodeForbidden, "Sign in from the console's own origin.")
		return
	}
	var req loginRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	acc, sid, s, err := c.login(r, req.ID, req.Password)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	c.setSessionCookie(w, r, sid, int(c.cfg.SessionTTL.Seconds()))
	writeJSON(w, http.StatusOK, c.me(&principal{acc: acc, session: &s}))
}

func (c *Console) apiLogout(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := c.logout(r.Context(), p); err != nil {
		c.writeErr(w, r, err)
		return
	}
	c.setSessionCookie(w, r, "", -1)
	w.WriteHeader(http.StatusNoContent)
}

func (c *Console) apiMe(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, c.me(p))
}

// apiHeartbeat keeps an API client's agent counted as online.
func (c *Console) apiHeartbeat(w http.ResponseWriter, r *http.Request, p *principal) {
	c.presence.beat(p.acc.ID, c.engine.Now())
	c.hub.kick()
	writeJSON(w, http.StatusOK, map[string]any{"online_agents": c.OnlineAgents(), "ttl_seconds": int(c.cfg.HeartbeatTTL.Seconds())})
}

func (c *Console) apiQueue(w http.ResponseWriter, r *http.Request, p *principal) {
	q, err := c.queue(r.Context())
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q.forAgent(p.acc))
}

// view loads a conversation and checks that p may see it.
func (c *Console) view(ctx context.Context, id string, p *principal) (bot.ConversationView, error) {
	v, err := c.engine.View(ctx, id)
	if err != nil {
		return v, err
	}
	if !canView(p.acc, v.Conversation) {
		return v, bot.Errorf(bot.ECodeForbidden, "This conversation is not in the queue or yours.")
	}
	return v, nil
}

func (c *Console) apiView(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	v, err := c.view(ctx, r.PathValue("id"), p)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	dir := c.agentDirectory(ctx)
	out := ViewJSON{
		Conversation: ConversationJSON{ID: v.Conversation.ID, Channel: v.Conversation.Channel, State: v.Conversation.State,
			Agent: agentRef(dir, v.Conversation.AgentID), CustomerID: v.Conversation.CustomerID,
			OpenedAt: v.Conversation.OpenedAt, UpdatedAt: v.Conversation.UpdatedAt},
		Customer:    customerJSON(v.Customer),
		Messages:    make([]MessageJSON, 0, len(v.Messages)),
		Transitions: nonNil(v.Transitions),
		Orders:      []OrderSummary{},
	}
	if v.Contact.ID != "" {
		cj := contactJSON(v.Contact)
		out.Contact = &cj
	}
	for _, m := range v.Messages {
		out.Messages = append(out.Messages, messageJSON(m))
	}
	if out.Position, _, err = c.engine.QueuePosition(ctx, v.Conversation.ID); err != nil {
		c.log.Warn("queue position", "conversation", v.Conversation.ID, "err", err)
	}
	contacts, err := bot.CustomerContacts(ctx, c.store, v.Customer.ID, maxContacts)
	if err != nil {
		c.log.Warn("customer contacts", "customer", v.Customer.ID, "err", err)
	}
	out.Contacts = make([]ContactJSON, 0, len(contacts))
	for _, ct := range contacts {
		out.Contacts = append(out.Contacts, contactJSON(ct))
	}
	out.Orders, out.OrdersStatus, out.OrdersError = c.customerOrders(ctx, v.Customer)
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) apiClaim(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	id := r.PathValue("id")
	conv, err := c.engine.Claim(ctx, id, p.agent())
	if bot.ErrorCode(err) == bot.ECodeConflict {
		err = c.claimConflict(ctx, id, p, err)
	}
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	dir := c.agentDirectory(ctx)
	writeJSON(w, http.StatusOK, map[string]any{"conversation": ConversationJSON{ID: conv.ID, Channel: conv.Channel, State: conv.State,
		Agent: agentRef(dir, conv.AgentID), CustomerID: conv.CustomerID, OpenedAt: conv.OpenedAt, UpdatedAt: conv.UpdatedAt}})
}

// claimConflict names the agent who won, so the loser sees "already
// claimed by Alice" rather than an id.
func (c *Console) claimConflict(ctx context.Context, id string, p *principal, err error) error {
	v, verr := c.engine.View(ctx, id)
	if verr != nil || v.Conversation.State != bot.StateAgent || v.Conversation.AgentID == p.acc.ID {
		return err
	}
	name := v.Conversation.AgentID
	if acc, aerr := c.accounts.Get(ctx, name); aerr == nil {
		name = acc.Name
	}
	return &bot.Error{Code: bot.ECodeConflict, Message: fmt.Sprintf("Already claimed by %s.", name), Err: err}
}

type textRequest struct {
	Text string `json:"text"`
}

func (c *Console) apiReply(w http.ResponseWriter, r *http.Request, p *principal) {
	var req textRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	m, err := c.engine.Reply(r.Context(), r.PathValue("id"), p.agent(), req.Text)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": messageJSON(m)})
}

func (c *Console) apiNote(w http.ResponseWriter, r *http.Request, p *principal) {
	var req textRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := c.view(ctx, id, p); err != nil {
		c.writeErr(w, r, err)
		return
	}
	m, err := c.engine.Note(ctx, id, p.agent(), req.Text)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": messageJSON(m)})
}

type transferRequest struct {
	// AgentID is who takes over; empty puts the conversation back in the
	// queue.
	AgentID string `json:"agent_id"`
}

func (c *Console) apiTransfer(w http.ResponseWriter, r *http.Request, p *principal) {
	var req transferRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	ctx := r.Context()
	var to bot.Agent
	if strings.TrimSpace(req.AgentID) != "" {
		var err error
		if to, err = c.agentByID(ctx, req.AgentID); err != nil {
			c.writeErr(w, r, err)
			return
		}
	}
	if err := c.engine.Transfer(ctx, r.PathValue("id"), p.agent(), to); err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

type assignRequest struct {
	// AgentID is who gets the conversation.
	AgentID string `json:"agent_id"`
}

// apiAssign: POST /api/conversations/{id}/assign {"agent_id"} gives a
// waiting conversation to an agent (admins only; bot.Engine.Assign).
func (c *Console) apiAssign(w http.ResponseWriter, r *http.Request, p *principal) {
	var req assignRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	ctx := r.Context()
	if strings.TrimSpace(req.AgentID) == "" {
		c.writeErr(w, r, bot.Errorf(bot.ECodeInvalid, "Choose the agent to assign it to (agent_id)."))
		return
	}
	to, err := c.agentByID(ctx, req.AgentID)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	conv, err := c.engine.Assign(ctx, r.PathValue("id"), p.agent(), to)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	dir := c.agentDirectory(ctx)
	writeJSON(w, http.StatusOK, map[string]any{"conversation": ConversationJSON{ID: conv.ID, Channel: conv.Channel, State: conv.State,
		Agent: agentRef(dir, conv.AgentID), CustomerID: conv.CustomerID, OpenedAt: conv.OpenedAt, UpdatedAt: conv.UpdatedAt}})
}

// agentByID finds the agent an id names, as a user-facing error when there
// is none.
func (c *Console) agentByID(ctx context.Context, id string) (bot.Agent, error) {
	acc, err := c.accounts.Get(ctx, strings.ToLower(strings.TrimSpace(id)))
	if errors.Is(err, ErrNoAgent) {
		return bot.Agent{}, bot.Errorf(bot.ECodeNotFound, "No agent with id %q.", id)
	}
	if err != nil {
		return bot.Agent{}, err
	}
	return acc.Agent(), nil
}

func (c *Console) apiResolve(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := c.engine.Resolve(r.Context(), r.PathValue("id"), p.agent()); err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (c *Console) apiAgents(w http.ResponseWriter, r *http.Request, p *principal) {
	dir := c.agentDirectory(r.Context())
	accs, err := c.accounts.List(r.Context())
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	out := make([]AgentJSON, 0, len(accs))
	for _, a := range accs {
		out = append(out, dir[a.ID])
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}
