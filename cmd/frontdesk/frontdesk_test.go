package main

import (
	"bytes"
	"context"
	"fmt"

	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/faq"
)

// MustTopic returns a topic of the shipped FAQ.
func MustTopic(tb testing.TB, id string) bot.Topic {
	tb.Helper()
	topics, err := faq.Load(testFAQ)
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range topics {
		if t.ID == id {
			return t
		}
	}
	tb.Fatalf("faq.yaml has no topic %q", id)
	return bot.Topic{}
}

// mustAnswerable picks an FAQ topic with a plain answer for the tests.
func mustAnswerable(tb testing.TB) bot.Topic {
	tb.Helper()
	topics, err := faq.Load(testFAQ)
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range topics {
		if t.Answer != "" && !t.Human && t.Action == "" && t.Stage == bot.StageConsideration {
			return t
		}
	}
	tb.Fatal("no plain consideration topic in faq.yaml")
	return bot.Topic{}
}

func TestServe_FAQQuestionGetsItsAnswer(t *testing.T) {
	m := MustServe(t, t.TempDir())
	topic := mustAnswerable(t)
	c := MustDial(t, m, newVisitor())
	ack, reply := c.MustAsk("q1", topic.Questions[0])
	if ack.Duplicate || ack.Seq != 1 {
		t.Fatalf("ack %+v", ack)
	}
	if reply.Text != strings.TrimSpace(topic.Answer) && reply.Text != topic.Answer {
		t.Fatalf("asked %q, got %q, want the %s answer %q", topic.Questions[0], reply.Text, topic.ID, topic.Answer)
	}
}

func TestServe_NonsenseGetsDontKnowNotAWrongAnswer(t *testing.T) {
	m := MustServe(t, t.TempDir())
	topics, _ := faq.Load(testFAQ)
	c := MustDial(t, m, newVisitor())
	for i, text := range []string{"purple monkey dishwasher quantum", "zxqv blorf wibble"} {
		_, reply := c.MustAsk("n"+string(rune('a'+i)), text)
		for _, tp := range topics {
			if tp.Answer != "" && reply.Text == strings.TrimSpace(tp.Answer) {
				t.Fatalf("%q was answered with topic %s", text, tp.ID)
			}
		}
		if i == 0 && !strings.Contains(reply.Text, "don't know") && !strings.Contains(reply.Text, "not sure") {
			t.Fatalf("%q got %q, want an honest don't know", text, reply.Text)
		}
		offersPerson := false
		for _, ch := range reply.Choices {
			offersPerson = offersPerson || ch.Value == bot.ChoiceHuman
		}
		if i == 0 && !offersPerson {
			t.Fatalf("don't-know reply offers no person: %+v", reply)
		}
	}
}

func TestServe_ResentClientIDIsStoredOnce(t *testing.T) {
	m := MustServe(t, t.TempDir())
	visitor := newVisitor()
	c := MustDial(t, m, visitor)
	c.MustAsk("same-id", "hello")
	c.MustWrite(map[string]string{"type": "message", "id": "same-id", "text": "hello"})
	if ack := c.MustNext("ack"); !ack.Duplicate || ack.Seq != 1 {
		t.Fatalf("resent ack %+v, want duplicate of seq 1", ack)
	}
	again := MustDial(t, m, visitor)
	customer := 0
	for _, h := range again.welcome.History {
		if h.Role == "customer" {
			customer++
		}
	}
	if customer != 1 {
		t.Fatalf("history has %d customer messages, want 1: %+v", customer, again.welcome.History)
	}
}

func TestServe_RestartKeepsHistoryAndContacts(t *testing.T) {
	dir := t.TempDir()
	topic := mustAnswerable(t)
	visitor := newVisitor()
	m := MustServe(t, dir)
	c := MustDial(t, m, visitor)
	c.MustAsk("r1", topic.Questions[0])
	c.MustAsk("r2", "purple monkey dishwasher quantum")
	c.ws.Close()
	MustStop(t, m)

	m2 := MustServe(t, dir)
	again := MustDial(t, m2, visitor)
	if n := len(again.welcome.History); n < 4 {
		t.Fatalf("after restart history has %d messages, want at least 4: %+v", n, again.welcome.History)
	}
	if again.welcome.History[0].Text != topic.Questions[0] {
		t.Fatalf("first message after restart %q", again.welcome.History[0].Text)
	}
	var contacts []bot.Contact
	err := bot.Contacts(context.Background(), m2.Engine.Store(), func(c bot.Contact) bool {
		contacts = append(contacts, c)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(contacts) != 1 || len(contacts[0].Turns) != 2 || contacts[0].Turns[0].Intent != topic.ID ||
		contacts[0].Turns[0].Outcome != bot.TurnAnswered || contacts[0].Turns[0].Stage != topic.Stage {
		t.Fatalf("contact log after restart: %+v", contacts)
	}
}

func TestServe_BadInputIsRefusedAndOthersKeepBeingServed(t *testing.T) {
	m := MustServe(t, t.TempDir())
	topic := mustAnswerable(t)
	good := MustDial(t, m, newVisitor())
	good.MustAsk("g1", topic.Questions[0])

	tests := []struct {
		name string
		raw  []byte
		code string
	}{
		{"malformed json is refused", []byte(`{"type":"message",`), bot.ECodeInvalid},
		{"invalid utf8 is refused", []byte("{\"type\":\"message\",\"id\":\"u1\",\"text\":\"caf\xe9\"}"), bot.ECodeInvalidUTF8},
		{"empty message is refused", []byte(`{"type":"message","id":"e1","text":"   "}`), bot.ECodeEmpty},
		{"too long message is refused", []byte(`{"type":"message","id":"l1","text":"` + strings.Repeat("a", bot.DefaultMaxTextBytes+10) + `"}`), bot.ECodeTooLarge},
	}
	bad := MustDial(t, m, newVisitor())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad.MustWriteRaw(tt.raw)
			f := bad.MustNext("error")
			if f.Code != tt.code || f.errText() == "" {
				t.Fatalf("error frame %+v, want code %s with a message", f, tt.code)
			}
		})
	}
	t.Run("oversized frame closes only that connection", func(t *testing.T) {
		big := MustDial(t, m, newVisitor())
		big.MustWriteRaw(bytes.Repeat([]byte("x"), 1<<20))
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := big.Read(time.Until(deadline)); err != nil {
				break
			}
		}
	})
	t.Run("flood is rate limited", func(t *testing.T) {
		strict := MustServe(t, t.TempDir(), func(m *Main) { m.Config.Web.RatePerMinute, m.Config.Web.Burst = 0, 0 })
		flood := MustDial(t, strict, newVisitor())
		limited := false
		for i := 0; i < 40 && !limited; i++ {
			flood.MustWrite(map[string]string{"type": "message", "id": "f" + string(rune('A'+i)), "text": "hi"})
		}
		deadline := time.Now().Add(10 * time.Second)
		for !limited && time.Now().Before(deadline) {
			f, err := flood.Read(time.Until(deadline))
			if err != nil {
				break
			}
			limited = f.Type == "error" && f.Code == bot.ECodeRateLimited
		}
		if !limited {
			t.Fatal("40 messages at once were never rate limited")
		}
	})
	// The well-behaved customer is still served, with nothing lost.
	_, reply := good.MustAsk("g2", topic.Questions[1])
	if reply.Text == "" {
		t.Fatal("good client got an empty reply after the abuse")
	}
	again := MustDial(t, m, good.visitor)
	if n := len(again.welcome.History); n != 4 {
		t.Fatalf("good client's history has %d messages after the abuse, want 4", n)
	}
}

func TestServe_HealthzAndDemoPage(t *testing.T) {
	m := MustServe(t, t.TempDir())
	for _, tt := range []struct{ path, want string }{
		{"/healthz", `"ok"`},
		{"/", "widget.js"},
		{"/widget.js", "frontdesk"},
	} {
		resp, err := http.Get(m.URL() + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(buf.String(), tt.want) {
			t.Errorf("GET %s: %d, body lacks %q", tt.path, resp.StatusCode, tt.want)
		}
	}
}

func TestServe_FAQEditReloadsWithoutDroppingConnections(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "faq.yaml")
	orig, err := os.ReadFile(testFAQ)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	m := MustServe(t, filepath.Join(dir, "data"), func(m *Main) {
		m.Config.FAQPath = path
		m.Config.FAQPoll = 50 * time.Millisecond
	})
	topic := mustAnswerable(t)
	c := MustDial(t, m, newVisitor())
	c.MustAsk("a1", topic.Questions[0])

	// A broken edit keeps the last good version.
	if err := os.WriteFile(path, []byte("entries:\n  - id: Broken!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the watcher see the broken file
	if _, reply := c.MustAsk("a2", topic.Questions[1]); !strings.Contains(reply.Text, strings.TrimSpace(topic.Answer)[:20]) {
		t.Fatalf("after a broken edit got %q, want the old answer", reply.Text)
	}
	// A good edit changes the answer, on the same connection.
	edited := strings.Replace(string(orig), strings.TrimSpace(topic.Answer)[:20], "EDITED ANSWER. "+strings.TrimSpace(topic.Answer)[:20], 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		_, reply := c.MustAsk(fmt.Sprintf("b%d", i), topic.Questions[i%2])
		if strings.HasPrefix(reply.Text, "EDITED ANSWER.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("edit never served; last reply %q", reply.Text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRun_HelpListsEveryCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for name := range commands {
		if !strings.Contains(out.String(), "  "+name+" ") {
			t.Errorf("help lacks %q:\n%s", name, out.String())
		}
	}
	if err := run(context.Background(), []string{"nosuch"}, &out, &out); exitCode(err) != 2 {
		t.Errorf("unknown command: err %v, exit %d", err, exitCode(err))
	}
}

func TestRun_CheckReportsFileAndLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "faq.yaml")
	if err := os.WriteFile(bad, []byte("entries:\n  - id: x\n    stage: happy\n    questions: [a, b]\n    answer: hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"check", "--faq", bad}, &out, &errOut)
	if err == nil || !strings.Contains(errOut.String(), bad+":3:") {
		t.Fatalf("check: err %v, stderr %q; want %s:3: …", err, errOut.String(), bad)
	}
	out.Reset()
	if err := run(context.Background(), []string{"check", "--faq", testFAQ}, &out, &errOut); err != nil || !strings.Contains(out.String(), "ok") {
		t.Fatalf("check of shipped faq: %v %s", err, out.String())
	}
}

func TestOpen_BusyPortFailsCleanly(t *testing.T) {
	m := MustServe(t, t.TempDir())
	addr := strings.TrimPrefix(m.URL(), "http://")
	dir := t.TempDir()
	busy := NewMain(Config{Addr: addr, DataDir: dir, FAQPath: testFAQ, FAQExplicit: true}, nil)
	busy.Getenv = func(string) string { return "" }
	err := busy.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("open on a busy port: %v, want a listen error", err)
	}
	// Nothing was left holding the data directory.
	MustServe(t, dir)
}
