package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// Session action kinds (Action.Kind): what an agent can do to a session
// by its ID, without a folder gesture. Each is the folder gesture's rule
// (moveSession) or the forward's (transferByForward), not a copy of it.
const (
	ActResolve  = "resolve"  // as a move to Resolved: claims a waiting session first
	ActPause    = "pause"    // as a move to Later (allow_personal_queue)
	ActClose    = "close"    // what the lifecycle timer does when its days are up
	ActAssign   = "assign"   // Arg: a login. Oneself: a claim; another: supervisors (Agents/<login>)
	ActTransfer = "transfer" // Arg: a queue name or address, or a login (as a forward there)
	ActNote     = "note"     // Arg: the text of an internal note
	ActCc       = "cc"       // Arg: addresses, comma separated, or "none": the session's reply Cc
	ActWrapup   = "wrapup"   // Arg: a wrap-up code of the session's queue
)

// ActionKinds lists every session action kind.
var ActionKinds = []string{ActResolve, ActPause, ActClose, ActAssign, ActTransfer, ActNote, ActCc, ActWrapup}

// Action is one session action: Kind is one of the Act* constants, Arg
// its argument (empty for resolve, pause, close).
type Action struct {
	Kind string
	Arg  string
}

// ActionError says which of the actions given to Act failed, and why;
// KindOf sees the Kind of the cause.
type ActionError struct {
	Index  int // in the actions given, from 0
	Action Action
	Err    error
}

func (e *ActionError) Error() string { return e.Action.Kind + ": " + e.Err.Error() }
func (e *ActionError) Unwrap() error { return e.Err }

// Act applies acts, in order, to session id as agent a, in one store
// transaction: all of them, or (an *ActionError naming the first that
// failed) none. IMAP clients see the result like that of a folder
// gesture.
func (r *Router) Act(ctx context.Context, a *Agent, id string, acts ...Action) error {
	if len(acts) == 0 {
		return nil
	}
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		return r.actTx(tx, a, id, acts)
	})
}

// actTx is Act inside the caller's transaction (Submit applies an agent's
// email commands in the submission's).
func (r *Router) actTx(tx store.Tx, a *Agent, id string, acts []Action) error {
	for i, act := range acts {
		if err := r.actOne(tx, a, id, act); err != nil {
			return &ActionError{Index: i, Action: act, Err: err}
		}
	}
	return nil
}

func (r *Router) actOne(tx store.Tx, a *Agent, id string, act Action) error {
	s, err := tx.Session(id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(KindNotFound, "no session %s", id)
		}
		return err
	}
	if !a.mayActOn(s) {
		return errorf(KindForbidden, "session %s belongs to queue %s, which you do not serve", s.ID, s.Queue)
	}
	arg := strings.TrimSpace(act.Arg)
	switch act.Kind {
	case ActNote:
		return r.noteText(tx, a, s, arg)
	case ActCc:
		return r.setCc(tx, a, s, arg)
	case ActWrapup:
		return r.wrapup(tx, a, s, arg)
	case ActResolve, ActPause, ActClose, ActAssign, ActTransfer:
		return r.moveByAction(tx, a, id, act.Kind, arg)
	}
	return errorf(KindInvalid, "unknown action %q (one of %s)", act.Kind, strings.Join(ActionKinds, ", "))
}

// moveByAction applies an action that moves session id: the rules of the
// folder gestures.
func (r *Router) moveByAction(tx store.Tx, a *Agent, id, kind, arg string) error {
	switch {
	case arg == "" && kind == ActAssign:
		return errorf(KindInvalid, "assign needs an agent's login")
	case arg == "" && kind == ActTransfer:
		return errorf(KindInvalid, "transfer needs a queue or an agent's login")
	}
	if arg != "" && kind != ActAssign && kind != ActTransfer {
		return errorf(KindInvalid, "%s takes no argument (got %q)", kind, arg)
	}
	s, err := openSession(tx, id)
	if err != nil {
		return err
	}
	old := s
	personDecides(&s)
	unread := false
	switch kind {
	case ActResolve:
		if err = r.claim(tx, a, &s, "claimed to resolve it"); err == nil {
			err = r.resolve(tx, a, &s, "resolved")
		}
	case ActPause:
		if err = r.claim(tx, a, &s, "claimed to pause it"); err == nil {
			err = r.park(tx, a, &s, "paused (in Later)")
		}
	case ActClose:
		if err = r.claim(tx, a, &s, "claimed to close it"); err == nil {
			err = r.closeSession(tx, a.Login, &s, "closed")
		}
	case ActAssign:
		unread, err = r.assignAction(tx, a, old, &s, config.Canonical(arg))
	case ActTransfer:
		unread, err = r.transferAction(tx, a, old, &s, arg)
	}
	if err != nil {
		return err
	}
	_, err = r.finishMove(tx, old, &s, unread)
	return err
}

// assignAction gives s to login: oneself is a claim into one's INBOX (as
// moving it there); another agent is a supervisor's move to
// Agents/<login>. It reports whether the session changed hands.
func (r *Router) assignAction(tx store.Tx, a *Agent, old store.Session, s *store.Session, login string) (bool, error) {
	if _, ok := r.config().AgentByLogin(login); !ok {
		return false, errorf(KindInvalid, "no agent %s", login)
	}
	if login == a.Login {
		if err := r.claim(tx, a, s, "claimed by assigning it to themselves"); err != nil {
			return false, err
		}
		return false, r.resume(tx, a, s, false)
	}
	if !config.IsSupervisor(a.Role) {
		return false, errorf(KindForbidden, "only supervisors assign sessions to other agents: transfer it to %s instead", login)
	}
	if old.Agent == login {
		s.TransferredAt = old.TransferredAt // nothing changed hands
		return false, checkServes(r.config(), login, s.Queue)
	}
	return true, r.handTo(tx, a, s, login, "assigned", "assigned to "+login)
}

// transferAction transfers s to target: a queue (by name or address) as
// moving it to Queues/<queue>, or an agent's login as forwarding it to
// them. It reports whether the session changed hands.
func (r *Router) transferAction(tx store.Tx, a *Agent, old store.Session, s *store.Session, target string) (bool, error) {
	cfg := r.config()
	q := cfg.QueueByName(target)
	if q == nil {
		q, _ = cfg.QueueByAddress(target)
	}
	if q != nil {
		if waitsIn(old, q.Name) {
			return false, nil
		}
		return false, r.toQueue(tx, a, old, s, q.Name, "")
	}
	login := config.Canonical(target)
	if _, ok := cfg.AgentByLogin(login); !ok {
		return false, errorf(KindInvalid, "%q is neither a queue nor an agent", target)
	}
	if err := r.mayTransferToAgent(a, *s); err != nil {
		return false, err
	}
	return true, r.handTo(tx, a, s, login, "transferred", "to "+login)
}

// maxNoteText bounds the text of a note action.
const maxNoteText = 64 << 10

// noteText files text as an internal note of s by a, as a mail to the
// session's note address would be.
func (r *Router) noteText(tx store.Tx, a *Agent, s store.Session, text string) error {
	switch {
	case text == "":
		return errorf(KindInvalid, "note needs a text")
	case len(text) > maxNoteText:
		return errorf(KindTooBig, "a note's text is at most %d bytes", maxNoteText)
	}
	raw := r.noteMessage(a, s, text)
	in := parseInbound(raw, Envelope{From: a.Login}, r.config().Hostname)
	_, err := r.note(tx, a, in, s, "note", "internal note")
	return err
}

// noteMessage is the mail an agent would send to the note address of s
// with text as its body.
func (r *Router) noteMessage(a *Agent, s store.Session, text string) []byte {
	var b bytes.Buffer
	from := mail.Address{Name: a.displayName(), Address: a.Login}
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "Date: %s\r\n", r.now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", newToken(16), r.config().Hostname)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", s.Subject))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		b.WriteString(line + "\r\n")
	}
	return b.Bytes()
}

// setCc sets the copy list of the session's replies (store.Session.Cc):
// the addresses of list, comma separated, or none. Our own addresses are
// left out, as from a Cc the agent writes (applyCopies).
func (r *Router) setCc(tx store.Tx, a *Agent, s store.Session, list string) error {
	cc, err := r.parseCc(list)
	if err != nil {
		return err
	}
	old := s
	s.Cc = cc
	detail := "reply copies cleared"
	if len(cc) > 0 {
		detail = "reply copies: " + strings.Join(cc, ", ")
	}
	if err := r.event(tx, s.ID, "cc", a.Login, detail); err != nil {
		return err
	}
	_, err = r.finishMove(tx, old, &s, false)
	return err
}

// parseCc reads the argument of a cc action: "none", or addresses as a
// Cc header field holds them.
func (r *Router) parseCc(list string) ([]string, error) {
	switch {
	case list == "":
		return nil, errorf(KindInvalid, `cc needs addresses, or "none" to clear the copies`)
	case strings.EqualFold(list, "none"):
		return nil, nil
	}
	addrs, err := mail.ParseAddressList(list)
	if err != nil {
		return nil, errorf(KindInvalid, "cc: %q is not a list of addresses", list)
	}
	if len(addrs) > maxHeaderAddr {
		return nil, errorf(KindLimit, "cc: at most %d addresses", maxHeaderAddr)
	}
	var out []string
	for _, ad := range addrs {
		ad.Address = strings.ToLower(ad.Address)
		switch {
		case r.isOurs(ad.Address):
		case ad.Name == "":
			out = append(out, ad.Address)
		default:
			out = append(out, ad.String())
		}
	}
	return out, nil
}
