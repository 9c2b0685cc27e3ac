package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/bot/bottest"
	"github.com/frontdesk-chat/frontdesk/store"
	"github.com/frontdesk-chat/frontdesk/webhooks"
)

var secret = []byte("whsec-test")

func TestSignVerify(t *testing.T) {
	body := []byte(`{"id":"1","type":"contact.closed"}`)
	at := time.Unix(1_790_000_000, 0)
	h := webhooks.Sign(secret, body, at)
	if !strings.HasPrefix(h, "t=1790000000,v1=") || len(h) != len("t=1790000000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", secret, h, body, at.Add(time.Minute), nil},
		{"valid among rotated signatures", secret, "t=1790000000,v1=" + strings.Repeat("0", 64) + "," + strings.TrimPrefix(h, "t=1790000000,"), body, at, nil},
		{"tampered body", secret, h, []byte(`{"id":"2"}`), at, webhooks.ErrBadSignature},
		{"wrong secret", []byte("other"), h, body, at, webhooks.ErrBadSignature},
		{"replayed later", secret, h, body, at.Add(6 * time.Minute), webhooks.ErrStale},
		{"missing", secret, "", body, at, webhooks.ErrNoSignature},
		{"malformed", secret, "v1=abc", body, at, webhooks.ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := webhooks.Verify(tt.secret, tt.header, tt.body, tt.now, 0); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// receiver is a local webhook endpoint that fails the first failures
// requests, then accepts.
type receiver struct {
	mu       sync.Mutex
	failures int
	got      []delivery
	srv      *httptest.Server
}

type delivery struct {
	header http.Header
	body   []byte
	status int
	verify error
}

func newReceiver(t *testing.T, failures int) *receiver {
	r := &receiver{failures: failures}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		d := delivery{header: req.Header.Clone(), body: body, status: http.StatusOK,
			verify: webhooks.Verify(secret, req.Header.Get(webhooks.HeaderSignature), body, time.Now(), 0)}
		if r.failures > 0 {
			r.failures--
			d.status = http.StatusInternalServerError
		}
		r.got = append(r.got, d)
		w.WriteHeader(d.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(store.Config{Path: path, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func run(t *testing.T, d *webhooks.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

func TestDispatcher_RetriesUntilDelivered(t *testing.T) {
	rcv := newReceiver(t, 2)
	db := openStore(t, filepath.Join(t.TempDir(), "t.db"))
	defer db.Close()
	d := webhooks.New(db, webhooks.Config{URLs: []string{rcv.srv.URL}, Secret: secret, BaseDelay: 20 * time.Millisecond, Jitter: func() float64 { return 0 }})
	stop := run(t, d)
	defer stop()
	env := webhooks.Envelope{ID: "evt-1", Type: webhooks.TypeContactClosed, CreatedAt: time.Now(), Data: json.RawMessage(`{"contact":{"id":"k1"}}`)}
	if err := d.Enqueue(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three attempts", func() bool { return len(rcv.deliveries()) == 3 })
	got := rcv.deliveries()
	for i, dl := range got {
		if dl.verify != nil {
			t.Errorf("attempt %d: signature does not verify: %v", i+1, dl.verify)
		}
		if dl.header.Get(webhooks.HeaderAttempt) != []string{"1", "2", "3"}[i] || dl.header.Get(webhooks.HeaderEventID) != "evt-1" || dl.header.Get(webhooks.HeaderEvent) != "contact.closed" {
			t.Errorf("attempt %d headers %v", i+1, dl.header)
		}
		var back webhooks.Envelope
		if err := json.Unmarshal(dl.body, &back); err != nil || back.ID != "evt-1" || string(back.Data) != `{"contact":{"id":"k1"}}` {
			t.Errorf("attempt %d body %s (%v)", i+1, dl.body, err)
		}
	}
	if got[2].status != http.StatusOK {
		t.Fatalf("third status %d", got[2].status)
	}
	waitFor(t, "empty outbox", func() bool { n, _ := d.Pending(context.Background()); return n == 0 })
	if n, _ := d.Dead(context.Background()); n != 0 {
		t.Fatalf("%d dead deliveries", n)
	}
}

func TestDispatcher_GivesUpAfterMaxAttempts(t *testing.T) {
	rcv := newReceiver(t, 1000)
	db := openStore(t, filepath.Join(t.TempDir(), "t.db"))
	defer db.Close()
	d := webhooks.New(db, webhooks.Config{URLs: []string{rcv.srv.URL}, Secret: secret, MaxAttempts: 3, BaseDelay: time.Millisecond, Jitter: func() float64 { return 0 }})
	stop := run(t, d)
	defer stop()
	if err := d.Enqueue(context.Background(), webhooks.Envelope{ID: "e", Type: "x", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool { n, _ := d.Dead(context.Background()); return n == 1 })
	if n := len(rcv.deliveries()); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	if n, _ := d.Pending(context.Background()); n != 0 {
		t.Fatalf("%d pending", n)
	}
}

func TestDispatcher_OutboxSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	rcv := newReceiver(t, 1000)
	db := openStore(t, path)
	// The first process fails once and schedules its retry an hour later.
	d := webhooks.New(db, webhooks.Config{URLs: []string{rcv.srv.URL}, Secret: secret, BaseDelay: time.Hour, Jitter: func() float64 { return 0.99 }})
	stop := run(t, d)
	if err := d.Enqueue(context.Background(), webhooks.Envelope{ID: "e1", Type: "x", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first attempt recorded", func() bool {
		attempts := 0.0
		_ = db.View(context.Background(), func(tx bot.Tx) error {
			return tx.Scan(webhooks.BucketOutbox, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
				var rec map[string]any
				if err := decode(&rec); err != nil {
					return false, err
				}
				attempts, _ = rec["attempts"].(float64)
				return false, nil
			})
		})
		return attempts == 1
	})
	stop()
	db.Close()

	// The receiver recovers; a restarted process (two hours later) finds
	// the delivery in the outbox and sends it.
	rcv.mu.Lock()
	rcv.failures = 0
	rcv.mu.Unlock()
	db = openStore(t, path)
	defer db.Close()
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	d2 := webhooks.New(db, webhooks.Config{URLs: []string{rcv.srv.URL}, Secret: secret, Now: later})
	if n, _ := d2.Pending(context.Background()); n != 1 {
		t.Fatalf("%d pending after restart, want 1", n)
	}
	stop2 := run(t, d2)
	defer stop2()
	waitFor(t, "delivery after restart", func() bool { return len(rcv.deliveries()) == 2 })
	got := rcv.deliveries()[1]
	if got.status != http.StatusOK || got.header.Get(webhooks.HeaderAttempt) != "2" || got.header.Get(webhooks.HeaderEventID) != "e1" {
		t.Fatalf("after restart: status %d headers %v", got.status, got.header)
	}
	waitFor(t, "empty outbox", func() bool { n, _ := d2.Pending(context.Background()); return n == 0 })
}

func TestDispatcher_QueuedEventsFlushedOnStop(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "t.db"))
	defer db.Close()
	e := bot.NewEngine(db, bot.Config{})
	d := webhooks.New(db, webhooks.Config{URLs: []string{"http://127.0.0.1:1/unused"}, Secret: secret})
	d.Subscribe(e)
	// No Run yet: the event waits in memory; stopping writes it out.
	e.Publish(bot.Event{Kind: bot.EventContactClose, Contact: &bot.Contact{ID: "k1"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Pending(context.Background()); n != 1 {
		t.Fatalf("%d in the outbox, want 1", n)
	}
}

func TestDispatcher_EngineEvents(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t, 0)
	db := openStore(t, filepath.Join(t.TempDir(), "t.db"))
	defer db.Close()
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := bot.NewEngine(db, bot.Config{Now: clock})
	e.SetKnowledge(bot.NewKnowledge([]bot.Topic{
		{ID: "human", Stage: bot.StageAwareness, Action: bot.ActionHandoff},
	}, &bottest.Classifier{Script: map[string]bot.Prediction{
		"human please": {Intent: "human", Confidence: 1, Verdict: bot.Confident, Language: "en"},
	}}))
	e.Register(bot.ChannelWeb, &bottest.Sender{})
	// The receiver checks signatures against the real clock; sign with it.
	d := webhooks.New(db, webhooks.Config{URLs: []string{rcv.srv.URL}, Secret: secret})
	d.Subscribe(e)
	stop := run(t, d)
	defer stop()

	rc, err := e.Handle(ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "human please"})
	if err != nil {
		t.Fatal(err)
	}
	agent := bot.Agent{ID: "ann"}
	if _, err := e.Claim(ctx, rc.ConversationID, agent); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	if err := e.Resolve(ctx, rc.ConversationID, agent); err != nil {
		t.Fatal(err)
	}
	v, _ := e.View(ctx, rc.ConversationID)
	if _, err := e.OfferSurvey(ctx, v.Contact.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Handle(ctx, bot.Inbound{Channel: bot.ChannelWeb, UserID: "v:1", Text: "5", Choice: "csat:5"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three events", func() bool { return len(rcv.deliveries()) == 3 })
	byType := map[string]json.RawMessage{}
	for _, dl := range rcv.deliveries() {
		if dl.verify != nil {
			t.Fatalf("signature: %v", dl.verify)
		}
		var env webhooks.Envelope
		if err := json.Unmarshal(dl.body, &env); err != nil {
			t.Fatal(err)
		}
		byType[env.Type] = env.Data
	}
	var esc webhooks.ConversationEscalated
	if err := json.Unmarshal(byType[webhooks.TypeConversationEscalated], &esc); err != nil || esc.Trigger != "customer_request" || esc.Conversation.ID != rc.ConversationID || esc.Stage != bot.StageAwareness {
		t.Fatalf("escalated %+v %v", esc, err)
	}
	if strings.Contains(string(byType[webhooks.TypeConversationEscalated]), "v:1") {
		t.Fatal("escalation payload leaks the channel user id")
	}
	var closed webhooks.ContactClosed
	if err := json.Unmarshal(byType[webhooks.TypeContactClosed], &closed); err != nil || closed.Contact.Outcome != bot.OutcomeAgentResolved {
		t.Fatalf("closed %+v %v", closed, err)
	}
	var ans webhooks.SurveyAnswered
	if err := json.Unmarshal(byType[webhooks.TypeSurveyAnswered], &ans); err != nil || ans.Survey != "csat" || ans.Score != 5 || ans.ContactID != v.Contact.ID {
		t.Fatalf("answered %+v %v", ans, err)
	}
}

func TestBackoff(t *testing.T) {
	d := webhooks.New(bottest.NewMemStore(), webhooks.Config{BaseDelay: time.Second, MaxDelay: 10 * time.Second, Jitter: func() float64 { return 0.5 }})
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 7500 * time.Millisecond, 7500 * time.Millisecond}
	for i, w := range want {
		if got := d.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestDispatcher_FailuresNeverLogTheURL(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "t.db"))
	defer db.Close()
	var logs syncLog
	// Nothing listens on port 1: every attempt fails with a *url.Error.
	hook := "http://127.0.0.1:1/hooks/T000/B000/s3cr3t-token"
	d := webhooks.New(db, webhooks.Config{URLs: []string{hook}, Secret: secret, MaxAttempts: 2, BaseDelay: time.Millisecond,
		Jitter: func() float64 { return 0 }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	stop := run(t, d)
	defer stop()
	if err := d.Enqueue(context.Background(), webhooks.Envelope{ID: "e", Type: "x", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool { n, _ := d.Dead(context.Background()); return n == 1 })
	out := logs.String()
	if !strings.Contains(out, "webhook gave up") {
		t.Fatalf("no failure logged:\n%s", out)
	}
	if strings.Contains(out, "s3cr3t-token") {
		t.Fatalf("the webhook URL's secret reached the log:\n%s", out)
	}
}

// syncLog is a log sink safe for the dispatcher's goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
