package bot

import "context"

// Topic is one entry of the shop's knowledge (one FAQ entry): the questions
// that ask for it, its answer, and the journey stage asking it signals.
type Topic struct {
	// ID is the stable identifier, also the intent name the classifier returns.
	ID string
	// Title is a short human label used on quick-reply buttons; defaults to
	// the first question.
	Title string
	// Stage is the journey stage a customer asking this is at.
	Stage Stage
	// Questions are example phrasings the classifier learns from.
	Questions []string
	// Answer is what the bot replies.
	Answer string
	// Human marks topics that always need a person: the bot answers (if it
	// has an answer) and hands the conversation to an agent.
	Human bool
	// Action names a built-in flow instead of a plain answer: ActionHandoff
	// or ActionTrackOrder. Empty for plain answers.
	Action string
}

// Built-in topic actions.
const (
	// ActionHandoff: the customer asks for a person.
	ActionHandoff = "handoff"
	// ActionTrackOrder: the customer asks about an order.
	ActionTrackOrder = "track_order"
)

// Label is the text for a quick-reply button offering this topic.
func (t Topic) Label() string {
	if t.Title != "" {
		return t.Title
	}
	if len(t.Questions) > 0 {
		return t.Questions[0]
	}
	return t.ID
}

// Verdict is what the classifier concluded about its own prediction.
type Verdict int

const (
	// Unknown: the message is outside what the bot knows.
	Unknown Verdict = iota
	// Unsure: the best intents are plausible but not certain; ask.
	Unsure
	// Confident: answer with the top intent.
	Confident
)

// String names the verdict for logs and the contact ledger.
func (v Verdict) String() string {
	switch v {
	case Confident:
		return "confident"
	case Unsure:
		return "unsure"
	default:
		return "unknown"
	}
}

// Scored is one candidate intent with its calibrated confidence in [0,1].
type Scored struct {
	Intent     string
	Confidence float64
}

// Entities are values found in a message that flows need, whatever intent
// it has. Order numbers are normalised to upper case without a leading '#'.
type Entities struct {
	OrderNumbers []string `json:"order_numbers,omitempty"`
	Emails       []string `json:"emails,omitempty"`
	Postcodes    []string `json:"postcodes,omitempty"`
}

// Prediction is the classifier's answer for one message.
type Prediction struct {
	// Intent is the top topic id; empty when nothing matched at all.
	Intent string
	// Confidence is the calibrated probability that Intent is right.
	Confidence float64
	// Verdict says whether to answer, ask, or admit not knowing.
	Verdict Verdict
	// Alternatives are the best candidates, best first (Intent included),
	// at most three: the clarifying question offers them as buttons.
	Alternatives []Scored
	// Entities found in the text.
	Entities Entities
	// Language is a BCP 47 base language ("en") when detected, "" if unsure.
	// Non-English messages get a polite reply offering a person.
	Language string
}

// Classifier maps a customer's text to an intent. Implementations are
// trained on a fixed set of topics and are safe for concurrent use.
type Classifier interface {
	Classify(ctx context.Context, text string) (Prediction, error)
}
