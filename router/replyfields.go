package router

import (
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mxdesk/config"
	"mxdesk/store"
)

// replyPrefix matches one reply or forward prefix clients put before a
// subject ("Re:", "AW[2]:", Italian "R:" and "I:"), in the languages
// agents' clients use.
var replyPrefix = regexp.MustCompile(`(?i)^\s*(re|r|fwd?|aw|wg|sv|vs|tr|i|rif|antw|odp|res)\s*(\[\d+\])?\s*:\s*`)

// baseSubject is a subject without its reply/forward prefixes (mutt's
// "[Name: subject]" forward form included) and without any [S-XXXXX]
// session tag.
func baseSubject(subject string) string {
	if m := muttForward.FindStringSubmatch(subject); m != nil {
		subject = m[1]
	}
	s := withoutSessionTags(subject)
	for {
		loc := replyPrefix.FindStringIndex(s)
		if loc == nil {
			return s
		}
		s = s[loc[1]:]
	}
}

// withoutSessionTags removes every [S-XXXXX] tag of a subject.
func withoutSessionTags(subject string) string {
	return collapse(sessionTag.ReplaceAllString(subject, " "))
}

// replySubject is the subject of an agent's reply in session s (SPEC §7).
// With subject_session_id the agent can't change it: "Re: <the session's
// subject> [S-XXXXX]" ("Re: " left out while the customer has not written
// yet). Otherwise, and with allow_subject_edit, the agent's subject is
// kept as typed: the session goes on by its reply address and references,
// whatever the subject says.
func replySubject(q *config.Queue, s store.Session, typed string) string {
	if !q.SubjectSessionID {
		return typed
	}
	base := baseSubject(s.Subject)
	if base == "" {
		base = baseSubject(typed)
	}
	if s.LastInboundID != "" || s.Previous != "" {
		base = "Re: " + base
	}
	return strings.TrimSpace(base + " [" + s.ID + "]")
}

// copyList is the address list of a header field as a session keeps
// it: display names kept, our own addresses left out, at most
// maxHeaderAddr.
func (r *Router) copyList(h textproto.Header, field string) []string {
	mh := mail.Header{Header: message.Header{Header: h}}
	list, err := mh.AddressList(field)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range list {
		if len(out) == maxHeaderAddr {
			break
		}
		a.Address = strings.ToLower(a.Address)
		switch {
		case r.isOurs(a.Address):
		case a.Name == "":
			out = append(out, a.Address)
		default:
			out = append(out, a.String())
		}
	}
	return out
}

// listAddresses returns the lower-case addresses of a list copyList
// made (older sessions hold bare addresses, which parse too).
func listAddresses(list []string) []string {
	var out []string
	for _, v := range list {
		if a, err := mail.ParseAddress(v); err == nil {
			out = append(out, strings.ToLower(a.Address))
		}
	}
	return out
}

// applyCopies sets the Cc header of a reply in session s and the
// session's copy lists, and returns rcpts with the copies added ("the
// configured last wins", SPEC §7). A Cc header the agent wrote replaces
// the session's Cc (without our own addresses: a Cc of only the queue
// address empties it); without one the reply goes to the session's Cc.
// Recipients of the envelope that are in neither To nor Cc are the
// agent's Bcc and replace the session's Bcc (only our own addresses:
// none); a reply without them goes to the session's Bcc too, never
// named in a header.
func (r *Router) applyCopies(h *textproto.Header, in inbound, s *store.Session, rcpts []string) []string {
	if in.hadCc {
		s.Cc = r.copyList(in.header, "Cc")
	} else {
		rcpts = appendNew(rcpts, listAddresses(s.Cc)...)
	}
	if len(s.Cc) > 0 {
		h.Set("Cc", strings.Join(s.Cc, ", "))
	} else {
		h.Del("Cc")
	}
	if bcc := blindRecipients(in); len(bcc) > 0 {
		s.Bcc = slices.DeleteFunc(bcc, r.isLocal)
	} else {
		rcpts = appendNew(rcpts, s.Bcc...)
	}
	if len(s.Bcc) == 0 {
		s.Bcc = nil
	}
	return rcpts
}

// blindRecipients are the envelope recipients of a message that its To
// and Cc, as written, don't name.
func blindRecipients(in inbound) []string {
	var out []string
	for _, rcpt := range in.rcpts {
		if !slices.Contains(in.named, rcpt) && !slices.Contains(out, rcpt) {
			out = append(out, rcpt)
		}
	}
	return out
}

// appendNew appends the addresses of add that list lacks.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}
