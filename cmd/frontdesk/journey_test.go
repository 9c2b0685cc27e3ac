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

	"github.com/frontdesk-chat/frontdesk/bot"
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
