package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// maxBody bounds an Events API request body; Slack's are a few KB.
const maxBody = 1 << 20

// ackTimeout bounds an acknowledgement: Slack redelivers after 3s.
const ackTimeout = 2 * time.Second

// socketLoop drains the Socket Mode client's events. Every envelope is
// acknowledged first, then handed to the workers, so a slow engine never
// delays an ack past Slack's 3 seconds.
func (a *Adapter) socketLoop(ctx context.Context, sm *socketmode.Client) {
	for {
		var ev socketmode.Event
		select {
		case <-ctx.Done():
			return
		case ev = <-sm.Events:
		}
		switch ev.Type {
		case socketmode.EventTypeConnecting:
			a.log.Debug("slack connecting")
		case socketmode.EventTypeConnected:
			n := 0
			if c, ok := ev.Data.(*socketmode.ConnectedEvent); ok {
				n = c.ConnectionCount
			}
			a.log.Info("slack connected", "connection", n+1)
		case socketmode.EventTypeConnectionError:
			a.log.Warn("slack connection failed; retrying", "err", errText(ev.Data))
		case socketmode.EventTypeInvalidAuth:
			a.log.Error("slack refused the app-level token")
		case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
			a.log.Warn("slack socket error", "type", string(ev.Type), "err", errText(ev.Data))
		case socketmode.EventTypeHello, socketmode.EventTypeDisconnect:
			a.log.Debug("slack socket", "type", string(ev.Type))
		case socketmode.EventTypeEventsAPI:
			a.ack(ctx, sm, ev.Request)
			if e, ok := ev.Data.(slackevents.EventsAPIEvent); ok {
				a.acceptEvent(e)
			}
		case socketmode.EventTypeInteractive:
			a.ack(ctx, sm, ev.Request)
			if cb, ok := ev.Data.(slackapi.InteractionCallback); ok {
				a.acceptInteraction(cb)
			}
		case socketmode.EventTypeSlashCommand:
			a.ack(ctx, sm, ev.Request)
		case socketmode.EventTypeErrorBadMessage:
			// An envelope slack-go cannot parse (an event type it does not
			// know): ack it anyway or Slack redelivers it forever.
			if bad, ok := ev.Data.(*socketmode.ErrorBadMessage); ok {
				var env struct {
					EnvelopeID string `json:"envelope_id"`
				}
				if json.Unmarshal(bad.Message, &env) == nil && env.EnvelopeID != "" {
					a.ack(ctx, sm, &socketmode.Request{EnvelopeID: env.EnvelopeID})
				}
				a.log.Debug("slack envelope skipped", "err", bad.Cause)
			}
		}
	}
}

func (a *Adapter) ack(ctx context.Context, sm *socketmode.Client, req *socketmode.Request) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := sm.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		a.log.Warn("slack ack failed", "envelope", req.EnvelopeID, "err", err)
	}
}

func errText(v any) string {
	switch d := v.(type) {
	case *slackapi.ConnectionErrorEvent:
		return d.Error()
	case *slackapi.IncomingEventError:
		return d.Error()
	case *socketmode.ErrorWriteFailed:
		return d.Cause.Error()
	case error:
		return d.Error()
	}
	return ""
}

// acceptEvent deduplicates an Events API event by event_id and queues it.
// It reports false when intake has stopped (the HTTP handler then asks
// Slack to retry).
func (a *Adapter) acceptEvent(e slackevents.EventsAPIEvent) bool {
	cb, ok := e.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || e.Type != slackevents.CallbackEvent {
		return true
	}
	if cb.EventID != "" && !a.seen.Add("event:"+cb.EventID) {
		a.stats.duplicates.Add(1)
		a.log.Debug("slack duplicate event", "event_id", cb.EventID)
		return true
	}
	team, inner := e.TeamID, e.InnerEvent.Data
	ok = a.enqueue(func(ctx context.Context) { a.handleInner(ctx, team, inner) })
	if ok {
		a.stats.events.Add(1)
	} else {
		// Not handled: let a redelivery through.
		a.seen.Forget("event:" + cb.EventID)
	}
	return ok
}

// acceptInteraction deduplicates a button click and queues it.
func (a *Adapter) acceptInteraction(cb slackapi.InteractionCallback) bool {
	key := cb.TriggerID
	if key == "" && len(cb.ActionCallback.BlockActions) > 0 {
		key = cb.User.ID + ":" + cb.ActionCallback.BlockActions[0].ActionTs
	}
	if key != "" && !a.seen.Add("action:"+key) {
		a.stats.duplicates.Add(1)
		return true
	}
	ok := a.enqueue(func(ctx context.Context) { a.handleInteraction(ctx, cb) })
	if ok {
		a.stats.events.Add(1)
	} else if key != "" {
		a.seen.Forget("action:" + key)
	}
	return ok
}

// Handler serves the Events API: POST /slack/events (event subscriptions
// and url_verification) and POST /slack/interactivity (button clicks).
// Every request must carry a valid Slack signature made with the signing
// secret less than five minutes ago; anything else gets 401. Events are
// acknowledged at once and handled in the background.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", a.serveEvents)
	mux.HandleFunc("POST /slack/interactivity", a.serveInteractivity)
	return mux
}

// errUnsigned covers every signature failure; the details go to debug
// logs only.
var errUnsigned = errors.New("slack: request signature missing, wrong or stale")

// verified reads the body and checks its signature. It writes the error
// response itself and returns ok=false on failure.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if a.cfg.SigningSecret == "" {
		http.Error(w, "events api disabled", http.StatusNotFound)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "bad request", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	sv, err := slackapi.NewSecretsVerifier(r.Header, a.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		a.log.Debug("slack request refused", "path", r.URL.Path, "reason", err)
		http.Error(w, errUnsigned.Error(), http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	var outer struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(body, &outer); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	switch outer.Type {
	case slackevents.URLVerification:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": outer.Challenge})
		return
	case slackevents.CallbackEvent:
		ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
		if err != nil {
			// An event type slack-go does not know: nothing for us to do,
			// and an error would only make Slack retry.
			a.log.Debug("slack event skipped", "err", err)
			break
		}
		if !a.acceptEvent(ev) {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveInteractivity(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "no payload", http.StatusBadRequest)
		return
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if !a.acceptInteraction(cb) {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}
