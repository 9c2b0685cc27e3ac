package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Canned is a saved reply agents insert into their answer. Admins manage
// them.
type Canned struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

type cannedRequest struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

func (c *Console) checkCanned(req cannedRequest) (cannedRequest, error) {
	title := strings.TrimSpace(req.Title)
	if title == "" || utf8.RuneCountInString(title) > 100 {
		return req, bot.Errorf(bot.ECodeInvalid, "A canned reply needs a title of 1 to 100 characters.")
	}
	text, err := bot.CleanText(req.Text, bot.DefaultMaxTextBytes)
	if err != nil {
		return req, err
	}
	return cannedRequest{Title: title, Text: text}, nil
}

// CannedReplies returns every canned reply, by title.
func (c *Console) CannedReplies(ctx context.Context) ([]Canned, error) {
	out := []Canned{}
	err := c.store.View(ctx, func(tx bot.Tx) error {
		out = out[:0]
		return tx.Scan(BucketCanned, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var cr Canned
			if err := decode(&cr); err != nil {
				return false, err
			}
			out = append(out, cr)
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("console: canned replies: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Title) < strings.ToLower(out[j].Title) })
	return out, nil
}

var errNoCanned = bot.Errorf(bot.ECodeNotFound, "No such canned reply.")

// putCanned creates (id "") or updates a canned reply.
func (c *Console) putCanned(ctx context.Context, id string, req cannedRequest, by string) (Canned, error) {
	req, err := c.checkCanned(req)
	if err != nil {
		return Canned{}, err
	}
	now := c.engine.Now()
	cr := Canned{ID: id, Title: req.Title, Text: req.Text, UpdatedAt: now, UpdatedBy: by}
	if cr.ID == "" {
		cr.ID = bot.NewID(now)
	}
	err = c.store.Update(ctx, func(tx bot.Tx) error {
		if id != "" {
			ok, err := tx.Get(BucketCanned, []byte(id), nil)
			if err != nil {
				return err
			}
			if !ok {
				return errNoCanned
			}
		}
		return tx.Put(BucketCanned, []byte(cr.ID), cr)
	})
	if err != nil {
		return Canned{}, fmt.Errorf("console: save canned reply: %w", err)
	}
	return cr, nil
}

func (c *Console) apiCannedList(w http.ResponseWriter, r *http.Request, _ *principal) {
	list, err := c.CannedReplies(r.Context())
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"canned": list})
}

func (c *Console) apiCannedCreate(w http.ResponseWriter, r *http.Request, p *principal) {
	var req cannedRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	cr, err := c.putCanned(r.Context(), "", req, p.acc.ID)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	c.hub.cannedChanged()
	writeJSON(w, http.StatusCreated, map[string]any{"canned": cr})
}

func (c *Console) apiCannedUpdate(w http.ResponseWriter, r *http.Request, p *principal) {
	var req cannedRequest
	if err := decode(r, &req); err != nil {
		c.writeErr(w, r, err)
		return
	}
	cr, err := c.putCanned(r.Context(), r.PathValue("id"), req, p.acc.ID)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	c.hub.cannedChanged()
	writeJSON(w, http.StatusOK, map[string]any{"canned": cr})
}

func (c *Console) apiCannedDelete(w http.ResponseWriter, r *http.Request, _ *principal) {
	id := r.PathValue("id")
	err := c.store.Update(r.Context(), func(tx bot.Tx) error {
		ok, err := tx.Get(BucketCanned, []byte(id), nil)
		if err != nil {
			return err
		}
		if !ok {
			return errNoCanned
		}
		return tx.Delete(BucketCanned, []byte(id))
	})
	if err != nil {
		if !errors.Is(err, errNoCanned) {
			err = fmt.Errorf("console: delete canned reply: %w", err)
		}
		c.writeErr(w, r, err)
		return
	}
	c.hub.cannedChanged()
	w.WriteHeader(http.StatusNoContent)
}
