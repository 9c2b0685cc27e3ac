package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/channels/slack/slackfake"
	"github.com/frontdesk-chat/frontdesk/channels/web"
	"github.com/frontdesk-chat/frontdesk/console"
	"github.com/frontdesk-chat/frontdesk/reports"
)

// journeyHandle sends a customer message straight to the engine.
func journeyHandle(tb testing.TB, m *Main, ch bot.Channel, user, text string) bot.Receipt {
	tb.Helper()
	rc, err := m.Engine.Handle(context.Background(), bot.Inbound{Channel: ch, UserID: user, Text: text})
	if err != nil {
		tb.Fatalf("handle %q: %v", text, err)
	}
	return rc
}

func journeyGet(tb testing.TB, url, token string) (int, string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestJourney_ReportsNeedAnAgentLogin(t *testing.T) {
	ctx := context.Background()
	m := MustServe(t, t.TempDir())
	journeyHandle(t, m, bot.ChannelWeb, "v:1", "how long does delivery take?")
	journeyHandle(t, m, bot.ChannelWeb, "v:2", "hello")

	for _, path := range []string{"/api/reports", "/agent/reports"} {
		if code, body := journeyGet(t, m.URL()+path, ""); code != http.StatusUnauthorized {
			t.Fatalf("%s without login: %d %s", path, code, body)
		}
	}
	accts := console.New(m.Engine, console.Config{}).Accounts()
	if _, err := accts.Add(ctx, "ann", "Ann", bot.RoleNameAgent, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	token, err := accts.NewToken(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	code, body := journeyGet(t, m.URL()+"/api/reports?since=1d", token)
	if code != http.StatusOK {
		t.Fatalf("/api/reports: %d %s", code, body)
	}
	var r reports.Report
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Total.Contacts != 2 || len(r.Stages) != 7 {
		t.Fatalf("report %+v %v", r.Total, err)
	}
	if code, body := journeyGet(t, m.URL()+"/api/reports?since=yesterday-ish", token); code != http.StatusBadRequest || !strings.Contains(body, `"invalid"`) {
		t.Fatalf("bad since: %d %s", code, body)
	}
	code, body = journeyGet(t, m.URL()+"/agent/reports", token)
	if code != http.StatusOK || strings.Count(body, `<svg class="chart"`) != 7 || !strings.Contains(body, `id="total-contacts">2<`) {
		t.Fatalf("/agent/reports: %d\n%.2000s", code, body)
	}
}

func TestJourney_WebhookURLNeedsASecret(t *testing.T) {
	cfg := Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), FAQPath: testFAQ, FAQExplicit: true, NoSync: true}
	m := NewMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.Getenv = func(k string) string {
		if k == "FRONTDESK_WEBHOOK_URL" {
			return "https://crm.example/hook"
		}
		return ""
	}
	err := m.Open(context.Background())
	if err == nil {
		m.Close(context.Background())
		t.Fatal("opened with a webhook URL and no secret")
	}
	if !strings.Contains(err.Error(), "FRONTDESK_WEBHOOK_SECRET") {
		t.Fatalf("err %v", err)
	}
}

func TestJourneySettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		surveys bot.SurveyConfig
		rules   bot.JourneyRules
		bad     bool
	}{
		{name: "defaults", env: nil},
		{name: "surveys off", env: map[string]string{"FRONTDESK_SURVEYS": "off"}, surveys: bot.SurveyConfig{Disabled: true}},
		{name: "only csat", env: map[string]string{"FRONTDESK_SURVEYS": "csat"}, surveys: bot.SurveyConfig{NoCES: true, NoNPS: true}},
		{name: "periods and link", env: map[string]string{"FRONTDESK_NPS_EVERY": "30d", "FRONTDESK_LAPSED_AFTER": "90d", "FRONTDESK_REVIEW_URL": "https://shop.example/review"},
			surveys: bot.SurveyConfig{NPSEvery: 30 * 24 * time.Hour, ReviewURL: "https://shop.example/review"}, rules: bot.JourneyRules{LapsedAfter: 90 * 24 * time.Hour}},
		{name: "unknown survey", env: map[string]string{"FRONTDESK_SURVEYS": "csat,mood"}, bad: true},
		{name: "bad period", env: map[string]string{"FRONTDESK_LAPSED_AFTER": "soon"}, bad: true},
		{name: "review link must be a URL", env: map[string]string{"FRONTDESK_REVIEW_URL": "javascript:alert(1)"}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, jr, err := journeySettings(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.bad {
				t.Fatalf("err %v", err)
			}
			if !tt.bad && (sc != tt.surveys || jr != tt.rules) {
				t.Fatalf("got %+v %+v", sc, jr)
			}
		})
	}
}

func TestCommands_ReportExportCustomers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := MustServe(t, dir)
	a := journeyHandle(t, m, bot.ChannelWeb, "v:a", "how long does delivery take?")
	b := journeyHandle(t, m, bot.ChannelWeb, "v:b", "hello there")
	MustStop(t, m)

	runCmd := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, args, &out, &errOut); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	out := runCmd("report", "--data", dir)
	if !strings.Contains(out, "2 contacts:") || !strings.Contains(out, "STAGE FUNNEL") {
		t.Fatalf("report:\n%s", out)
	}
	var r reports.Report
	if err := json.Unmarshal([]byte(runCmd("report", "--data", dir, "--json", "--channel", "slack")), &r); err != nil || r.Total.Contacts != 0 {
		t.Fatalf("slack report %+v %v", r.Total, err)
	}

	lines := strings.Split(strings.TrimSpace(runCmd("export", "--data", dir)), "\n")
	if len(lines) != 2 {
		t.Fatalf("export: %d lines", len(lines))
	}
	var c bot.Contact
	if err := json.Unmarshal([]byte(lines[0]), &c); err != nil || c.CustomerID != a.CustomerID {
		t.Fatalf("first line %s (%v)", lines[0], err)
	}
	file := filepath.Join(t.TempDir(), "ledger.ndjson")
	runCmd("export", "--data", dir, "--since", "2000-01-01", "--out", file)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
	}
	f.Close()
	if n != 2 {
		t.Fatalf("export file has %d lines", n)
	}

	if out := runCmd("customers", "link", a.CustomerID, b.CustomerID, "--data", dir); !strings.Contains(out, "2 identities") {
		t.Fatalf("link: %s", out)
	}
	if out := runCmd("customers", "show", b.CustomerID, "--data", dir); !strings.Contains(out, "linked into "+a.CustomerID) || !strings.Contains(out, "Contacts (2)") {
		t.Fatalf("show: %s", out)
	}
	if out := runCmd("customers", "forget", a.CustomerID, "--data", dir); !strings.Contains(out, "2 conversations") {
		t.Fatalf("forget: %s", out)
	}
	out = runCmd("customers", "show", a.CustomerID, "--data", dir)
	if !strings.Contains(out, "forgotten:") || strings.Contains(out, "web/v:a") {
		t.Fatalf("show after forget: %s", out)
	}
	// The report still counts both contacts.
	if out := runCmd("report", "--data", dir); !strings.Contains(out, "2 contacts:") {
		t.Fatalf("report after forget:\n%s", out)
	}

	var errOut bytes.Buffer
	if err := run(ctx, []string{"customers", "forget", "nobody", "--data", dir}, io.Discard, &errOut); err == nil || !strings.Contains(err.Error(), "No such customer") {
		t.Fatalf("forget unknown: %v", err)
	}
	if err := run(ctx, []string{"customers", "link", a.CustomerID}, io.Discard, &errOut); exitCode(err) != 2 {
		t.Fatalf("link with one id: %v", err)
	}
}

// waitUntil polls cond until it holds, failing the test at the deadline.
func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: timed out", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A visitor signs in on the web with an identity token; the same person
// writes to the bot on Slack, whose profile carries the same (Slack-
// confirmed) email: the journey links them into one customer.
func TestServe_SlackCustomerWithASignedInVisitorsEmailIsLinked(t *testing.T) {
	ctx := t.Context()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.SetUser("UJ", "Jane D")
	fake.SetUserEmail("UJ", "JANE@example.com")
	secret := []byte("0123456789abcdef0123456789abcdef")
	env := map[string]string{"SLACK_BOT_TOKEN": fake.BotToken, "SLACK_APP_TOKEN": fake.AppToken, "SLACK_API_URL": fake.APIURL()}
	m := MustServe(t, t.TempDir(), func(m *Main) {
		m.Getenv = func(k string) string { return env[k] }
		m.Config.IdentitySecret = secret
	})

	token, err := web.MintIdentity(secret, "42", "jane@example.com", "Jane", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := MustDialToken(t, m, newVisitor(), token)
	c.Say("how long does delivery take?", "")
	var webCustomer bot.Customer
	waitUntil(t, "the signed-in visitor's email indexed", func() bool {
		webCustomer, err = m.Engine.CustomerByVerifiedEmail(ctx, "jane@example.com")
		return err == nil
	})

	ev := map[string]any{"type": "message", "channel": "D1", "channel_type": "im", "user": "UJ", "text": "how long does delivery take?",
		"ts": "1700000000.000100", "event_ts": "1700000000.000100", "team": "T1"}
	if _, err := fake.SendEvent(ctx, "Ev1", ev); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the Slack customer linked to the visitor", func() bool {
		conv, _, err := m.Engine.History(ctx, bot.ChannelSlack, "T1:UJ", "D1", 1)
		return err == nil && conv.CustomerID == webCustomer.ID
	})
	merged, err := m.Engine.Customer(ctx, webCustomer.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Identities) != 2 || merged.Profile.ExternalID != "42" || merged.Profile.Name != "Jane" {
		t.Fatalf("merged customer %+v", merged)
	}
}

// The shop's backend reports a referral with an agent's API token, by the
// customer's verified email: a loyal customer becomes an advocate.
func TestServe_ReferralFromTheShopsBackend(t *testing.T) {
	ctx := t.Context()
	secret := []byte("0123456789abcdef0123456789abcdef")
	m := MustServe(t, t.TempDir(), func(m *Main) { m.Config.IdentitySecret = secret })
	accts := &console.Accounts{Store: m.Engine.Store(), Cost: bcrypt.MinCost}
	if _, err := accts.Add(ctx, "shop", "Shop backend", bot.RoleNameAgent, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	apiToken, err := accts.NewToken(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	idToken, err := web.MintIdentity(secret, "7", "ann@example.com", "Ann", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	MustDialToken(t, m, newVisitor(), idToken).Say("how long does delivery take?", "")
	var ann bot.Customer
	waitUntil(t, "the customer's email indexed", func() bool {
		ann, err = m.Engine.CustomerByVerifiedEmail(ctx, "ann@example.com")
		return err == nil
	})
	if _, err := m.Engine.RecordOrder(ctx, ann.ID, bot.StageLoyalty, "third order", "A1***", m.Engine.Now()); err != nil {
		t.Fatal(err)
	}

	post := func(auth, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/customers/referrals", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	body := `{"email": "Ann@Example.com", "referred": "order R-1001"}`
	if code, data := post("", body); code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d %s", code, data)
	}
	code, data := post(apiToken, body)
	if code != http.StatusOK || !strings.Contains(data, `"moved":true`) || !strings.Contains(data, `"stage":"advocacy"`) {
		t.Fatalf("referral: %d %s", code, data)
	}
	rec, err := m.Engine.Customer(ctx, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := rec.StageHistory[len(rec.StageHistory)-1]; last.To != bot.StageAdvocacy || last.Reason != "referral" || last.Evidence != "order R-1001" {
		t.Fatalf("stage change %+v", last)
	}
}

// Contacts stored before the contacts-by-customer index existed are
// indexed when the server starts.
func TestServe_ContactIndexIsBackfilledAtStart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	m := MustServe(t, dir)
	for _, u := range []string{"v:1", "v:2", "v:1"} {
		journeyHandle(t, m, bot.ChannelWeb, u, "hello")
	}
	// Make it a database from before the index.
	err := m.Engine.Store().Update(ctx, func(tx bot.Tx) error {
		var keys []string
		if err := tx.Scan(bot.BucketContactsByCustomer, nil, nil, func(k []byte, _ func(any) error) (bool, error) {
			keys = append(keys, string(k))
			return true, nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(bot.BucketContactsByCustomer, []byte(k)); err != nil {
				return err
			}
		}
		return tx.Delete(bot.BucketMeta, []byte("contacts_by_customer_index"))
	})
	if err != nil {
		t.Fatal(err)
	}
	MustStop(t, m)

	m = MustServe(t, dir)
	waitUntil(t, "the index complete", func() bool {
		ready := false
		err := m.Engine.Store().View(ctx, func(tx bot.Tx) (err error) { ready, err = bot.ContactIndexReady(tx); return })
		return err == nil && ready
	})
	contacts, err := bot.ListContacts(ctx, m.Engine.Store(), bot.ContactFilter{})
	if err != nil || len(contacts) != 2 {
		t.Fatalf("ledger: %d contacts, %v", len(contacts), err)
	}
	for _, c := range contacts {
		got, err := bot.CustomerContacts(ctx, m.Engine.Store(), c.CustomerID, 0)
		if err != nil || len(got) != 1 || got[0].ID != c.ID {
			t.Fatalf("contacts of %s through the index: %+v, %v", c.CustomerID, got, err)
		}
	}
}
