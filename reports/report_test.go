package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/reports"
)

// The scripted contacts, by hand (stage is the stage at the contact's start):
//
//	#  who  day time  channel  stage          outcome          FRT   resolution  ratings
//	1  Ada  1  09:00  web      awareness      bot_resolved                       csat 4
//	2  Ben  1  09:00  web      awareness      bot_resolved                       csat 5
//	3  Cal  1  11:00  web      awareness      bot_resolved                       -
//	4  Dee  1  12:00  web      awareness      bot_resolved                       csat 4, nps 7
//	5  Cal  1  14:00  web      purchase       abandoned                          -
//	6  Eve  1  15:00  web      awareness      bot_resolved                       csat 5, nps 10
//	7  Fay  1  16:00  slack    awareness      bot_resolved                       csat 2, nps 3
//	8  Cal  2  09:00  web      purchase       bot_resolved                       csat 2
//	9  Ben  2  10:00  web      consideration  agent_resolved   8m    30m         csat 3, ces 5
//	10 Dee  2  14:00  web      lapsed         bot_resolved                       -
//	11 Hal  2  16:00  web      awareness      abandoned                          -
//	12 Cal  3  09:00  web      post-purchase  bot_resolved                       -
//	13 Eve  3  10:00  web      advocacy       bot_resolved                       -
//	14 Fay  3  11:00  slack    loyalty        agent_resolved   4m    20m         csat 1, ces 2
//	15 Gus  3  12:00  discord  awareness      waiting (open)                     -
//	16 Hal  3  12:00  web      awareness      abandoned                          -
//
// Stage changes: Ben awareness→consideration; Cal awareness→purchase→
// post-purchase; Dee awareness→loyalty→lapsed→consideration; Eve
// awareness→loyalty→advocacy (CSAT 5 while loyal); Fay awareness→loyalty.
func TestReport_ScriptedJourneys(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	scriptJourneys(t, w)

	finalStages := map[string]bot.Stage{
		"ada": bot.StageAwareness, "ben": bot.StageConsideration, "cal": bot.StagePostPurchase,
		"dee": bot.StageConsideration, "eve": bot.StageAdvocacy, "fay": bot.StageLoyalty,
		"gus": bot.StageAwareness, "hal": bot.StageAwareness,
	}
	visited := map[bot.Stage]bool{}
	for name, want := range finalStages {
		rec, err := w.engine.CustomerByID(ctx, w.cust[name])
		if err != nil {
			t.Fatal(err)
		}
		if rec.Customer.Stage != want {
			t.Errorf("%s at %s, want %s", name, rec.Customer.Stage, want)
		}
		visited[rec.Customer.Stage] = true
		for _, h := range rec.Customer.StageHistory {
			visited[h.To] = true
			if h.Reason == "" || h.At.IsZero() {
				t.Errorf("%s: stage change without time or reason: %+v", name, h)
			}
		}
	}
	if len(visited) != 7 {
		t.Errorf("journeys visited %d stages, want all 7: %v", len(visited), visited)
	}

	r, err := reports.Compute(ctx, w.store, reports.Filter{Since: reportSince, Until: reportUntil}, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantTotal := reports.StageRow{
		Stage: "all", Contacts: 16, BotResolved: 10, AgentResolved: 2, Abandoned: 3, Open: 1, Escalated: 3,
		BotResolutionRate: 10.0 / 16, EscalationRate: 3.0 / 16, AbandonmentRate: 3.0 / 16,
		FirstResponse: reports.Times{Count: 2, MedianSeconds: 360, P90Seconds: 480},
		Resolution:    reports.Times{Count: 2, MedianSeconds: 1500, P90Seconds: 1800},
		CSAT:          reports.Score{Count: 8, Avg: 26.0 / 8, Satisfied: 4},
		CES:           reports.Score{Count: 2, Avg: 3.5, Satisfied: 1},
		NPS:           reports.NPS{Count: 3, Promoters: 1, Passives: 1, Detractors: 1, Score: 0},
	}
	if !reflect.DeepEqual(r.Total, wantTotal) {
		t.Errorf("total\n got %+v\nwant %+v", r.Total, wantTotal)
	}
	wantStages := []reports.StageRow{
		{Stage: bot.StageAwareness, Contacts: 9, BotResolved: 6, Abandoned: 2, Open: 1, Escalated: 1,
			BotResolutionRate: 6.0 / 9, EscalationRate: 1.0 / 9, AbandonmentRate: 2.0 / 9,
			CSAT: reports.Score{Count: 5, Avg: 4, Satisfied: 4},
			NPS:  reports.NPS{Count: 3, Promoters: 1, Passives: 1, Detractors: 1, Score: 0}},
		{Stage: bot.StageConsideration, Contacts: 1, AgentResolved: 1, Escalated: 1, EscalationRate: 1,
			FirstResponse: reports.Times{Count: 1, MedianSeconds: 480, P90Seconds: 480},
			Resolution:    reports.Times{Count: 1, MedianSeconds: 1800, P90Seconds: 1800},
			CSAT:          reports.Score{Count: 1, Avg: 3}, CES: reports.Score{Count: 1, Avg: 5, Satisfied: 1}},
		{Stage: bot.StagePurchase, Contacts: 2, BotResolved: 1, Abandoned: 1, BotResolutionRate: 0.5, AbandonmentRate: 0.5,
			CSAT: reports.Score{Count: 1, Avg: 2}},
		{Stage: bot.StagePostPurchase, Contacts: 1, BotResolved: 1, BotResolutionRate: 1},
		{Stage: bot.StageLoyalty, Contacts: 1, AgentResolved: 1, Escalated: 1, EscalationRate: 1,
			FirstResponse: reports.Times{Count: 1, MedianSeconds: 240, P90Seconds: 240},
			Resolution:    reports.Times{Count: 1, MedianSeconds: 1200, P90Seconds: 1200},
			CSAT:          reports.Score{Count: 1, Avg: 1}, CES: reports.Score{Count: 1, Avg: 2}},
		{Stage: bot.StageAdvocacy, Contacts: 1, BotResolved: 1, BotResolutionRate: 1},
		{Stage: bot.StageLapsed, Contacts: 1, BotResolved: 1, BotResolutionRate: 1},
	}
	for i, want := range wantStages {
		if !reflect.DeepEqual(r.Stages[i], want) {
			t.Errorf("stage %s\n got %+v\nwant %+v", want.Stage, r.Stages[i], want)
		}
	}
	wantChannels := []reports.ChannelRow{{bot.ChannelWeb, 13}, {bot.ChannelSlack, 2}, {bot.ChannelDiscord, 1}}
	if !reflect.DeepEqual(r.Channels, wantChannels) {
		t.Errorf("channels %+v, want %+v", r.Channels, wantChannels)
	}
	wantSeries := []reports.Bucket{
		{Start: day1, Contacts: 7, ByStage: map[bot.Stage]int{bot.StageAwareness: 6, bot.StagePurchase: 1},
			ByChannel: map[bot.Channel]int{bot.ChannelWeb: 6, bot.ChannelSlack: 1}},
		{Start: day1.Add(24 * time.Hour), Contacts: 4,
			ByStage:   map[bot.Stage]int{bot.StagePurchase: 1, bot.StageConsideration: 1, bot.StageLapsed: 1, bot.StageAwareness: 1},
			ByChannel: map[bot.Channel]int{bot.ChannelWeb: 4}},
		{Start: day1.Add(48 * time.Hour), Contacts: 5,
			ByStage:   map[bot.Stage]int{bot.StagePostPurchase: 1, bot.StageAdvocacy: 1, bot.StageLoyalty: 1, bot.StageAwareness: 2},
			ByChannel: map[bot.Channel]int{bot.ChannelWeb: 3, bot.ChannelSlack: 1, bot.ChannelDiscord: 1}},
	}
	if r.Interval != "day" || !reflect.DeepEqual(r.Series, wantSeries) {
		t.Errorf("series (%s)\n got %+v\nwant %+v", r.Interval, r.Series, wantSeries)
	}
	wantFunnel := []reports.Move{
		{bot.StageLapsed, bot.StageConsideration, 1},
		{bot.StageAwareness, bot.StageConsideration, 1},
		{bot.StageAwareness, bot.StagePurchase, 1},
		{bot.StageAwareness, bot.StageLoyalty, 3},
		{bot.StagePurchase, bot.StagePostPurchase, 1},
		{bot.StageLoyalty, bot.StageLapsed, 1},
		{bot.StageLoyalty, bot.StageAdvocacy, 1},
	}
	if !reflect.DeepEqual(r.Funnel, wantFunnel) {
		t.Errorf("funnel\n got %+v\nwant %+v", r.Funnel, wantFunnel)
	}
	wantUnanswered := []reports.UnansweredStage{
		{Stage: bot.StageAwareness, Count: 2, Clusters: []reports.Cluster{{Example: "is there a discount", Count: 2, Texts: []string{"is there a discount", "is there a discount code"}}}},
		{Stage: bot.StageConsideration, Count: 2, Clusters: []reports.Cluster{{Example: "do you ship to mars", Count: 2, Texts: []string{"do you ship to mars", "do you ship to mars please"}}}},
		{Stage: bot.StagePurchase, Count: 1, Clusters: []reports.Cluster{{Example: "do you take bitcoin", Count: 1, Texts: []string{"do you take bitcoin"}}}},
	}
	if !reflect.DeepEqual(r.Unanswered, wantUnanswered) {
		t.Errorf("unanswered\n got %+v\nwant %+v", r.Unanswered, wantUnanswered)
	}
	wantChurn := []reports.ChurnRow{
		{CustomerID: w.cust["fay"], Name: "Fay", Stage: bot.StageLoyalty, Contacts: 2, LowRatings: 4, LastAt: day1.Add(48*time.Hour + 11*time.Hour), Reasons: []string{"2 contacts", "4 low rating(s)"}},
		{CustomerID: w.cust["eve"], Stage: bot.StageAdvocacy, Contacts: 2, LastAt: day1.Add(48*time.Hour + 10*time.Hour), Reasons: []string{"2 contacts"}},
	}
	if !reflect.DeepEqual(r.ChurnRisk, wantChurn) {
		t.Errorf("churn risk\n got %+v\nwant %+v", r.ChurnRisk, wantChurn)
	}

	t.Run("channel filter counts one channel", func(t *testing.T) {
		r, err := reports.Compute(ctx, w.store, reports.Filter{Since: reportSince, Until: reportUntil, Channel: bot.ChannelSlack}, w.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.Total.Contacts != 2 || r.Total.AgentResolved != 1 || r.Total.BotResolved != 1 || r.Total.CSAT != (reports.Score{Count: 2, Avg: 1.5}) {
			t.Fatalf("slack total %+v", r.Total)
		}
	})
	t.Run("time range counts one day", func(t *testing.T) {
		r, err := reports.Compute(ctx, w.store, reports.Filter{Since: day1.Add(24 * time.Hour), Until: day1.Add(48 * time.Hour)}, w.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.Total.Contacts != 4 || r.Total.Abandoned != 1 || len(r.Series) != 1 {
			t.Fatalf("day 2 total %+v series %d", r.Total, len(r.Series))
		}
		// Day 2's stage changes: Cal purchase→post-purchase, Dee
		// loyalty→lapsed→consideration.
		if len(r.Funnel) != 3 {
			t.Fatalf("day 2 funnel %+v", r.Funnel)
		}
	})
	t.Run("text table shows the figures", func(t *testing.T) {
		var buf bytes.Buffer
		if err := reports.WriteText(&buf, r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		// Compare lines word by word: column widths are tabwriter's business.
		lines := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			lines[strings.Join(strings.Fields(l), " ")] = true
		}
		for _, want := range []string{
			"16 contacts: 62.5% resolved by the bot, 18.8% escalated, 18.8% abandoned, 1 open",
			"awareness 9 66.7% 11.1% 22.2% 1 - - - - 4.00 (5) - +0 (3)",
			"consideration 1 0.0% 100.0% 0.0% 0 8m00s 8m00s 30m00s 30m00s 3.00 (1) 5.00 (1) -",
			"loyalty 1 0.0% 100.0% 0.0% 0 4m00s 4m00s 20m00s 20m00s 1.00 (1) 2.00 (1) -",
			"all 16 62.5% 18.8% 18.8% 1 6m00s 8m00s 25m00s 30m00s 3.25 (8) 3.50 (2) +0 (3)",
			"2026-11-03 4 1 1 1 0 0 0 1",
			"awareness → loyalty 3",
			"loyalty → advocacy 1",
			"2× \"do you ship to mars\"",
			w.cust["fay"] + " Fay loyalty 2 4 2026-11-04 11:00 2 contacts, 4 low rating(s)",
		} {
			if !lines[want] {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("JSON carries the same figures", func(t *testing.T) {
		raw, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back reports.Report
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Total, r.Total) || !reflect.DeepEqual(back.Stages, r.Stages) || !reflect.DeepEqual(back.Funnel, r.Funnel) {
			t.Fatal("JSON round trip changed the figures")
		}
	})
	t.Run("forget keeps the counts", func(t *testing.T) {
		for _, name := range []string{"fay", "hal"} {
			if _, err := w.engine.Forget(ctx, w.cust[name]); err != nil {
				t.Fatal(err)
			}
		}
		after, err := reports.Compute(ctx, w.store, reports.Filter{Since: reportSince, Until: reportUntil}, w.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after.Total, r.Total) || !reflect.DeepEqual(after.Stages, r.Stages) ||
			!reflect.DeepEqual(after.Series, r.Series) || !reflect.DeepEqual(after.Funnel, r.Funnel) || !reflect.DeepEqual(after.Channels, r.Channels) {
			t.Fatal("forgetting changed the counts")
		}
		// Hal's unanswered questions still count, but their words are gone.
		if u := after.Unanswered[0]; u.Stage != bot.StageAwareness || u.Count != 2 || len(u.Clusters) != 0 {
			t.Fatalf("awareness unanswered after forget %+v", u)
		}
		if c := after.ChurnRisk[0]; c.CustomerID != w.cust["fay"] || c.Name != "" || c.LowRatings != 4 {
			t.Fatalf("churn row after forget %+v", c)
		}
	})
}

func TestClusterTexts(t *testing.T) {
	got := reports.ClusterTexts([]string{
		"do you ship to Mars?", "what about gift cards", "Do you ship to mars please", "gift cards?", "opening hours",
	})
	want := []reports.Cluster{
		{Example: "do you ship to Mars?", Count: 2, Texts: []string{"do you ship to Mars?", "Do you ship to mars please"}},
		{Example: "what about gift cards", Count: 2, Texts: []string{"what about gift cards", "gift cards?"}},
		{Example: "opening hours", Count: 1, Texts: []string{"opening hours"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestParseFilter(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, since, until, channel string
		want                        reports.Filter
		bad                         bool
	}{
		{name: "empty means defaults", want: reports.Filter{}},
		{name: "dates; until includes its day", since: "2026-11-01", until: "2026-11-07",
			want: reports.Filter{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC)}},
		{name: "ages", since: "7d", until: "36h", want: reports.Filter{Since: now.Add(-7 * 24 * time.Hour), Until: now.Add(-36 * time.Hour)}},
		{name: "channel", channel: "Slack", want: reports.Filter{Channel: bot.ChannelSlack}},
		{name: "all channels", channel: "all", want: reports.Filter{}},
		{name: "garbage", since: "last tuesday", bad: true},
		{name: "reversed", since: "2026-11-05", until: "2026-11-01", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reports.ParseFilter(tt.since, tt.until, tt.channel, now)
			if (err != nil) != tt.bad {
				t.Fatalf("err %v", err)
			}
			if !tt.bad && got != tt.want {
				t.Fatalf("got %+v want %+v", got, tt.want)
			}
		})
	}
}
