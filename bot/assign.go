package bot

import (
	"context"
	"time"
)

// Assign gives a waiting conversation to an agent chosen by an admin, as
// if that agent had claimed it: the transition is recorded with the admin
// as its cause ("assigned to <id>"), the contact's agent is set and the
// customer is told who joined. Only admins may assign (ECodeForbidden),
// only waiting conversations (ECodeConflict: one an agent holds is moved
// with Transfer), and to is required (ECodeInvalid).
func (e *Engine) Assign(ctx context.Context, convID string, admin Agent, to Agent) (Conversation, error) {
	if !admin.IsAdmin() {
		return Conversation{}, Errorf(ECodeForbidden, "Only an admin can assign a conversation.")
	}
	if to.ID == "" {
		return Conversation{}, Errorf(ECodeInvalid, "Choose the agent to assign it to.")
	}
	op, err := e.agentUpdate(ctx, convID, func(op *agentOp, now time.Time) error {
		switch op.conv.State {
		case StateWaiting:
		case StateAgent:
			return Errorf(ECodeConflict, "This conversation is already with an agent (%s); transfer it instead.", op.conv.AgentID)
		default:
			return Errorf(ECodeConflict, "This conversation is not waiting for a person.")
		}
		op.conv.AgentID, op.contact.AgentID = to.ID, to.ID
		op.tr = &Transition{To: StateAgent, By: admin.by(), Reason: "assigned to " + to.ID}
		name := to.Name
		if name == "" {
			name = "An agent"
		}
		op.msgs = append(op.msgs, Message{Role: RoleSystem, Text: name + " has joined the conversation."})
		return nil
	})
	if err != nil {
		return Conversation{}, err
	}
	e.deliverAll(ctx, op.conv, op.msgs)
	e.notifyQueue(ctx)
	return op.conv, nil
}
