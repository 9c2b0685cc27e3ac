package orders

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// PushConfig configures the push endpoint. The zero value is a disabled
// endpoint.
type PushConfig struct {
	// Token is the bearer token the shop's backend sends. Empty disables
	// the endpoint: every request gets 404.
	Token string
	// MaxBody bounds a request body. Default 8 MiB.
	MaxBody int64
	// MaxBatch bounds the orders of one POST. Default 5000.
	MaxBatch int
	// Logger receives the endpoint's logs (counts only, never order data
	// or the token). Default: discard.
	Logger *slog.Logger
}

// Push is the endpoint the shop's backend keeps embedded orders current
// with:
//
//	PUT  /api/orders/{number}  one order (JSON object)
//	POST /api/orders           one order or an array of orders
//
// both with "Authorization: Bearer <token>". Bodies use the import's JSON
// fields. An order is created or replaced whole, by number.
type Push struct {
	e    *Embedded
	cfg  PushConfig
	log  *slog.Logger
	hash [sha256.Size]byte
}

// NewPush returns the endpoint storing into e.
func NewPush(e *Embedded, cfg PushConfig) *Push {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 8 << 20
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 5000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Push{e: e, cfg: cfg, log: cfg.Logger, hash: sha256.Sum256([]byte(cfg.Token))}
}

// Register mounts the endpoint's routes on mux.
func (p *Push) Register(mux *http.ServeMux) {
	mux.HandleFunc("PUT /api/orders/{number}", p.put)
	mux.HandleFunc("POST /api/orders", p.post)
}

// PushResult is the response to a push.
type PushResult struct {
	Counts
	// Rejected lists the orders not stored, by their index in the request
	// (0 for PUT).
	Rejected []Rejected `json:"rejected"`
}

// Rejected is an order a push did not store.
type Rejected struct {
	Index  int    `json:"index"`
	Number string `json:"number,omitempty"`
	Error  string `json:"error"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// authorized checks the bearer token in constant time (hashing first, so
// not even its length leaks).
func (p *Push) authorized(w http.ResponseWriter, r *http.Request) bool {
	if p.cfg.Token == "" {
		writeError(w, http.StatusNotFound, bot.ECodeNotFound, "The order push endpoint is disabled: set FRONTDESK_ORDERS_TOKEN to enable it.")
		return false
	}
	auth := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(auth, " ")
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], p.hash[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="frontdesk orders"`)
		writeError(w, http.StatusUnauthorized, bot.ECodeUnauthorized, "A valid bearer token is required.")
		return false
	}
	return true
}

// body reads the request body within the size limit.
func (p *Push) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.cfg.MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, bot.ECodeTooLarge, fmt.Sprintf("The body is over %d bytes: send fewer orders per request.", p.cfg.MaxBody))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, bot.ECodeInvalid, "The body could not be read.")
		return nil, false
	}
	return b, true
}

func (p *Push) put(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(w, r) {
		return
	}
	b, ok := p.body(w, r)
	if !ok {
		return
	}
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		writeError(w, http.StatusBadRequest, bot.ECodeInvalid, "The body must be one JSON object.")
		return
	}
	number := bot.NormalizeOrderNumber(r.PathValue("number"))
	rec := jsonRecord(t)
	if n := rec.fields[fNumber]; n != "" && bot.NormalizeOrderNumber(n) != number {
		writeError(w, http.StatusUnprocessableEntity, bot.ECodeInvalid, "The order number in the body does not match the URL.")
		return
	}
	rec.fields[fNumber] = number
	p.store(w, r, []record{rec})
}

func (p *Push) post(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(w, r) {
		return
	}
	b, ok := p.body(w, r)
	if !ok {
		return
	}
	t := bytes.TrimSpace(b)
	var recs []record
	switch {
	case len(t) > 0 && t[0] == '{' && json.Valid(t):
		recs = []record{jsonRecord(t)}
	case len(t) > 0 && t[0] == '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(t, &raws); err != nil {
			writeError(w, http.StatusBadRequest, bot.ECodeInvalid, "The body must be a JSON object or an array of objects.")
			return
		}
		if len(raws) > p.cfg.MaxBatch {
			writeError(w, http.StatusRequestEntityTooLarge, bot.ECodeTooLarge, fmt.Sprintf("At most %d orders per request.", p.cfg.MaxBatch))
			return
		}
		for _, raw := range raws {
			recs = append(recs, jsonRecord(raw))
		}
	default:
		writeError(w, http.StatusBadRequest, bot.ECodeInvalid, "The body must be a JSON object or an array of objects.")
		return
	}
	p.store(w, r, recs)
}

// store validates the records and stores the good ones in one transaction.
// A single order that is invalid is refused with 422; in a batch the bad
// ones are listed and the rest stored.
func (p *Push) store(w http.ResponseWriter, r *http.Request, recs []record) {
	res := PushResult{Rejected: []Rejected{}}
	good := make([]bot.Order, 0, len(recs))
	for i, rec := range recs {
		o, err := rec.order(p.e.now())
		if err != nil {
			res.Rejected = append(res.Rejected, Rejected{Index: i, Number: o.Number, Error: err.Error()})
			continue
		}
		good = append(good, o)
	}
	if len(good) > 0 {
		c, err := p.e.put(r.Context(), len(good) > 100, good)
		if err != nil {
			p.log.Error("store pushed orders", "orders", len(good), "err", err)
			writeError(w, http.StatusServiceUnavailable, bot.ECodeUnavailable, "The orders could not be stored; try again.")
			return
		}
		res.Counts = c
	}
	p.log.Info("orders pushed", "added", res.Added, "updated", res.Updated, "unchanged", res.Unchanged, "rejected", len(res.Rejected))
	status := http.StatusOK
	if len(good) == 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}
