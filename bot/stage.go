package bot

import (
	"fmt"
	"strings"
)

// Stage is where a customer is in their journey with the shop. Every contact
// is stamped with the stage the customer was at when it happened.
type Stage string

// The seven journey stages. Lapsed customers are prospects again: a lapsed
// customer who comes back moves forward from awareness like anyone else.
const (
	StageAwareness     Stage = "awareness"
	StageConsideration Stage = "consideration"
	StagePurchase      Stage = "purchase"
	StagePostPurchase  Stage = "post-purchase"
	StageLoyalty       Stage = "loyalty"
	StageAdvocacy      Stage = "advocacy"
	StageLapsed        Stage = "lapsed"
)

// Stages lists every stage in journey order, lapsed last.
var Stages = []Stage{
	StageAwareness, StageConsideration, StagePurchase, StagePostPurchase,
	StageLoyalty, StageAdvocacy, StageLapsed,
}

// ErrUnknownStage reports a stage name that is not one of Stages.
var ErrUnknownStage = fmt.Errorf("unknown journey stage")

// ParseStage returns the stage named s (case-insensitive; "postpurchase" and
// "post_purchase" are accepted for post-purchase).
func ParseStage(s string) (Stage, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.ReplaceAll(n, "_", "-")
	if n == "postpurchase" {
		n = "post-purchase"
	}
	for _, st := range Stages {
		if string(st) == n {
			return st, nil
		}
	}
	return "", fmt.Errorf("%w %q (want one of %s)", ErrUnknownStage, s, stageList())
}

func stageList() string {
	names := make([]string, len(Stages))
	for i, s := range Stages {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// Valid reports whether s is one of Stages.
func (s Stage) Valid() bool {
	_, err := ParseStage(string(s))
	return err == nil && s != ""
}

// Rank orders stages along the journey: awareness 0 … advocacy 5. Lapsed
// ranks -1 because a lapsed customer is a prospect again and any evidence
// moves them forward.
func (s Stage) Rank() int {
	switch s {
	case StageAwareness:
		return 0
	case StageConsideration:
		return 1
	case StagePurchase:
		return 2
	case StagePostPurchase:
		return 3
	case StageLoyalty:
		return 4
	case StageAdvocacy:
		return 5
	default:
		return -1
	}
}

// IsProspect reports whether the customer has not (or no longer) bought:
// awareness, consideration and lapsed.
func (s Stage) IsProspect() bool {
	return s == StageAwareness || s == StageConsideration || s == StageLapsed || s == ""
}
