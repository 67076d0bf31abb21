package smtpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/metrics"
	"mxdesk/ratelimit"
	"mxdesk/router"
)

// Submission replies with their RFC 3463 enhanced codes (RFC 4954 for
// AUTH).
var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errLoginChanged = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Your account was changed; log in again"}
	errAuthFailed   = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	errAuthzid      = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authorization identity must be empty or the login"}
	errAuthTooMany  = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many failed authentications, closing"}
	errAuthTemp     = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}
	errBadMessage   = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}}
	errForbidden    = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}}
)

// maxAuthFailures failed AUTH attempts end a connection. The per-IP and
// per-account lockout across connections is the rate limiter's job.
const maxAuthFailures = 3

// submitSession is one connection to the submission server: the MX's
// transaction state plus the authenticated agent. It overrides every
// transaction method of session, so nothing of the MX's recipient rules
// applies here.
type submitSession struct {
	*session
	agent    *router.Agent // nil until AUTH succeeded
	failures int           // failed AUTH attempts on this connection
}

var _ smtp.AuthSession = (*submitSession)(nil)

// AuthMechanisms implements smtp.AuthSession. go-smtp advertises and
// accepts them only over TLS, unless Options.InsecureAuth.
func (s *submitSession) AuthMechanisms() []string {
	return []string{sasl.Plain, sasl.Login}
}

// Auth implements smtp.AuthSession.
func (s *submitSession) Auth(mech string) (sasl.Server, error) {
	if s.failures >= maxAuthFailures {
		// Commands pipelined behind the last failure are still read.
		hangUpAfterReply(s.conn.Conn())
		return nil, errAuthTooMany
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && !strings.EqualFold(identity, username) {
				return errAuthzid
			}
			return s.authenticate(username, password)
		}), nil
	case sasl.Login:
		return newLoginServer(s.authenticate), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// authenticate checks login and password with the router. The connection
// closes after the reply to the maxAuthFailures-th failure.
func (s *submitSession) authenticate(login, password string) error {
	if err := s.count(); err != nil {
		return err
	}
	a, err := s.srv.router.AuthenticateFrom(login, password, "smtp", ratelimit.IP(s.conn.Conn().RemoteAddr()))
	if err == nil {
		s.agent = a
		s.log = s.log.With("login", a.Login)
		s.log.Info("authenticated")
		return nil
	}
	if router.KindOf(err) == router.KindLocked {
		s.srv.opts.Metrics.AuthFailed("smtp", true)
		s.log.Warn("auth refused: locked", "login", clip(config.Canonical(login)))
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: err.Error()}
	}
	if router.KindOf(err) != router.KindAuth {
		s.log.Error("auth failed", "login", clip(config.Canonical(login)), "err", err)
		return errAuthTemp
	}
	s.failures++
	s.srv.opts.Metrics.AuthFailed("smtp", false)
	s.log.Warn("auth failed", "login", clip(config.Canonical(login)), "failures", s.failures)
	if s.failures >= maxAuthFailures {
		s.log.Warn("too many failed authentications, closing", "failures", s.failures)
		hangUpAfterReply(s.conn.Conn())
	}
	return errAuthFailed
}

// Mail refuses every transaction before AUTH (RFC 4954 6).
func (s *submitSession) Mail(from string, opts *smtp.MailOptions) error {
	if err := s.count(); err != nil {
		return err
	}
	if s.agent == nil {
		s.log.Info("rejected", "from", clip(from), "reason", "not authenticated")
		s.rejected(metrics.ReasonNotAuthenticated)
		return errAuthRequired
	}
	if !s.srv.router.Current(s.agent) {
		// A reload removed the agent or changed its password, role or
		// queues: the client must log in again (421: it keeps the
		// message and retries on a new connection).
		s.log.Info("rejected", "from", clip(from), "reason", "agent changed by a configuration reload")
		s.rejected(metrics.ReasonNotAuthenticated)
		hangUpAfterReply(s.conn.Conn())
		return errLoginChanged
	}
	return s.session.Mail(from, opts)
}

// Rcpt accepts what the router lets an agent send to: anything outside our
// domains, and inside them queues, session addresses and agents.
func (s *submitSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if err := s.count(); err != nil {
		return err
	}
	if s.agent == nil {
		return errAuthRequired
	}
	if !s.hasFrom {
		return errNoMail
	}
	if len(to) > maxAddressLen || !strings.Contains(to, "@") {
		s.rejected(metrics.ReasonBadAddress)
		return errBadAddr
	}
	if err := s.srv.router.CheckSubmitRecipient(to); err != nil {
		s.log.Info("rejected", "from", s.from, "rcpt", to, "reason", err.Error())
		s.rejected(rejectReason(err))
		return s.refusal(err, errBadAddr)
	}
	for _, r := range s.rcpts {
		if strings.EqualFold(r, to) {
			return nil
		}
	}
	if err := s.recipientAllowed(to); err != nil {
		return err
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// recipientAllowed applies the agent's outbound limits to one more
// recipient: limits.submission_recipients_per_message (452, the client
// sends the rest in another message) and
// limits.submission_recipients_per_hour (451, it tries again later).
// Every recipient accepted at RCPT counts towards the hour, sent or not.
func (s *submitSession) recipientAllowed(to string) error {
	lim := s.srv.router.Config().Limits
	if n := lim.SubmissionRecipientsPerMessage; n > 0 && len(s.rcpts) >= n {
		s.log.Warn("rejected", "rcpt", clip(to), "reason", "limits.submission_recipients_per_message", "limit", n)
		s.rejected(metrics.ReasonRateLimit)
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3},
			Message: fmt.Sprintf("Too many recipients: at most %d per message (limits.submission_recipients_per_message)", n)}
	}
	if w := s.srv.opts.AgentRecipients; w != nil && !w.Allow("agent:"+s.agent.Login) {
		s.log.Warn("rejected", "rcpt", clip(to), "reason", "limits.submission_recipients_per_hour",
			"limit", lim.SubmissionRecipientsPerHour)
		s.rejected(metrics.ReasonRateLimit)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1},
			Message: fmt.Sprintf("Too many recipients in the last hour: at most %d per hour (limits.submission_recipients_per_hour), try again later", lim.SubmissionRecipientsPerHour)}
	}
	return nil
}

// Data hands the message to router.Submit and answers only when it has
// been stored and queued (or filed as a note or transfer); a reply held
// as stale is refused with the router's explanation.
func (s *submitSession) Data(r io.Reader) error {
	if err := s.count(); err != nil {
		io.Copy(io.Discard, r)
		return err
	}
	if s.agent == nil {
		return errAuthRequired
	}
	if !s.hasFrom {
		return errNoMail
	}
	if len(s.rcpts) == 0 {
		return errNoRcpt
	}
	sp, err := s.readMessage(r, s.receivedAs(s.agent.Login))
	defer sp.release()
	if err != nil {
		return err
	}
	// As for Deliver: the deadline bounds waiting for room in
	// limits.inflight_message_bytes and for the writer.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msg, err := s.messageOf(ctx, sp, 0)
	if err != nil {
		return err
	}
	raw := msg.bytes()
	_, tls := s.conn.TLSConnectionState()
	env := router.Envelope{From: s.from, To: s.rcpts, RemoteAddr: s.remote, Helo: s.conn.Hostname(), TLS: tls}
	sub, err := s.srv.submit(ctx, s.agent, env, raw)
	if err != nil {
		s.rejected(rejectReason(err))
		reply := s.refusal(err, errBadMessage)
		if reply.Code/100 == 5 {
			s.log.Info("rejected", "from", s.from, "rcpts", s.rcpts, "reason", err.Error())
		}
		return reply
	}
	s.srv.opts.Metrics.MessageSubmitted(sub.Action)
	s.log.Info("submitted", "session", sub.Session, "queue", sub.Queue, "action", sub.Action, "message_id", sub.MessageID,
		"from", s.from, "rcpts", s.rcpts, "queued", sub.Queued, "size", len(raw))
	if sub.Action == "held" {
		// A permanent refusal, so that the client shows the text and
		// keeps the message (Thunderbird's compose window stays open,
		// nothing goes to Sent; mutt returns to its compose menu). The
		// hold is stored: the same text sent again goes out.
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: oneLine(sub.Held)}
	}
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: acceptedText(sub)}
}

// refusal is the reply to a router error of CheckSubmitRecipient or
// Submit, with the router's client-safe message. invalid is the reply for
// KindInvalid: a bad address at RCPT, a bad message at DATA. Errors that
// are not the sender's are temporary and logged.
func (s *submitSession) refusal(err error, invalid *smtp.SMTPError) *smtp.SMTPError {
	if reply, ok := storeUnavailable(s.log, err, "from", s.from, "rcpts", s.rcpts); ok {
		return reply
	}
	var re *router.Error
	if !errors.As(err, &re) {
		s.log.Error("submit failed", "from", s.from, "rcpts", s.rcpts, "err", err)
		return errStore
	}
	var reply smtp.SMTPError
	switch re.Kind {
	case router.KindTooBig:
		reply = *errTooBig
	case router.KindInvalid:
		reply = *invalid
	case router.KindForbidden:
		reply = *errForbidden
	case router.KindNotFound:
		reply = *errNoMailbox
	case router.KindNoSpace:
		s.log.Warn("deferred", "from", s.from, "reason", "disk below store.min_free_space")
		return errNoSpace
	default:
		s.log.Error("submit failed", "from", s.from, "rcpts", s.rcpts, "err", err)
		return errStore
	}
	if re.Msg != "" {
		reply.Message = oneLine(re.Msg)
	}
	return &reply
}

// acceptedText is the text of the 250 to a DATA: what happened, and the
// session ID for the agent's reference.
func acceptedText(sub router.Submitted) string {
	switch sub.Action {
	case "note":
		return "note added to " + sub.Session
	case "transfer":
		return sub.Session + " transferred"
	case "commands":
		return "commands applied to " + sub.Session + ", nothing sent"
	}
	return "queued as " + sub.Session
}

// clip bounds a client-chosen string for a log line.
func clip(v string) string {
	if len(v) > maxAddressLen {
		return v[:maxAddressLen] + "..."
	}
	return v
}

// oneLine keeps a reply text on one line: go-smtp would turn a newline
// into a multi-line reply.
func oneLine(v string) string {
	return strings.Join(strings.Fields(v), " ")
}
