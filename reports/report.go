// Package reports computes the journey figures from the contact ledger:
// contacts by stage and channel over time, bot resolution, escalation and
// abandonment by stage, response and resolution times, CSAT, CES and NPS,
// the stage funnel, the questions the bot could not answer and the loyal
// customers at risk. The same Report is rendered three ways: a terminal
// table (WriteText), JSON (GET /api/reports) and an HTML page with
// server-side SVG charts (GET /agent/reports).
package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// DefaultRange is the report period when Filter.Since is zero.
const DefaultRange = 30 * 24 * time.Hour

// Churn-risk thresholds: a loyal customer is at risk with at least
// ChurnContacts contacts in the period, or any low rating in it.
const (
	ChurnContacts = 2
	LowCSAT       = 2 // CSAT at or below
	LowCES        = 3 // CES at or below (1 = very hard)
	LowNPS        = 6 // NPS at or below (a detractor)
)

// Filter selects the contacts a report counts.
type Filter struct {
	// Since and Until bound the contacts' start: Since <= start < Until.
	// Default: Until now, Since DefaultRange before Until.
	Since, Until time.Time
	// Channel, if set, counts only that channel's contacts.
	Channel bot.Channel
}

// Report is every figure of the journey report for one period.
type Report struct {
	Since   time.Time   `json:"since"`
	Until   time.Time   `json:"until"`
	Channel bot.Channel `json:"channel,omitempty"`
	// Interval is the width of the Series buckets: "day" or "week".
	Interval string `json:"interval"`
	// Total sums every stage.
	Total StageRow `json:"total"`
	// Stages has one row per journey stage (stage at the contact's start),
	// in journey order.
	Stages   []StageRow   `json:"stages"`
	Channels []ChannelRow `json:"channels"`
	// Series counts contacts per bucket of time.
	Series []Bucket `json:"series"`
	// Funnel counts customers' stage changes in the period.
	Funnel []Move `json:"funnel"`
	// Unanswered groups the questions the bot could not answer.
	Unanswered []UnansweredStage `json:"unanswered"`
	// ChurnRisk lists loyal customers who may be about to leave.
	ChurnRisk []ChurnRow `json:"churn_risk"`
}

// StageRow is the figures of the contacts that started at one stage.
type StageRow struct {
	Stage         bot.Stage `json:"stage"`
	Contacts      int       `json:"contacts"`
	BotResolved   int       `json:"bot_resolved"`
	AgentResolved int       `json:"agent_resolved"`
	Abandoned     int       `json:"abandoned"`
	// Open counts contacts not settled yet (open or waiting for a person).
	Open      int `json:"open"`
	Escalated int `json:"escalated"`
	// Rates are fractions of Contacts (0 when there are none).
	BotResolutionRate float64 `json:"bot_resolution_rate"`
	EscalationRate    float64 `json:"escalation_rate"`
	AbandonmentRate   float64 `json:"abandonment_rate"`
	// FirstResponse and Resolution are counted from the escalation: bot
	// time is never included.
	FirstResponse Times `json:"first_response"`
	Resolution    Times `json:"resolution"`
	CSAT          Score `json:"csat"`
	CES           Score `json:"ces"`
	NPS           NPS   `json:"nps"`
}

// Times summarises durations in seconds. Median averages the two middle
// values of an even count; P90 is the nearest-rank 90th percentile (the
// value at position ceil(0.9·n) in ascending order).
type Times struct {
	Count         int     `json:"count"`
	MedianSeconds float64 `json:"median_seconds"`
	P90Seconds    float64 `json:"p90_seconds"`
}

// Score summarises CSAT (1-5) or CES (1-7) answers.
type Score struct {
	Count int     `json:"count"`
	Avg   float64 `json:"avg"`
	// Satisfied counts answers of 4-5 (CSAT) or 5-7 (CES).
	Satisfied int `json:"satisfied"`
}

// NPS summarises 0-10 answers: Score is the share of promoters (9-10)
// minus the share of detractors (0-6), times 100.
type NPS struct {
	Count      int     `json:"count"`
	Promoters  int     `json:"promoters"`
	Passives   int     `json:"passives"`
	Detractors int     `json:"detractors"`
	Score      float64 `json:"score"`
}

// ChannelRow counts one channel's contacts.
type ChannelRow struct {
	Channel  bot.Channel `json:"channel"`
	Contacts int         `json:"contacts"`
}

// Bucket counts the contacts that started in [Start, Start+Interval).
type Bucket struct {
	Start     time.Time           `json:"start"`
	Contacts  int                 `json:"contacts"`
	ByStage   map[bot.Stage]int   `json:"by_stage"`
	ByChannel map[bot.Channel]int `json:"by_channel"`
}

// Move counts customers' changes from one stage to another.
type Move struct {
	From  bot.Stage `json:"from"`
	To    bot.Stage `json:"to"`
	Count int       `json:"count"`
}

// UnansweredStage groups one stage's unanswered questions by wording.
type UnansweredStage struct {
	Stage    bot.Stage `json:"stage"`
	Count    int       `json:"count"`
	Clusters []Cluster `json:"clusters"`
}

// Cluster is a set of similarly worded questions (Jaccard similarity of
// their word sets at least ClusterSimilarity with the first).
type Cluster struct {
	Example string   `json:"example"`
	Count   int      `json:"count"`
	Texts   []string `json:"texts"`
}

// ClusterSimilarity is the least Jaccard similarity of word sets for two
// questions to group together.
const ClusterSimilarity = 0.5

// ChurnRow is a loyal customer at risk.
type ChurnRow struct {
	CustomerID string    `json:"customer_id"`
	Name       string    `json:"name,omitempty"`
	Stage      bot.Stage `json:"stage"`
	Contacts   int       `json:"contacts"`
	LowRatings int       `json:"low_ratings"`
	LastAt     time.Time `json:"last_contact_at"`
	Reasons    []string  `json:"reasons"`
}

// Resolve fills a filter's defaults at now.
func (f Filter) Resolve(now time.Time) Filter {
	if f.Until.IsZero() {
		f.Until = now
	}
	if f.Since.IsZero() {
		f.Since = f.Until.Add(-DefaultRange)
	}
	return f
}

// Compute builds the report for f (defaults resolved at now) from the
// ledger in s.
func Compute(ctx context.Context, s bot.Store, f Filter, now time.Time) (*Report, error) {
	f = f.Resolve(now)
	cf := bot.ContactFilter{Since: f.Since, Until: f.Until}
	if f.Channel != "" {
		cf.Channels = []bot.Channel{f.Channel}
	}
	contacts, err := bot.ListContacts(ctx, s, cf)
	if err != nil {
		return nil, fmt.Errorf("reports: contacts: %w", err)
	}
	r := &Report{Since: f.Since, Until: f.Until, Channel: f.Channel}
	r.tally(contacts)
	r.series(contacts)
	customers, err := loadCustomers(ctx, s)
	if err != nil {
		return nil, err
	}
	r.funnel(customers)
	r.churn(contacts, customers)
	if err := r.unanswered(ctx, s, contacts); err != nil {
		return nil, err
	}
	return r, nil
}

// rowAcc accumulates one StageRow.
type rowAcc struct {
	row            StageRow
	frt, res       []time.Duration
	csat, ces, nps []int
}

func (a *rowAcc) add(c *bot.Contact) {
	a.row.Contacts++
	switch c.Outcome {
	case bot.OutcomeBotResolved:
		a.row.BotResolved++
	case bot.OutcomeAgentResolved:
		a.row.AgentResolved++
	case bot.OutcomeAbandoned:
		a.row.Abandoned++
	default:
		a.row.Open++
	}
	if !c.EscalatedAt.IsZero() {
		a.row.Escalated++
	}
	if d, ok := c.FirstResponseTime(); ok {
		a.frt = append(a.frt, d)
	}
	if d, ok := c.ResolutionTime(); ok {
		a.res = append(a.res, d)
	}
	if v, ok := c.Ratings[string(bot.SurveyCSAT)]; ok {
		a.csat = append(a.csat, v)
	}
	if v, ok := c.Ratings[string(bot.SurveyCES)]; ok {
		a.ces = append(a.ces, v)
	}
	if v, ok := c.Ratings[string(bot.SurveyNPS)]; ok {
		a.nps = append(a.nps, v)
	}
}

func (a *rowAcc) finish() StageRow {
	r := a.row
	if r.Contacts > 0 {
		n := float64(r.Contacts)
		r.BotResolutionRate = float64(r.BotResolved) / n
		r.EscalationRate = float64(r.Escalated) / n
		r.AbandonmentRate = float64(r.Abandoned) / n
	}
	r.FirstResponse = summarise(a.frt)
	r.Resolution = summarise(a.res)
	r.CSAT = score(a.csat, 4)
	r.CES = score(a.ces, 5)
	r.NPS = nps(a.nps)
	return r
}

func (r *Report) tally(contacts []bot.Contact) {
	total := &rowAcc{row: StageRow{Stage: "all"}}
	by := map[bot.Stage]*rowAcc{}
	for _, st := range bot.Stages {
		by[st] = &rowAcc{row: StageRow{Stage: st}}
	}
	channels := map[bot.Channel]int{}
	for i := range contacts {
		c := &contacts[i]
		total.add(c)
		if a, ok := by[c.StageAtStart]; ok {
			a.add(c)
		}
		channels[c.Channel]++
	}
	r.Total = total.finish()
	for _, st := range bot.Stages {
		r.Stages = append(r.Stages, by[st].finish())
	}
	r.Channels = channelRows(channels)
}

// channelRows lists the known channels first, then any other, by name.
func channelRows(m map[bot.Channel]int) []ChannelRow {
	known := []bot.Channel{bot.ChannelWeb, bot.ChannelSlack, bot.ChannelDiscord}
	out := make([]ChannelRow, 0, len(m))
	for _, ch := range known {
		out = append(out, ChannelRow{ch, m[ch]})
	}
	var other []bot.Channel
	for ch := range m {
		if !slices.Contains(known, ch) {
			other = append(other, ch)
		}
	}
	slices.Sort(other)
	for _, ch := range other {
		out = append(out, ChannelRow{ch, m[ch]})
	}
	return out
}

// summarise computes median and p90 (see Times).
func summarise(ds []time.Duration) Times {
	if len(ds) == 0 {
		return Times{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	var med time.Duration
	if n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	rank := (9*n + 9) / 10 // ceil(0.9·n)
	return Times{Count: n, MedianSeconds: med.Seconds(), P90Seconds: s[rank-1].Seconds()}
}

func score(vs []int, satisfied int) Score {
	if len(vs) == 0 {
		return Score{}
	}
	sum, sat := 0, 0
	for _, v := range vs {
		sum += v
		if v >= satisfied {
			sat++
		}
	}
	return Score{Count: len(vs), Avg: float64(sum) / float64(len(vs)), Satisfied: sat}
}

func nps(vs []int) NPS {
	var n NPS
	for _, v := range vs {
		n.Count++
		switch {
		case v >= 9:
			n.Promoters++
		case v >= 7:
			n.Passives++
		default:
			n.Detractors++
		}
	}
	if n.Count > 0 {
		n.Score = 100 * float64(n.Promoters-n.Detractors) / float64(n.Count)
	}
	return n
}

// series buckets contacts by day (periods up to 62 days) or by week
// (starting Monday), in UTC.
func (r *Report) series(contacts []bot.Contact) {
	step := 24 * time.Hour
	r.Interval = "day"
	start := r.Since.UTC().Truncate(24 * time.Hour)
	if r.Until.Sub(r.Since) > 62*24*time.Hour {
		step = 7 * step
		r.Interval = "week"
		for start.Weekday() != time.Monday {
			start = start.Add(-24 * time.Hour)
		}
	}
	for t := start; t.Before(r.Until); t = t.Add(step) {
		r.Series = append(r.Series, Bucket{Start: t, ByStage: map[bot.Stage]int{}, ByChannel: map[bot.Channel]int{}})
	}
	for _, c := range contacts {
		i := int(c.StartedAt.UTC().Sub(start) / step)
		if i < 0 || i >= len(r.Series) {
			continue
		}
		b := &r.Series[i]
		b.Contacts++
		b.ByStage[c.StageAtStart]++
		b.ByChannel[c.Channel]++
	}
}

func loadCustomers(ctx context.Context, s bot.Store) (map[string]bot.Customer, error) {
	out := map[string]bot.Customer{}
	err := s.View(ctx, func(tx bot.Tx) error {
		return tx.Scan(bot.BucketCustomers, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var c bot.Customer
			if err := decode(&c); err != nil {
				return false, err
			}
			out[c.ID] = c
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reports: customers: %w", err)
	}
	return out, nil
}

// funnel counts every stage change of every customer within the period,
// whatever the channel (a customer's journey spans channels).
func (r *Report) funnel(customers map[string]bot.Customer) {
	counts := map[[2]bot.Stage]int{}
	for _, c := range customers {
		for _, h := range c.StageHistory {
			if h.At.Before(r.Since) || !h.At.Before(r.Until) {
				continue
			}
			counts[[2]bot.Stage{h.From, h.To}]++
		}
	}
	for k, n := range counts {
		r.Funnel = append(r.Funnel, Move{From: k[0], To: k[1], Count: n})
	}
	slices.SortFunc(r.Funnel, func(a, b Move) int {
		return cmp.Or(cmp.Compare(a.From.Rank(), b.From.Rank()), cmp.Compare(a.To.Rank(), b.To.Rank()), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
}

// lowRating reports whether any of a contact's ratings is low.
func lowRatings(c *bot.Contact) int {
	n := 0
	if v, ok := c.Ratings[string(bot.SurveyCSAT)]; ok && v <= LowCSAT {
		n++
	}
	if v, ok := c.Ratings[string(bot.SurveyCES)]; ok && v <= LowCES {
		n++
	}
	if v, ok := c.Ratings[string(bot.SurveyNPS)]; ok && v <= LowNPS {
		n++
	}
	return n
}

// churn lists customers now at loyalty or advocacy with ChurnContacts or
// more contacts in the period, or a low rating in it.
func (r *Report) churn(contacts []bot.Contact, customers map[string]bot.Customer) {
	type acc struct {
		contacts, low int
		last          time.Time
	}
	by := map[string]*acc{}
	for i := range contacts {
		c := &contacts[i]
		cust, ok := customers[c.CustomerID]
		if !ok || (cust.Stage != bot.StageLoyalty && cust.Stage != bot.StageAdvocacy) {
			continue
		}
		a := by[c.CustomerID]
		if a == nil {
			a = &acc{}
			by[c.CustomerID] = a
		}
		a.contacts++
		a.low += lowRatings(c)
		if c.StartedAt.After(a.last) {
			a.last = c.StartedAt
		}
	}
	for id, a := range by {
		var reasons []string
		if a.contacts >= ChurnContacts {
			reasons = append(reasons, fmt.Sprintf("%d contacts", a.contacts))
		}
		if a.low > 0 {
			reasons = append(reasons, fmt.Sprintf("%d low rating(s)", a.low))
		}
		if len(reasons) == 0 {
			continue
		}
		cust := customers[id]
		name := cust.Profile.Name
		if name == "" {
			name = cust.Profile.Email
		}
		r.ChurnRisk = append(r.ChurnRisk, ChurnRow{CustomerID: id, Name: name, Stage: cust.Stage, Contacts: a.contacts, LowRatings: a.low, LastAt: a.last, Reasons: reasons})
	}
	slices.SortFunc(r.ChurnRisk, func(a, b ChurnRow) int {
		return cmp.Or(cmp.Compare(b.LowRatings, a.LowRatings), cmp.Compare(b.Contacts, a.Contacts), cmp.Compare(a.CustomerID, b.CustomerID))
	})
}

// unansweredTurn reports whether a turn is a question the bot could not
// answer: it said it did not know, or it was the miss that escalated the
// contact (its turn is recorded as the handoff).
func unansweredTurn(c *bot.Contact, i int) bool {
	t := c.Turns[i]
	if t.Outcome == bot.TurnUnknown {
		return true
	}
	if t.Outcome != bot.TurnHandoff || c.EscalationTrigger != "repeated_misses" {
		return false
	}
	for j := range i {
		if c.Turns[j].Outcome == bot.TurnHandoff {
			return false // only the first handoff turn escalated
		}
	}
	return true
}

// unanswered groups the questions the bot could not answer by the stage the
// customer was at, then by wording. Texts of forgotten customers are
// counted but not shown.
func (r *Report) unanswered(ctx context.Context, s bot.Store, contacts []bot.Contact) error {
	type q struct {
		stage bot.Stage
		text  string
	}
	var qs []q
	err := s.View(ctx, func(tx bot.Tx) error {
		texts := map[string]map[string]string{} // conversation → message id → text
		for i := range contacts {
			c := &contacts[i]
			for j := range c.Turns {
				if !unansweredTurn(c, j) {
					continue
				}
				m, ok := texts[c.ConversationID]
				if !ok {
					msgs, err := bot.ListMessages(tx, c.ConversationID, 0, 0)
					if err != nil {
						return err
					}
					m = map[string]string{}
					for _, msg := range msgs {
						if msg.Role == bot.RoleCustomer {
							m[msg.ID] = msg.Text
						}
					}
					texts[c.ConversationID] = m
				}
				qs = append(qs, q{c.Turns[j].Stage, m[c.Turns[j].MessageID]})
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reports: unanswered: %w", err)
	}
	for _, st := range bot.Stages {
		var texts []string
		n := 0
		for _, x := range qs {
			if x.stage == st {
				n++
				if x.text != "" && x.text != bot.RedactedText {
					texts = append(texts, x.text)
				}
			}
		}
		if n > 0 {
			r.Unanswered = append(r.Unanswered, UnansweredStage{Stage: st, Count: n, Clusters: ClusterTexts(texts)})
		}
	}
	return nil
}

// stopwords are left out of word sets: they make unrelated questions look
// alike.
var stopwords = map[string]bool{
	"a": true, "an": true, "the": true, "i": true, "you": true, "your": true, "my": true, "me": true,
	"is": true, "are": true, "do": true, "does": true, "can": true, "to": true, "of": true, "for": true,
	"it": true, "in": true, "on": true, "and": true, "or": true, "what": true, "how": true, "we": true,
	"be": true, "there": true, "any": true, "with": true, "have": true, "has": true, "this": true,
}

// Words is the set of a text's lower-case words without stopwords.
func Words(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if !stopwords[w] {
			out[w] = true
		}
	}
	return out
}

// Jaccard is |a∩b| / |a∪b| (1 for two empty sets).
func Jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// ClusterTexts groups texts greedily in order: each joins the first cluster
// whose first text is at least ClusterSimilarity alike, or starts a new
// one. Clusters come largest first (ties in order of first appearance);
// each keeps at most five texts.
func ClusterTexts(texts []string) []Cluster {
	type cl struct {
		words map[string]bool
		c     Cluster
	}
	var cls []*cl
	for _, t := range texts {
		w := Words(t)
		var home *cl
		for _, c := range cls {
			if Jaccard(w, c.words) >= ClusterSimilarity {
				home = c
				break
			}
		}
		if home == nil {
			home = &cl{words: w, c: Cluster{Example: t}}
			cls = append(cls, home)
		}
		home.c.Count++
		if len(home.c.Texts) < 5 {
			home.c.Texts = append(home.c.Texts, t)
		}
	}
	out := make([]Cluster, len(cls))
	for i, c := range cls {
		out[i] = c.c
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}
