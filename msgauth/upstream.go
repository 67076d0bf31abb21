package msgauth

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// Disposition is what the [inbound] DMARC rules make of a verdict: the
// MX and the mailbox connector decide by the same function.
type Disposition int

const (
	Accept     Disposition = iota // no DMARC failure
	Fail                          // a failure filed as usual (p=none, or the rule off): no auto-reply
	Quarantine                    // filed as spam (p=quarantine, or p=reject without dmarc_reject)
	Reject                        // refused (p=reject with dmarc_reject)
)

// Disposition decides what to do with a message by its DMARC verdict:
// reject and quarantine are inbound.dmarc_reject and
// inbound.dmarc_quarantine.
func (d DMARCResult) Disposition(reject, quarantine bool) Disposition {
	if d.Result != "fail" {
		return Accept
	}
	switch {
	case d.Policy == "reject" && reject:
		return Reject
	case (d.Policy == "reject" || d.Policy == "quarantine") && quarantine:
		return Quarantine
	}
	return Fail
}

// MicrosoftAuthservID is the authserv-id that stands for Exchange
// Online: it writes its Authentication-Results without one ("spf=pass
// (sender IP is ...) ...; dmarc=fail action=quarantine ..."), so a
// trusted id of mx.microsoft.com (its ARC-Authentication-Results id)
// matches a field that starts with a result.
const MicrosoftAuthservID = "mx.microsoft.com"

// UpstreamDMARC reads the DMARC verdict that the server with authserv-id
// trusted recorded in raw's header: the topmost Authentication-Results
// field with that id counts (a server adds its own on top, RFC 8601);
// fields of other ids, above or below, are anyone's and ignored. The
// policy comes from what the server wrote with the result: Google's and
// OpenDMARC's comment "(p=REJECT sp=REJECT dis=NONE)", Microsoft's
// "action=quarantine", the "policy.dmarc=reject" property; without any,
// it is "none". ok is false when no such field has a dmarc result.
func UpstreamDMARC(raw []byte, trusted string) (d DMARCResult, ok bool) {
	if trusted == "" {
		return d, false
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return d, false
	}
	for _, v := range h.Values(authResultsField) {
		id, resinfos := splitAuthResults(v)
		if !trustedID(id, trusted) {
			continue
		}
		for _, r := range resinfos {
			if r.method() == "dmarc" {
				return r.dmarc(id), true
			}
		}
		return d, false
	}
	return d, false
}

// trustedID tells whether a field's authserv-id is the trusted one.
func trustedID(id, trusted string) bool {
	if id == "" {
		return strings.EqualFold(trusted, MicrosoftAuthservID)
	}
	return strings.EqualFold(strings.TrimSuffix(id, "."), strings.TrimSuffix(trusted, "."))
}

// resinfo is one "method=result prop=value (comment)" of a field.
type resinfo struct {
	words    []string // outside comments, unquoted
	comments []string
}

func (r resinfo) method() string {
	if len(r.words) == 0 {
		return ""
	}
	m, _, _ := strings.Cut(r.words[0], "=")
	return strings.ToLower(m)
}

// value is the word key=..., without case in the key.
func (r resinfo) value(key string) string {
	for _, w := range r.words {
		if k, v, ok := strings.Cut(w, "="); ok && strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// dmarc reads a dmarc resinfo written by server id.
func (r resinfo) dmarc(id string) DMARCResult {
	if id == "" {
		id = MicrosoftAuthservID
	}
	d := DMARCResult{Result: strings.ToLower(r.value("dmarc")), Domain: strings.ToLower(r.value("header.from")), Policy: r.policy()}
	d.Reason = "upstream " + id + ": dmarc=" + d.Result + " (policy " + d.Policy + ")"
	if why := r.value("reason"); why != "" {
		d.Reason += ": " + why
	}
	return d
}

// policy is the sender domain's policy as the server wrote it: a
// policy.dmarc property, Microsoft's action, or p=/sp= in a comment (sp=
// for a subdomain of the organizational domain).
func (r resinfo) policy() string {
	if p := r.value("policy.dmarc"); p != "" {
		return knownPolicy(p)
	}
	if a := r.value("action"); a != "" {
		return microsoftAction(a)
	}
	from := strings.ToLower(r.value("header.from"))
	sub := from != "" && orgDomain(from) != from
	p, sp := "", ""
	for _, c := range r.comments {
		for _, f := range strings.FieldsFunc(c, func(c rune) bool { return c == ' ' || c == ',' || c == '\t' || c == ';' }) {
			k, v, _ := strings.Cut(f, "=")
			switch strings.ToLower(k) {
			case "p", "policy":
				p = v
			case "sp":
				sp = v
			}
		}
	}
	if sub && sp != "" {
		p = sp
	}
	return knownPolicy(p)
}

func knownPolicy(p string) string {
	switch p = strings.ToLower(p); p {
	case "reject", "quarantine":
		return p
	}
	return "none"
}

// microsoftAction maps Exchange Online's action= to the policy it
// applied: oreject is p=reject that Microsoft quarantined instead; a
// pct. action is the policy lowered one step by pct=.
func microsoftAction(a string) string {
	switch strings.ToLower(a) {
	case "reject", "oreject":
		return "reject"
	case "quarantine", "oquarantine", "pct.reject":
		return "quarantine"
	}
	return "none"
}

// splitAuthResults splits a field body into its authserv-id and its
// resinfos, by ";" outside comments and quoted strings. A body that
// starts with a result (Microsoft's) has the id "".
func splitAuthResults(v string) (id string, out []resinfo) {
	var cur resinfo
	var word, comment strings.Builder
	depth, quoted := 0, false
	endWord := func() {
		if word.Len() > 0 {
			cur.words = append(cur.words, word.String())
			word.Reset()
		}
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted && c == '\\' && i+1 < len(v):
			i++
			word.WriteByte(v[i])
		case quoted:
			quoted = c != '"'
			if quoted {
				word.WriteByte(c)
			}
		case depth > 0 && c == '\\' && i+1 < len(v):
			i++
			comment.WriteByte(v[i])
		case c == '(':
			if depth == 0 {
				endWord()
			} else {
				comment.WriteByte(c)
			}
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				cur.comments = append(cur.comments, comment.String())
				comment.Reset()
			} else {
				comment.WriteByte(c)
			}
		case depth > 0:
			comment.WriteByte(c)
		case c == '"':
			quoted = true
		case c == ';':
			endWord()
			out = append(out, cur)
			cur = resinfo{}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			endWord()
		default:
			word.WriteByte(c)
		}
	}
	endWord()
	out = append(out, cur)
	if first := out[0]; len(first.words) > 0 && !strings.Contains(first.words[0], "=") {
		return first.words[0], out[1:]
	}
	return "", out
}
