package delivery

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/emersion/go-smtp"
)

// result is the outcome of one attempt for one recipient.
type result struct {
	rcpt   string
	code   int    // the remote's reply code; 0 when no server answered
	status string // enhanced status code (RFC 3463), "5.1.1"
	text   string // the remote's reply text, or the local error
	remote string // the server that answered: "mx1.example.net [192.0.2.1]"
	tls    string // "none", "unverified" or "verified"
	perm   bool   // a permanent failure: bounce, don't retry
	// expired: a temporary failure after retry_for, bounced (set by
	// attempt, for the DSN).
	expired bool
}

func (r result) ok() bool { return r.code/100 == 2 }

// diagnostic is the reply as the remote gave it ("550 5.1.1 no such
// user"), or the local error.
func (r result) diagnostic() string {
	if r.code == 0 {
		return r.text
	}
	return fmt.Sprintf("%d %s %s", r.code, r.status, r.text)
}

// localError is a failure without a remote answer: DNS, connection, a
// local problem. status is an RFC 3463 code; its class says whether it is
// permanent.
func localError(rcpt, status, format string, args ...any) result {
	return result{rcpt: rcpt, status: status, text: fmt.Sprintf(format, args...), perm: status[0] == '5'}
}

// session is where a recipient's result came from.
type session struct {
	remote string // "host [ip]"
	tls    string
}

// reply turns the outcome of an SMTP command into rcpt's result: the
// server's reply for an *smtp.SMTPError (2xx when err is nil), otherwise a
// temporary connection failure.
func (s session) reply(rcpt string, code int, text string, err error) result {
	r := result{rcpt: rcpt, remote: s.remote, tls: s.tls, code: code, text: text, status: "2.0.0"}
	var se *smtp.SMTPError
	switch {
	case err == nil:
		r.text = strings.TrimSpace(strings.ReplaceAll(r.text, "\n", " "))
		if code, rest, ok := strings.Cut(r.text, " "); ok && enhancedCode.MatchString(code) {
			r.status, r.text = code, rest
		}
	case errors.As(err, &se):
		r.code, r.text = se.Code, strings.TrimSpace(strings.ReplaceAll(se.Message, "\n", " "))
		r.status = enhanced(se)
		r.perm = se.Code/100 == 5
	default:
		r.code, r.status = 0, "4.4.2"
		r.text = fmt.Sprintf("connection to %s: %v", s.remote, err)
	}
	return r
}

// enhancedCode matches an RFC 3463 status code at the start of a reply.
var enhancedCode = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}$`)

// enhanced is the enhanced status code of a reply, or X.0.0 when the
// server sent none.
func enhanced(se *smtp.SMTPError) string {
	c := se.EnhancedCode
	if c == smtp.EnhancedCodeNotSet || c == smtp.NoEnhancedCode || c[0] != se.Code/100 {
		class := se.Code / 100
		if class != 5 {
			class = 4
		}
		return fmt.Sprintf("%d.0.0", class)
	}
	return fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
}

// replyAll gives every recipient the same outcome.
func (s session) replyAll(rcpts []string, err error) []result {
	out := make([]result, len(rcpts))
	for i, rcpt := range rcpts {
		out[i] = s.reply(rcpt, 0, "", err)
	}
	return out
}

// failAll gives every recipient the same local failure.
func failAll(rcpts []string, f result) []result {
	out := make([]result, len(rcpts))
	for i, rcpt := range rcpts {
		f.rcpt = rcpt
		out[i] = f
	}
	return out
}
