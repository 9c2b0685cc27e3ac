package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SurveyKind names a survey. Its answers are stored in Contact.Ratings
// under the kind's name.
type SurveyKind string

// Surveys. Review is not a question: advocates get a review or referral
// link.
const (
	SurveyCSAT   SurveyKind = "csat"   // satisfaction, 1-5, after a resolved contact
	SurveyCES    SurveyKind = "ces"    // customer effort, 1-7, after an agent contact
	SurveyNPS    SurveyKind = "nps"    // would recommend, 0-10, loyal customers
	SurveyReview SurveyKind = "review" // review/referral link for advocates
)

// Range is the answer scale of a survey; ok is false for kinds without one.
func (k SurveyKind) Range() (lo, hi int, ok bool) {
	switch k {
	case SurveyCSAT:
		return 1, 5, true
	case SurveyCES:
		return 1, 7, true
	case SurveyNPS:
		return 0, 10, true
	}
	return 0, 0, false
}

// EventSurveyAnswered is published when a customer answers a survey. The
// event's Message is the stored answer, its Data holding "survey" (the
// kind) and "score"; Contact is the contact rated, with the new rating.
const EventSurveyAnswered EventKind = "survey.answered"

// SurveyConfig chooses the surveys offered when a contact closes. The zero
// value is the documented default: CSAT after every resolved contact, CES
// after an agent contact, NPS for loyal customers at most every 90 days; no
// review link. Never on an abandoned or waiting contact.
type SurveyConfig struct {
	// Disabled turns every survey off. Default false.
	Disabled bool
	// NoCSAT, NoCES and NoNPS turn one survey off. Default false.
	NoCSAT, NoCES, NoNPS bool
	// NPSEvery is the least time between two NPS questions to one
	// customer. Default 90 days.
	NPSEvery time.Duration
	// ReviewURL is the review or referral link offered to advocates after
	// a resolved contact. Default "": no link.
	ReviewURL string
	// ReviewEvery is the least time between two review links to one
	// customer. Default 90 days.
	ReviewEvery time.Duration
	// AnswerWindow is how long after asking a clicked answer still counts.
	// Default 7 days.
	AnswerWindow time.Duration
	// Question texts. Defaults in English (see withDefaults).
	CSATText, CESText, NPSText, ReviewText, ThanksText string
}

func (c SurveyConfig) withDefaults() SurveyConfig {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&c.CSATText, "How satisfied are you with the help you got? (1 = not at all, 5 = very)")
	def(&c.CESText, "How easy was it to get your issue sorted? (1 = very hard, 7 = very easy)")
	def(&c.NPSText, "How likely are you to recommend us to a friend? (0 = not at all, 10 = extremely)")
	def(&c.ReviewText, "Thanks for being such a great customer! If you have a minute, a review or a referral helps us a lot:")
	def(&c.ThanksText, "Thank you for your feedback!")
	if c.NPSEvery <= 0 {
		c.NPSEvery = 90 * 24 * time.Hour
	}
	if c.ReviewEvery <= 0 {
		c.ReviewEvery = 90 * 24 * time.Hour
	}
	if c.AnswerWindow <= 0 {
		c.AnswerWindow = 7 * 24 * time.Hour
	}
	return c
}

func (c SurveyConfig) text(k SurveyKind) string {
	switch k {
	case SurveyCSAT:
		return c.CSATText
	case SurveyCES:
		return c.CESText
	case SurveyNPS:
		return c.NPSText
	}
	return c.ReviewText
}

// BucketSurveys holds survey bookkeeping: "pending/<conversation id>" → the
// question awaiting an answer, "asked/<contact id>" → the plan offered for a
// contact (so it is offered once), "last/<kind>/<customer id>" → when a
// customer was last asked a rate-limited survey.
const BucketSurveys = "surveys"

// surveyAsk is a survey question waiting for its answer.
type surveyAsk struct {
	ContactID string     `json:"contact_id"`
	Kind      SurveyKind `json:"kind"`
	// Seq is the question message's Seq: a typed number counts as an
	// answer only right after it.
	Seq     uint64       `json:"seq"`
	AskedAt time.Time    `json:"asked_at"`
	Next    []SurveyKind `json:"next,omitempty"`
}

// SetSurveys replaces the survey settings.
func (e *Engine) SetSurveys(c SurveyConfig) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.Surveys = c
}

// Surveys returns the current survey settings, defaults filled in.
func (e *Engine) Surveys() SurveyConfig { return e.surveys() }

func (e *Engine) surveys() SurveyConfig {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg.Surveys.withDefaults()
}

// SurveyPlan chooses the surveys for a closed contact of a customer, in the
// order they are asked (one at a time, the next after each answer). It is
// pure: lastAsked says when the customer was last asked a kind.
func (c SurveyConfig) SurveyPlan(contact Contact, stage Stage, lastAsked func(SurveyKind) time.Time, now time.Time) []SurveyKind {
	c = c.withDefaults()
	if c.Disabled || contact.Open() {
		return nil
	}
	resolved := contact.Outcome == OutcomeBotResolved || contact.Outcome == OutcomeAgentResolved
	if !resolved {
		return nil // never on abandoned (or still waiting) contacts
	}
	var plan []SurveyKind
	if !c.NoCSAT {
		plan = append(plan, SurveyCSAT)
	}
	if !c.NoCES && contact.Outcome == OutcomeAgentResolved {
		plan = append(plan, SurveyCES)
	}
	due := func(k SurveyKind, every time.Duration) bool {
		last := lastAsked(k)
		return last.IsZero() || now.Sub(last) >= every
	}
	if !c.NoNPS && stage == StageLoyalty && due(SurveyNPS, c.NPSEvery) {
		plan = append(plan, SurveyNPS)
	}
	if c.ReviewURL != "" && stage == StageAdvocacy && due(SurveyReview, c.ReviewEvery) {
		plan = append(plan, SurveyReview)
	}
	return plan
}

func keySurveyPending(convID string) []byte  { return []byte("pending/" + convID) }
func keySurveyAsked(contactID string) []byte { return []byte("asked/" + contactID) }
func keySurveyLast(k SurveyKind, customerID string) []byte {
	return []byte("last/" + string(k) + "/" + customerID)
}

func surveyLast(tx Tx, k SurveyKind, customerID string) (time.Time, error) {
	var t time.Time
	_, err := tx.Get(BucketSurveys, keySurveyLast(k, customerID), &t)
	return t, err
}

// surveyQuestion builds the bot message asking k (or giving the review
// link) for a contact.
func (c SurveyConfig) question(k SurveyKind, contactID string) Message {
	m := Message{Role: RoleBot, Text: c.text(k), Data: map[string]string{"kind": "survey", "survey": string(k), "contact_id": contactID}}
	if lo, hi, ok := k.Range(); ok {
		for n := lo; n <= hi; n++ {
			s := strconv.Itoa(n)
			m.Choices = append(m.Choices, Choice{Label: s, Value: string(k) + ":" + s})
		}
	} else {
		m.Text += " " + c.ReviewURL
		m.Data["url"] = c.ReviewURL
	}
	return m
}

// askNext appends the questions of plan to the conversation, starting at
// the first: review links need no answer, so asking goes on past them until
// a question is pending or the plan is done.
func (e *Engine) askNext(tx Tx, cfg SurveyConfig, conv *Conversation, contactID, customerID string, plan []SurveyKind, now time.Time) ([]Message, error) {
	var out []Message
	for len(plan) > 0 {
		k := plan[0]
		plan = plan[1:]
		m := cfg.question(k, contactID)
		m.ID, m.At = NewID(now), now
		if err := AppendMessage(tx, conv, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
		if k == SurveyNPS || k == SurveyReview {
			if err := tx.Put(BucketSurveys, keySurveyLast(k, customerID), now); err != nil {
				return nil, err
			}
		}
		if _, _, ok := k.Range(); ok {
			ask := surveyAsk{ContactID: contactID, Kind: k, Seq: m.Seq, AskedAt: now, Next: plan}
			return out, tx.Put(BucketSurveys, keySurveyPending(conv.ID), ask)
		}
	}
	return out, tx.Delete(BucketSurveys, keySurveyPending(conv.ID))
}

// OfferSurvey asks the surveys the rules choose for a closed contact and
// returns the plan (nil when none applies). It is idempotent: a contact is
// offered surveys once. A contact whose conversation has already moved on
// to a newer contact gets none: the customer is busy with something else.
func (e *Engine) OfferSurvey(ctx context.Context, contactID string) ([]SurveyKind, error) {
	cfg := e.surveys()
	if cfg.Disabled {
		return nil, nil
	}
	var conv Conversation
	var plan []SurveyKind
	var msgs []Message
	now := e.cfg.Now()
	err := e.store.Update(ctx, func(tx Tx) error {
		plan, msgs = nil, nil
		contact, err := GetContact(tx, contactID)
		if err != nil {
			return err
		}
		if ok, err := tx.Get(BucketSurveys, keySurveyAsked(contactID), new([]SurveyKind)); err != nil || ok {
			return err
		}
		if conv, err = GetConversation(tx, contact.ConversationID); err != nil {
			return err
		}
		if conv.ContactID != contact.ID {
			return nil
		}
		cust, err := GetCustomer(tx, contact.CustomerID)
		if err != nil {
			return err
		}
		var lerr error
		plan = cfg.SurveyPlan(contact, cust.Stage, func(k SurveyKind) time.Time {
			t, err := surveyLast(tx, k, cust.ID)
			lerr = errors.Join(lerr, err)
			return t
		}, now)
		if lerr != nil {
			return lerr
		}
		if len(plan) == 0 {
			return nil
		}
		if err := tx.Put(BucketSurveys, keySurveyAsked(contactID), plan); err != nil {
			return err
		}
		if msgs, err = e.askNext(tx, cfg, &conv, contact.ID, cust.ID, plan, now); err != nil {
			return err
		}
		conv.UpdatedAt = now
		return PutConversation(tx, &conv)
	})
	if err != nil {
		return nil, fmt.Errorf("bot: offer survey: %w", err)
	}
	e.publishAndDeliver(ctx, conv, msgs)
	return plan, nil
}

func (e *Engine) publishAndDeliver(ctx context.Context, conv Conversation, msgs []Message) {
	for i := range msgs {
		m := msgs[i]
		e.Publish(Event{Kind: EventMessage, Conversation: conv, Message: &m})
	}
	e.deliverAll(ctx, conv, msgs)
}

// parseSurveyAnswer reads a survey answer for ask from a clicked choice
// ("csat:4") or, right after the question, a typed number.
func parseSurveyAnswer(ask surveyAsk, conv Conversation, in Inbound, text string) (int, bool) {
	lo, hi, _ := ask.Kind.Range()
	var s string
	switch {
	case in.Choice != "":
		v, ok := strings.CutPrefix(in.Choice, string(ask.Kind)+":")
		if !ok {
			return 0, false
		}
		s = v
	case conv.LastSeq == ask.Seq:
		s = strings.TrimRight(strings.TrimSpace(text), ".!")
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// surveyAnswer handles in when it answers the survey pending on its
// conversation: the answer is stored as a customer message and a rating on
// the contact asked about, the next survey (or thanks) follows, and no new
// contact starts. ok is false when in is not a survey answer; the caller
// then handles it as usual. The caller holds the conversation's lock.
func (e *Engine) surveyAnswer(ctx context.Context, in Inbound, text string) (Receipt, bool, error) {
	now := e.cfg.Now()
	cfg := e.surveys()
	var conv Conversation
	var ask surveyAsk
	found := false
	err := e.store.View(ctx, func(tx Tx) error {
		var ok bool
		var err error
		if conv, ok, err = ConversationByKey(tx, in.Channel, in.UserID, in.Thread); err != nil || !ok {
			return err
		}
		found, err = tx.Get(BucketSurveys, keySurveyPending(conv.ID), &ask)
		return err
	})
	if err != nil {
		return Receipt{}, false, fmt.Errorf("bot: survey answer: %w", err)
	}
	if !found || now.Sub(ask.AskedAt) > cfg.AnswerWindow {
		return Receipt{}, false, nil
	}
	score, ok := parseSurveyAnswer(ask, conv, in, text)
	if !ok {
		return Receipt{}, false, nil
	}
	var (
		msg     Message
		contact Contact
		dup     bool
		replies []Message
		custID  string
	)
	err = e.store.Update(ctx, func(tx Tx) error {
		replies, dup = nil, false
		var err error
		if conv, err = GetConversation(tx, conv.ID); err != nil {
			return err
		}
		if in.ClientID != "" {
			prev, seen, err := MessageByClientID(tx, conv.ID, in.ClientID)
			if err != nil {
				return err
			}
			if seen {
				msg, dup = prev, true
				return nil
			}
		}
		if contact, err = GetContact(tx, ask.ContactID); err != nil {
			return err
		}
		cust, err := GetCustomer(tx, contact.CustomerID)
		if err != nil {
			return err
		}
		custID = cust.ID
		if contact.Ratings == nil {
			contact.Ratings = map[string]int{}
		}
		contact.Ratings[string(ask.Kind)] = score
		if in.Address != nil {
			conv.Address = in.Address
		}
		msg = Message{ID: NewID(now), ClientID: in.ClientID, Role: RoleCustomer, Text: text, At: now,
			Data: map[string]string{"kind": "survey_answer", "survey": string(ask.Kind), "score": strconv.Itoa(score), "contact_id": contact.ID}}
		if err := AppendMessage(tx, &conv, &msg); err != nil {
			return err
		}
		e.journey().AfterRating(&cust, ask.Kind, score, contact.ID, now)
		cust.LastContactAt, cust.UpdatedAt = now, now
		thanks := Message{ID: NewID(now), Role: RoleBot, Text: cfg.ThanksText, At: now}
		if err := AppendMessage(tx, &conv, &thanks); err != nil {
			return err
		}
		next, err := e.askNext(tx, cfg, &conv, contact.ID, cust.ID, ask.Next, now)
		if err != nil {
			return err
		}
		replies = append([]Message{thanks}, next...)
		conv.UpdatedAt = now
		if err := PutConversation(tx, &conv); err != nil {
			return err
		}
		if err := PutCustomer(tx, &cust); err != nil {
			return err
		}
		return PutContact(tx, &contact)
	})
	if err != nil {
		return Receipt{}, true, fmt.Errorf("bot: survey answer: %w", err)
	}
	rc := Receipt{MessageID: msg.ID, ConversationID: conv.ID, CustomerID: custID, Seq: msg.Seq, Duplicate: dup, At: msg.At}
	if dup {
		rc.CustomerID = conv.CustomerID
	}
	if in.Stored != nil {
		in.Stored(rc)
	}
	if dup {
		return rc, true, nil
	}
	m := msg
	e.Publish(Event{Kind: EventMessage, Conversation: conv, Message: &m, Contact: &contact})
	a := msg
	c := contact
	e.Publish(Event{Kind: EventSurveyAnswered, Conversation: conv, Message: &a, Contact: &c})
	e.publishAndDeliver(ctx, conv, replies)
	return rc, true, nil
}
