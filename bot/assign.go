package bot

import "context"

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
	return e.giveWaiting(ctx, convID, to, admin.by(), "assigned to "+to.ID, func(holder string) error {
		return Errorf(ECodeConflict, "This conversation is already with an agent (%s); transfer it instead.", holder)
	})
}
