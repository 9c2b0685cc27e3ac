package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// BucketOrderProofs holds the order flow's failed proof-of-ownership
// counters: "c/<conversation id>" and "n/<order number>" → a count and the
// start of its window.
const BucketOrderProofs = "order_proofs"

// BucketOrderOwners records, per customer id, the orders they proved they
// own (their numbers and emails): what the agent console may show as the
// customer's orders.
const BucketOrderOwners = "order_owners"

// TriggerOrderProblem is the escalation trigger of a complaint about a
// proven order ("it's late", "it arrived damaged", "it never came").
const TriggerOrderProblem = "order_problem"

// Order flow steps (FlowState.Step) and the keys of FlowState.Data.
const (
	orderStepNumber   = "number"   // waiting for an order number
	orderStepProof    = "proof"    // waiting for the email or postcode
	orderStepAnswered = "answered" // told the status; complaints still welcome

	orderKeyNumber  = "number"  // the order being discussed
	orderKeyProven  = "proven"  // comma-separated numbers proven in this conversation
	orderKeyProblem = "problem" // late, damaged or missing, once complained
	orderKeyAsks    = "asks"    // questions asked in a row without a usable answer
)

// Order problems a customer can report.
const (
	ProblemLate    = "late"
	ProblemDamaged = "damaged"
	ProblemMissing = "missing"
)

// ChoiceOrderLate is the value of the "it's late" quick reply the order
// flow offers when an order is past its expected delivery date.
const ChoiceOrderLate = "_order_late"

// OrderTexts are the order flow's words. Zero fields take the English
// defaults; "{number}" is replaced by the order number the customer gave.
type OrderTexts struct {
	AskNumber        string // default: "Sure, I can check that. What's your order number? ..."
	AskNumberAgain   string // default: "I couldn't see an order number in that. ..."
	AskProof         string // default: "Thanks. To keep your order private, please tell me the email address or delivery postcode ..."
	AskProofAgain    string // default: "I need the email address or the delivery postcode used for the order ..."
	NoMatch          string // default: "Sorry, I couldn't find an order matching those details. ..."
	Locked           string // default: "For your security I can't look up orders in this chat for a while. ..."
	Unavailable      string // default: "Sorry, I can't reach our order system right now ..."
	GiveUp           string // default: "I'm having trouble finding your order. ..."
	ProblemAskNumber string // default: "I'm sorry to hear that. Let me find your order first: what's the order number?"
	Problem          string // default: "I'm sorry about that. I've passed order {number} to our team with its details ..."
	Cancelled        string // default: "OK, I've stopped looking up that order. ..."
	AnythingElse     string // default: "Is there anything else I can help you with? ..."
	PrivateOnly      string // default: "For your privacy I can only look up orders in a private chat. ..."
	FollowUp         string // default: "If it's late, damaged or hasn't arrived, just tell me and I'll pass it to our team."
	LateChoice       string // default: "It's late, please help"
	HumanChoice      string // default: "Talk to a person"
}

func (t OrderTexts) withDefaults() OrderTexts {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&t.AskNumber, "Sure, I can check that. What's your order number? You'll find it in your order confirmation email; it looks like A1001.")
	def(&t.AskNumberAgain, "I couldn't see an order number in that. It's in your order confirmation email and looks like A1001.")
	def(&t.AskProof, "Thanks. To keep your order private, please tell me the email address or the delivery postcode you used for that order.")
	def(&t.AskProofAgain, "I need the email address or the delivery postcode used for the order before I can share anything about it.")
	def(&t.NoMatch, "Sorry, I couldn't find an order matching those details. Please check the order number and the email address or postcode, and try again.")
	def(&t.Locked, "For your security I can't look up orders in this chat for a while. A person from our team can help you instead.")
	def(&t.Unavailable, "Sorry, I can't reach our order system right now, so I can't check your order. Please try again in a few minutes, or talk to a person.")
	def(&t.GiveUp, "I'm having trouble finding your order. A person from our team can help you with it.")
	def(&t.ProblemAskNumber, "I'm sorry to hear that. Let me find your order first: what's the order number?")
	def(&t.Problem, "I'm sorry about that. I've passed order {number} to our team with its details so they can sort it out.")
	def(&t.Cancelled, "OK, I've stopped looking up that order. Is there anything else I can help you with?")
	def(&t.AnythingElse, "Is there anything else I can help you with? Ask me anything, or talk to a person.")
	def(&t.PrivateOnly, "For your privacy I can only look up orders in a private chat. Send me a direct message and I'll help you there.")
	def(&t.FollowUp, "If it's late, damaged or hasn't arrived, just tell me and I'll pass it to our team.")
	def(&t.LateChoice, "It's late, please help")
	def(&t.HumanChoice, "Talk to a person")
	return t
}

// OrderFlowConfig tunes an OrderFlow. The zero value works.
type OrderFlowConfig struct {
	// Logger receives the flow's logs; order numbers and emails in them
	// are masked. Default: discard.
	Logger *slog.Logger
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
	// MaxFailures is how many failed proofs of ownership, per conversation
	// and per order number, lock order lookups. Default 3.
	MaxFailures int
	// FailureWindow is how long failed proofs are remembered: the lockout
	// ends when the window that started with the first failure ends.
	// Default 1 hour.
	FailureWindow time.Duration
	// LapsedAfter is how long without an order makes a customer lapsed, as
	// far as the order flow can tell (only when the source lists a
	// customer's orders). Keep it equal to JourneyRules.LapsedAfter.
	// Default 180 days.
	LapsedAfter time.Duration
	// Location is the time zone dates are told in. Default UTC.
	Location *time.Location
	// ProblemTopics maps topic ids whose questions are order complaints to
	// the problem they report. Default: "damaged-item" → damaged,
	// "missing-parcel" → missing (the topics of the shipped faq.yaml).
	ProblemTopics map[string]string
	// Texts are the flow's words. Default: English.
	Texts OrderTexts
}

// OrderFlow is the order-tracking dialogue, registered for
// ActionTrackOrder with Engine.SetFlow. It asks for the order number, then
// for proof of ownership (the email or postcode on the order), and only
// then tells the status. Nothing about an order, not even whether it
// exists, is said before ownership is proven; a missing order and a wrong
// proof get byte-identical replies, and repeated failures lock lookups.
type OrderFlow struct {
	src   OrderSource
	store Store
	cfg   OrderFlowConfig
	log   *slog.Logger
	texts OrderTexts
}

var (
	_ Flow       = (*OrderFlow)(nil)
	_ FlowKeeper = (*OrderFlow)(nil)
)

// NewOrderFlow returns the flow answering from src, keeping its failure
// counters in s (BucketOrderProofs).
func NewOrderFlow(src OrderSource, s Store, cfg OrderFlowConfig) *OrderFlow {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 3
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = time.Hour
	}
	if cfg.LapsedAfter <= 0 {
		cfg.LapsedAfter = 180 * 24 * time.Hour
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.ProblemTopics == nil {
		cfg.ProblemTopics = map[string]string{"damaged-item": ProblemDamaged, "missing-parcel": ProblemMissing}
	}
	return &OrderFlow{src: src, store: s, cfg: cfg, log: cfg.Logger, texts: cfg.Texts.withDefaults()}
}

// Source returns the order source the flow answers from.
func (f *OrderFlow) Source() OrderSource { return f.src }

// Keeps claims a complaint about an order for the flow even when the
// classifier confidently placed it under another topic: "it never came"
// after the bot told an order's status is about that order, and the person
// it goes to needs the order attached.
func (f *OrderFlow) Keeps(req FlowRequest) bool {
	if req.State == nil || req.State.Data[orderKeyNumber] == "" {
		return false
	}
	return f.problem(req.Text, req.Prediction) != ""
}

// Step handles one customer message of the dialogue.
func (f *OrderFlow) Step(ctx context.Context, req FlowRequest) (FlowReply, error) {
	if req.Conversation.Public {
		// Everyone in the channel would read the proof and the answer, and
		// could replay the proof: order questions go to a private chat.
		return FlowReply{Messages: []Message{f.msg(f.texts.PrivateOnly)}, Outcome: TurnAnswered}, nil
	}
	st := &FlowState{Name: ActionTrackOrder, Step: orderStepNumber, Data: map[string]string{}}
	if req.State != nil {
		st.Step = req.State.Step
		for k, v := range req.State.Data {
			st.Data[k] = v
		}
	}
	ents := req.Prediction.Entities
	if isCancel(req.Text) && len(ents.OrderNumbers)+len(ents.Emails)+len(ents.Postcodes) == 0 {
		return FlowReply{Messages: []Message{f.msg(f.texts.Cancelled)}, Outcome: TurnAnswered}, nil
	}
	if p := f.problem(req.Text, req.Prediction); p != "" {
		st.Data[orderKeyProblem] = p
	}

	number := ""
	if len(ents.OrderNumbers) > 0 {
		number = NormalizeOrderNumber(ents.OrderNumbers[0])
	} else if st.Step == orderStepNumber {
		number = looseOrderNumber(req.Text)
	}
	switched := number != "" && number != st.Data[orderKeyNumber]
	if switched {
		st.Data[orderKeyNumber] = number
		st.Data[orderKeyAsks] = ""
	}
	cur := st.Data[orderKeyNumber]

	if cur == "" {
		if st.Step == orderStepAnswered {
			return f.anythingElse(), nil
		}
		ask := f.texts.AskNumber
		switch {
		case req.State != nil && st.Step == orderStepNumber:
			ask = f.texts.AskNumberAgain
		case st.Data[orderKeyProblem] != "":
			ask = f.texts.ProblemAskNumber
		}
		st.Step = orderStepNumber
		return f.ask(st, ask)
	}

	if isProven(st, cur) {
		if st.Step == orderStepAnswered && !switched && st.Data[orderKeyProblem] == "" {
			// Neither a new order nor a complaint: the dialogue is done.
			return f.anythingElse(), nil
		}
		return f.lookupProven(ctx, req, st, cur)
	}

	// A visitor the shop vouched for, whose email is the order's, needs no
	// further proof. Anyone else is asked exactly as if they were not
	// verified, so the reply reveals nothing.
	if p := req.Customer.Profile; p.Verified && p.Email != "" {
		o, err := f.src.Order(ctx, cur)
		switch {
		case err == nil && NormalizeEmail(o.Email) == NormalizeEmail(p.Email):
			return f.proven(ctx, req, st, o, "verified identity")
		case err != nil && !errors.Is(err, ErrOrderNotFound):
			return f.unavailable(req, st, cur, err), nil
		}
	}

	email, postcode := proofIn(ents, req.Text, st.Step == orderStepProof && !switched)
	if email == "" && postcode == "" {
		ask := f.texts.AskProof
		if st.Step == orderStepProof && !switched {
			ask = f.texts.AskProofAgain
		}
		st.Step = orderStepProof
		return f.ask(st, ask)
	}

	n, err := f.failures(ctx, req.Conversation.ID, cur)
	if err != nil {
		return FlowReply{}, err
	}
	if n >= f.cfg.MaxFailures {
		return f.locked(req, cur, n), nil
	}
	o, err := f.src.Order(ctx, cur)
	switch {
	case err == nil && o.OwnedBy(email, postcode):
		return f.proven(ctx, req, st, o, "proof of ownership")
	case err == nil || errors.Is(err, ErrOrderNotFound):
		// The same words whether the order is missing or the proof wrong.
		n, err := f.fail(ctx, req.Conversation.ID, cur)
		if err != nil {
			return FlowReply{}, err
		}
		f.log.Info("order proof failed", "conversation", req.Conversation.ID, "order", MaskOrderNumber(cur), "failures", n)
		if n >= f.cfg.MaxFailures {
			return f.locked(req, cur, n), nil
		}
		st.Step = orderStepProof
		st.Data[orderKeyAsks] = ""
		return FlowReply{Messages: []Message{f.msg(f.texts.NoMatch)}, State: st, Outcome: TurnUnknown}, nil
	default:
		return f.unavailable(req, st, cur, err), nil
	}
}

// lookupProven answers about an order already proven in this conversation.
func (f *OrderFlow) lookupProven(ctx context.Context, req FlowRequest, st *FlowState, number string) (FlowReply, error) {
	o, err := f.src.Order(ctx, number)
	switch {
	case err == nil:
		return f.proven(ctx, req, st, o, "proven earlier in the conversation")
	case errors.Is(err, ErrOrderNotFound):
		// Deleted since: nothing to tell, and nothing new revealed.
		delete(st.Data, orderKeyNumber)
		st.Step = orderStepNumber
		return FlowReply{Messages: []Message{f.msg(f.texts.NoMatch)}, State: st, Outcome: TurnUnknown}, nil
	default:
		return f.unavailable(req, st, number, err), nil
	}
}

// proven answers with the order's status, or hands a complaint about it to
// a person, and records the order on the contact and the journey.
func (f *OrderFlow) proven(ctx context.Context, req FlowRequest, st *FlowState, o Order, how string) (FlowReply, error) {
	now := f.cfg.Now()
	list := st.Data[orderKeyProven]
	if !isProven(st, o.Number) {
		ids := append(splitProven(list), o.Number)
		if len(ids) > 10 {
			ids = ids[len(ids)-10:]
		}
		st.Data[orderKeyProven] = strings.Join(ids, ",")
	}
	st.Step = orderStepAnswered
	st.Data[orderKeyNumber] = o.Number
	st.Data[orderKeyAsks] = ""
	f.log.Info("order shown", "conversation", req.Conversation.ID, "order", MaskOrderNumber(o.Number), "how", how)
	if err := f.recordOwner(ctx, req.Customer.ID, o); err != nil {
		f.log.Warn("record order owner", "conversation", req.Conversation.ID, "order", MaskOrderNumber(o.Number), "err", err)
	}

	r := FlowReply{OrderNumber: o.Number, State: st}
	orders, listed := f.customerOrders(ctx, o)
	r.Stage, r.StageReason, r.Evidence = orderStage(o, orders)
	if last := lastPurchase(orders); listed && !last.IsZero() && now.Sub(last) >= f.cfg.LapsedAfter {
		// Their newest order is long ago: that, not this order's status,
		// is where they are.
		r.Stage = StageLapsed
		r.StageReason = fmt.Sprintf("no order since %s (%d days)", last.In(f.cfg.Location).Format(time.DateOnly), int(now.Sub(last)/(24*time.Hour)))
	}
	r.PurchasedAt = lastPurchase(orders)

	if p := st.Data[orderKeyProblem]; p != "" {
		card := f.card(o, now)
		card["kind"] = "order_problem"
		card["problem"] = p
		text := strings.ReplaceAll(f.texts.Problem, "{number}", o.Number)
		r.Messages = append(r.Messages, Message{Role: RoleBot, Text: text, Data: card})
		r.Escalate = TriggerOrderProblem
		r.State = nil
		f.log.Info("order problem handed to a person", "conversation", req.Conversation.ID, "order", MaskOrderNumber(o.Number), "problem", p)
		return r, nil
	}
	r.Messages = append(r.Messages, f.status(o, now))
	r.Outcome = TurnAnswered
	return r, nil
}

// lastPurchase is when the customer last ordered, as far as the source
// tells: the newest order not cancelled among orders.
func lastPurchase(orders []Order) time.Time {
	var last time.Time
	for _, x := range orders {
		if x.Status != OrderCancelled && x.PlacedAt.After(last) {
			last = x.PlacedAt
		}
	}
	return last
}

// customerOrders lists the orders of o's email when the source can (listed
// is then true); o is always among them.
func (f *OrderFlow) customerOrders(ctx context.Context, o Order) (orders []Order, listed bool) {
	lister, ok := f.src.(OrderLister)
	if !ok {
		return []Order{o}, false
	}
	list, err := lister.Orders(ctx, NormalizeEmail(o.Email))
	if err != nil {
		f.log.Warn("list customer orders", "email", MaskEmail(o.Email), "err", err)
		return []Order{o}, false
	}
	if !slices.ContainsFunc(list, func(x Order) bool { return x.Number == o.Number }) {
		list = append(list, o)
	}
	return list, true
}

// orderStage is the journey stage a proven order o is evidence of, among
// the customer's orders: a repeat buyer
// (two or more orders not cancelled, when the source can list) is loyal; a
// delivered or returned order is post-purchase; an order on its way is
// purchase. A lone cancelled order is evidence of nothing.
func orderStage(o Order, orders []Order) (Stage, string, string) {
	evidence := "order " + MaskOrderNumber(o.Number)
	n := 0
	for _, x := range orders {
		if x.Status != OrderCancelled {
			n++
		}
	}
	switch {
	case n >= 2:
		return StageLoyalty, fmt.Sprintf("repeat buyer: %d orders", n), evidence
	case o.Status == OrderDelivered:
		return StagePostPurchase, "order delivered", evidence
	case o.Status == OrderReturned:
		return StagePostPurchase, "order returned", evidence
	case o.Status.InTransit():
		return StagePurchase, "order not yet delivered (" + string(o.Status) + ")", evidence
	}
	return "", "", ""
}

// status is the answer: the status in plain words, carrier and tracking,
// the expected delivery date, with a card for channels that render one.
func (f *OrderFlow) status(o Order, now time.Time) Message {
	var b strings.Builder
	carrier := ""
	if o.Carrier != "" {
		carrier = " with " + o.Carrier
	}
	switch o.Status {
	case OrderPlaced:
		fmt.Fprintf(&b, "Order %s has been placed and is waiting to be packed.", o.Number)
	case OrderProcessing:
		fmt.Fprintf(&b, "Order %s is being packed at our warehouse.", o.Number)
	case OrderShipped:
		fmt.Fprintf(&b, "Order %s is on its way%s.", o.Number, carrier)
	case OrderOutForDelivery:
		fmt.Fprintf(&b, "Order %s is out for delivery%s today.", o.Number, carrier)
	case OrderDelivered:
		if o.DeliveredAt.IsZero() {
			fmt.Fprintf(&b, "Order %s was delivered%s.", o.Number, carrier)
		} else {
			fmt.Fprintf(&b, "Order %s was delivered%s on %s.", o.Number, carrier, f.date(o.DeliveredAt, now))
		}
	case OrderCancelled:
		fmt.Fprintf(&b, "Order %s was cancelled. If you paid, the refund goes back to your original payment method.", o.Number)
	case OrderReturned:
		fmt.Fprintf(&b, "Order %s was returned to us.", o.Number)
	default:
		fmt.Fprintf(&b, "Order %s: %s.", o.Number, o.Status.Label())
	}
	if names := itemList(o.Items); names != "" {
		fmt.Fprintf(&b, " It contains %s.", names)
	}
	if o.Status == OrderShipped || o.Status == OrderOutForDelivery || o.Status == OrderDelivered {
		switch {
		case o.TrackingURL != "":
			fmt.Fprintf(&b, " Track it here: %s", o.TrackingURL)
		case o.TrackingNumber != "":
			fmt.Fprintf(&b, " The tracking number is %s.", o.TrackingNumber)
		}
	}
	var choices []Choice
	if o.Status.InTransit() && !o.EstimatedDelivery.IsZero() {
		if f.late(o, now) {
			fmt.Fprintf(&b, "\nIt was due by %s, so it's running late.", f.date(o.EstimatedDelivery, now))
			choices = append(choices, Choice{Label: f.texts.LateChoice, Value: ChoiceOrderLate})
		} else {
			fmt.Fprintf(&b, "\nExpected delivery: %s.", f.date(o.EstimatedDelivery, now))
		}
	}
	if o.Status != OrderCancelled {
		b.WriteString("\n" + f.texts.FollowUp)
	}
	return Message{Role: RoleBot, Text: b.String(), Choices: choices, Data: f.card(o, now)}
}

// late reports whether an order on its way is past its expected delivery
// day.
func (f *OrderFlow) late(o Order, now time.Time) bool {
	y, m, d := o.EstimatedDelivery.In(f.cfg.Location).Date()
	due := time.Date(y, m, d, 0, 0, 0, 0, f.cfg.Location).AddDate(0, 0, 1)
	return o.Status.InTransit() && !o.EstimatedDelivery.IsZero() && !now.Before(due)
}

// card is the structured order for channels that render cards (Discord
// embeds, the agent console). Dates are YYYY-MM-DD.
func (f *OrderFlow) card(o Order, now time.Time) map[string]string {
	c := map[string]string{
		"kind": "order", "order_number": o.Number, "status": string(o.Status), "status_label": o.Status.Label(),
	}
	set := func(k, v string) {
		if v != "" {
			c[k] = v
		}
	}
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(f.cfg.Location).Format(time.DateOnly)
	}
	set("carrier", o.Carrier)
	set("tracking_number", o.TrackingNumber)
	set("tracking_url", o.TrackingURL)
	set("placed_at", day(o.PlacedAt))
	set("shipped_at", day(o.ShippedAt))
	set("delivered_at", day(o.DeliveredAt))
	if o.Status.InTransit() {
		set("estimated_delivery", day(o.EstimatedDelivery))
	}
	set("items", itemList(o.Items))
	if f.late(o, now) {
		c["late"] = "true"
	}
	return c
}

// date tells a day in words: "Thursday 5 November", with the year when it
// is not this year's.
func (f *OrderFlow) date(t, now time.Time) string {
	t = t.In(f.cfg.Location)
	if t.Year() != now.In(f.cfg.Location).Year() {
		return t.Format("Monday 2 January 2006")
	}
	return t.Format("Monday 2 January")
}

func itemList(items []OrderItem) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		if it.Quantity > 1 {
			parts = append(parts, fmt.Sprintf("%d × %s", it.Quantity, it.Name))
		} else {
			parts = append(parts, it.Name)
		}
	}
	return strings.Join(parts, ", ")
}

func (f *OrderFlow) msg(text string, choices ...Choice) Message {
	return Message{Role: RoleBot, Text: text, Choices: choices}
}

func (f *OrderFlow) human() Choice { return Choice{Label: f.texts.HumanChoice, Value: ChoiceHuman} }

// ask asks for what is missing; after three questions in a row without a
// usable answer it gives up and offers a person.
func (f *OrderFlow) ask(st *FlowState, text string) (FlowReply, error) {
	n, _ := strconv.Atoi(st.Data[orderKeyAsks])
	n++
	if n >= 4 {
		return FlowReply{Messages: []Message{f.msg(f.texts.GiveUp, f.human())}, Outcome: TurnUnknown}, nil
	}
	st.Data[orderKeyAsks] = strconv.Itoa(n)
	return FlowReply{Messages: []Message{f.msg(text)}, State: st}, nil
}

func (f *OrderFlow) anythingElse() FlowReply {
	return FlowReply{Messages: []Message{f.msg(f.texts.AnythingElse, f.human())}, Outcome: TurnAnswered}
}

// locked ends the flow with the lockout message: it offers a person.
func (f *OrderFlow) locked(req FlowRequest, number string, failures int) FlowReply {
	f.log.Warn("order lookups locked", "conversation", req.Conversation.ID, "order", MaskOrderNumber(number), "failures", failures)
	return FlowReply{Messages: []Message{f.msg(f.texts.Locked, f.human())}, Outcome: TurnUnknown}
}

// unavailable says the order system cannot answer and offers a person; the
// flow stays where it was so the customer can simply try again.
func (f *OrderFlow) unavailable(req FlowRequest, st *FlowState, number string, err error) FlowReply {
	f.log.Warn("order source unavailable", "conversation", req.Conversation.ID, "order", MaskOrderNumber(number), "err", err)
	if st.Step != orderStepAnswered {
		st.Step = orderStepProof
	}
	return FlowReply{Messages: []Message{f.msg(f.texts.Unavailable, f.human())}, State: st, Outcome: TurnUnknown}
}

// OrderOwner is what a customer proved: the orders they own and the emails
// on them, most recent last.
type OrderOwner struct {
	Numbers []string `json:"numbers,omitempty"`
	Emails  []string `json:"emails,omitempty"`
}

// maxOwned bounds the orders and emails remembered per customer.
const maxOwned = 20

func (f *OrderFlow) recordOwner(ctx context.Context, customerID string, o Order) error {
	if customerID == "" {
		return nil
	}
	remember := func(list []string, v string) []string {
		list = slices.DeleteFunc(list, func(x string) bool { return x == v })
		list = append(list, v)
		if len(list) > maxOwned {
			list = list[len(list)-maxOwned:]
		}
		return list
	}
	return f.store.Update(ctx, func(tx Tx) error {
		var ow OrderOwner
		if _, err := tx.Get(BucketOrderOwners, []byte(customerID), &ow); err != nil {
			return err
		}
		ow.Numbers = remember(ow.Numbers, o.Number)
		ow.Emails = remember(ow.Emails, NormalizeEmail(o.Email))
		return tx.Put(BucketOrderOwners, []byte(customerID), ow)
	})
}

// OwnedOrders returns what a customer proved they own through the order
// flow (empty when nothing).
func OwnedOrders(ctx context.Context, s Store, customerID string) (OrderOwner, error) {
	var ow OrderOwner
	err := s.View(ctx, func(tx Tx) error {
		ow = OrderOwner{}
		_, err := tx.Get(BucketOrderOwners, []byte(customerID), &ow)
		return err
	})
	if err != nil {
		return OrderOwner{}, fmt.Errorf("bot: owned orders: %w", err)
	}
	return ow, nil
}

// proofFailures is one failure counter of BucketOrderProofs.
type proofFailures struct {
	Count int       `json:"count"`
	Since time.Time `json:"since"`
}

func proofKeys(convID, number string) [][]byte {
	return [][]byte{[]byte("c/" + convID), []byte("n/" + number)}
}

// failures returns the higher of the conversation's and the order
// number's failure counts within the window.
func (f *OrderFlow) failures(ctx context.Context, convID, number string) (int, error) {
	now := f.cfg.Now()
	high := 0
	err := f.store.View(ctx, func(tx Tx) error {
		high = 0
		for _, k := range proofKeys(convID, number) {
			var pf proofFailures
			ok, err := tx.Get(BucketOrderProofs, k, &pf)
			if err != nil {
				return err
			}
			if ok && now.Sub(pf.Since) < f.cfg.FailureWindow {
				high = max(high, pf.Count)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bot: order flow: read failures: %w", err)
	}
	return high, nil
}

// fail counts one failed proof against the conversation and the order
// number (whether or not that order exists) and returns the higher count.
func (f *OrderFlow) fail(ctx context.Context, convID, number string) (int, error) {
	now := f.cfg.Now()
	high := 0
	err := f.store.Update(ctx, func(tx Tx) error {
		high = 0
		for _, k := range proofKeys(convID, number) {
			var pf proofFailures
			ok, err := tx.Get(BucketOrderProofs, k, &pf)
			if err != nil {
				return err
			}
			if !ok || now.Sub(pf.Since) >= f.cfg.FailureWindow {
				pf = proofFailures{Since: now}
			}
			pf.Count++
			high = max(high, pf.Count)
			if err := tx.Put(BucketOrderProofs, k, pf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bot: order flow: count failure: %w", err)
	}
	return high, nil
}

func splitProven(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func isProven(st *FlowState, number string) bool {
	return slices.Contains(splitProven(st.Data[orderKeyProven]), number)
}

// proofIn picks the one proof a message offers: its first email, else its
// first postcode. One guess per message, however many addresses it lists.
// When loose, a short bare answer ("90210") counts as a postcode: the
// customer was just asked for one.
func proofIn(e Entities, text string, loose bool) (email, postcode string) {
	if len(e.Emails) > 0 {
		return e.Emails[0], ""
	}
	if len(e.Postcodes) > 0 {
		return "", e.Postcodes[0]
	}
	if !loose {
		return "", ""
	}
	t := strings.TrimSpace(strings.Trim(strings.TrimSpace(text), ".!?"))
	if len(t) < 3 || len(t) > 10 || !strings.ContainsAny(t, "0123456789") {
		return "", ""
	}
	for _, r := range t {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == ' ' || r == '-') {
			return "", ""
		}
	}
	return "", t
}

// looseOrderNumber accepts a bare answer to "what's your order number?"
// that the entity extractor did not recognise: one token of 3-32
// characters with a digit ("1001", "nw-88412").
func looseOrderNumber(text string) string {
	t := strings.Trim(strings.TrimSpace(text), ".!?")
	t = NormalizeOrderNumber(t)
	if len(t) < 3 || !strings.ContainsAny(t, "0123456789") || !ValidOrderNumber(t) {
		return ""
	}
	return t
}

// problem recognises a complaint about an order: by its words, or by a
// problem topic the classifier thought likely.
func (f *OrderFlow) problem(text string, pred Prediction) string {
	if p := problemWords(text); p != "" {
		return p
	}
	if pred.Verdict != Unknown {
		if p, ok := f.cfg.ProblemTopics[pred.Intent]; ok {
			return p
		}
	}
	return ""
}

var (
	problemPhrases = []struct{ phrase, kind string }{
		{"never came", ProblemMissing}, {"never arrived", ProblemMissing}, {"never received", ProblemMissing},
		{"not arrived", ProblemMissing}, {"hasn't arrived", ProblemMissing}, {"hasnt arrived", ProblemMissing},
		{"has not arrived", ProblemMissing}, {"didn't arrive", ProblemMissing}, {"didnt arrive", ProblemMissing},
		{"did not arrive", ProblemMissing}, {"not received", ProblemMissing}, {"haven't received", ProblemMissing},
		{"havent received", ProblemMissing}, {"haven't got it", ProblemMissing}, {"not delivered", ProblemMissing},
		{"wasn't delivered", ProblemMissing}, {"hasn't come", ProblemMissing}, {"hasnt come", ProblemMissing},
		{"not here", ProblemMissing}, {"nothing here", ProblemMissing}, {"still not here", ProblemMissing},
		{"still waiting", ProblemLate}, {"should have arrived", ProblemLate}, {"should have been here", ProblemLate},
		{"taking too long", ProblemLate}, {"taking ages", ProblemLate},
		{"is lost", ProblemMissing}, {"got lost", ProblemMissing}, {"been lost", ProblemMissing},
		{"is missing", ProblemMissing}, {"are missing", ProblemMissing}, {"missing from", ProblemMissing},
	}
	problemWordList = map[string]string{
		"late": ProblemLate, "overdue": ProblemLate, "delayed": ProblemLate,
		"damaged": ProblemDamaged, "broken": ProblemDamaged, "torn": ProblemDamaged, "ripped": ProblemDamaged,
		"dented": ProblemDamaged, "crushed": ProblemDamaged, "faulty": ProblemDamaged, "defective": ProblemDamaged,
		"smashed": ProblemDamaged,
		"stolen":  ProblemMissing,
	}
)

// problemWords finds complaint words and phrases; single words must stand
// alone ("late" but not "chocolate" or "latest").
func problemWords(text string) string {
	lower := strings.ToLower(strings.NewReplacer("’", "'", "‘", "'").Replace(text))
	for _, p := range problemPhrases {
		if strings.Contains(lower, p.phrase) {
			return p.kind
		}
	}
	for _, w := range strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }) {
		if k, ok := problemWordList[strings.Trim(w, "'")]; ok {
			return k
		}
	}
	return ""
}

// isCancel recognises a customer abandoning the lookup.
func isCancel(text string) bool {
	t := strings.ToLower(strings.Trim(strings.TrimSpace(text), ".!"))
	switch t {
	case "cancel", "stop", "never mind", "nevermind", "forget it", "no thanks", "no thank you", "quit", "exit":
		return true
	}
	return false
}
