package smtpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"mxdesk/metrics"
	"mxdesk/ratelimit"
	"mxdesk/router"
)

// Replies with their RFC 3463 enhanced codes.
var (
	errNoMailbox   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	errSendOnly    = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "This address does not accept mail"}
	errNoMail      = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL FROM first"}
	errNoRcpt      = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "RCPT TO first"}
	errBadAddr     = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	errTooBig      = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big"}
	errStore       = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Could not store the message, try again later"}
	errReadMessage = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Could not read the message, try again later"}
	// RFC 5321 4.2.3's 452, RFC 3463's "mail system full": temporary.
	errNoSpace = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Insufficient system storage, try again later"}
)

// traceHeadroom is the room left before a spooled message read back, for
// the trace fields the MX adds (Received, Authentication-Results) without
// copying the message.
const traceHeadroom = 4 << 10

// maxAddressLen is RFC 5321 4.5.3.1.3's path limit.
const maxAddressLen = 256

// session is one SMTP connection's mail transaction state.
type session struct {
	srv    *Server
	conn   *smtp.Conn
	remote string
	log    *slog.Logger

	from     string
	hasFrom  bool
	rcpts    []string
	commands int // MAIL, RCPT, DATA and AUTH so far, against MaxCommands
	// declared holds the size a client declared at MAIL FROM (SIZE=) of
	// limits.inflight_message_bytes until its body takes it over, or a
	// reset gives it back. Atomic: go-smtp may reset the session after a
	// failed BDAT chunk while the body is read.
	declared atomic.Pointer[heldBytes]
}

var errTooManyCommands = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many commands on one connection (limits.commands_per_connection), closing"}

// rejected counts a refused recipient or message (metrics.Reason*).
func (s *session) rejected(reason string) {
	s.srv.opts.Metrics.MessageRejected(s.srv.service, reason)
}

// rejectReason is the metrics reason of a router error.
func rejectReason(err error) string {
	if _, ok := switchRefusal(err); ok {
		return metrics.ReasonQueueSwitch
	}
	switch router.KindOf(err) {
	case router.KindNotFound:
		return metrics.ReasonUnknownRecipient
	case router.KindInvalid:
		return metrics.ReasonInvalid
	case router.KindTooBig:
		return metrics.ReasonTooBig
	case router.KindForbidden:
		return metrics.ReasonForbidden
	case router.KindUnavailable:
		return metrics.ReasonUnavailable
	case router.KindNoSpace:
		return metrics.ReasonNoSpace
	}
	return metrics.ReasonStore
}

// count counts a command; over Options.MaxCommands it answers 421 and
// the connection closes after the reply.
func (s *session) count() error {
	s.commands++
	s.progressed()
	if max := s.srv.opts.MaxCommands; max > 0 && s.commands > max {
		s.log.Warn("too many commands, closing", "commands", s.commands)
		s.rejected(metrics.ReasonTooManyCommands)
		hangUpAfterReply(s.conn.Conn())
		return errTooManyCommands
	}
	return nil
}

// progressed gives the client smtp.read_timeout from now for its next
// step (see trackedConn).
func (s *session) progressed() {
	if tc := tracked(s.conn.Conn()); tc != nil {
		tc.progress()
	}
}

// readMessage reads the message of DATA or BDAT, after prefix, into a
// spool (memory, or a file past limits.spool_threshold). A read that
// times out is errDataTimeout (temporary, and the connection closes);
// any other failure to read is temporary too and never shows the network
// error, which would name our address. The body counts against
// limits.inflight_message_bytes, and its file stays, until the caller
// releases the spool, deferred at once so that every path (stored,
// refused, failed read, dropped connection, panic) gives them back.
func (s *session) readMessage(r io.Reader, prefix string) (*spool, error) {
	held := s.declared.Swap(nil)
	if held == nil {
		held = &heldBytes{budget: s.srv.opts.Inflight}
	}
	sp := s.newSpool(held, prefix)
	return sp, s.readHeld(r, sp, held)
}

func (s *session) readHeld(r io.Reader, sp *spool, held *heldBytes) error {
	tc := tracked(s.conn.Conn())
	if tc != nil {
		tc.inData.Store(true)
		defer tc.inData.Store(false)
	}
	defer s.progressed()
	err := s.readBody(sp, r, held)
	var reply *smtp.SMTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &reply):
		return reply
	}
	// Not s.from: after a failed BDAT chunk go-smtp resets the session
	// while this runs.
	s.log.Info("message not read", "err", err)
	return errReadMessage
}

// messageOf is the whole message read into sp, with headroom bytes free
// before it (see spool.message); a spooled body that finds no room in
// limits.inflight_message_bytes before ctx ends is deferred with 451
// 4.3.2.
func (s *session) messageOf(ctx context.Context, sp *spool, headroom int) (*heldMessage, error) {
	m, err := sp.message(ctx, headroom)
	var spoolErr *spoolError
	switch {
	case err == nil:
		return m, nil
	case errors.As(err, &spoolErr):
		s.log.Error("spool failed", "from", s.from, "path", spoolErr.path, "err", spoolErr.err)
		s.rejected(metrics.ReasonStore)
		return nil, errStore
	}
	s.log.Warn("deferred", "from", s.from, "reason", "no room in limits.inflight_message_bytes to store a spooled message",
		"limit", s.srv.opts.Inflight.Max(), "size", sp.spooled())
	s.rejected(metrics.ReasonInTransit)
	return nil, err
}

// senderAllowed applies limits.messages_per_sender_per_hour to a MAIL
// FROM (the null sender counts by client address).
func (s *session) senderAllowed(from string) error {
	lim := s.srv.opts.SenderLimit
	if lim == nil {
		return nil
	}
	key := "from:" + strings.ToLower(from)
	if from == "" {
		key = "ip:" + ratelimit.IP(s.conn.Conn().RemoteAddr())
	}
	if lim.Allow(key) {
		return nil
	}
	s.log.Warn("rejected", "from", from, "reason", "messages per sender per hour")
	s.rejected(metrics.ReasonRateLimit)
	return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Too many messages from this sender in the last hour (limits.messages_per_sender_per_hour), try again later"}
}

// spaceLeft refuses a transaction at MAIL while the store's disk is below
// store.min_free_space, before the client sends a body to refuse.
func (s *session) spaceLeft(from string) error {
	if err := s.srv.router.SpaceErr(); err != nil {
		s.log.Warn("deferred", "from", from, "reason", "disk below store.min_free_space")
		s.rejected(metrics.ReasonNoSpace)
		return errNoSpace
	}
	return nil
}

// reserveDeclared holds the size a client declared with SIZE= (RFC 1870)
// of limits.inflight_message_bytes, so that the message finds its room
// when it comes; when the cap has not that much left, MAIL is refused
// with 452 4.3.2 (RFC 1870 6.1: try again later). nil: nothing declared
// or no cap.
func (s *session) reserveDeclared(from string, opts *smtp.MailOptions) (*heldBytes, error) {
	if opts == nil || opts.Size <= 0 || s.srv.opts.Inflight == nil {
		return nil, nil
	}
	held := &heldBytes{budget: s.srv.opts.Inflight}
	if !held.reserve(opts.Size) {
		s.log.Warn("deferred", "from", clip(from), "reason", "declared SIZE= past limits.inflight_message_bytes",
			"size", opts.Size, "limit", s.srv.opts.Inflight.Max())
		s.rejected(metrics.ReasonInTransit)
		return nil, errDeclaredInTransit
	}
	return held, nil
}

func (s *session) Reset() {
	s.from, s.hasFrom, s.rcpts = "", false, nil
	s.declared.Swap(nil).release()
}

func (s *session) Logout() error {
	s.declared.Swap(nil).release()
	return nil
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if err := s.count(); err != nil {
		return err
	}
	if len(from) > maxAddressLen {
		s.rejected(metrics.ReasonBadAddress)
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: "Sender address too long"}
	}
	if opts != nil && opts.Size > s.srv.opts.MaxMessageBytes && s.srv.opts.MaxMessageBytes > 0 {
		s.rejected(metrics.ReasonTooBig)
		return errTooBig
	}
	if err := s.spaceLeft(from); err != nil {
		return err
	}
	held, err := s.reserveDeclared(from, opts)
	if err != nil {
		return err
	}
	if err := s.senderAllowed(from); err != nil {
		held.release()
		return err
	}
	s.Reset()
	s.from, s.hasFrom = from, true
	s.declared.Store(held)
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if err := s.count(); err != nil {
		return err
	}
	if !s.hasFrom {
		return errNoMail
	}
	if to == "postmaster" { // <Postmaster> without a domain (RFC 5321 4.1.1.3)
		to = s.srv.router.Config().Postmaster
	}
	if len(to) > maxAddressLen || !strings.Contains(to, "@") {
		s.rejected(metrics.ReasonBadAddress)
		return errBadAddr
	}
	switch err := s.srv.router.CheckRecipient(to); {
	case err == nil:
	case errors.Is(err, router.ErrSendOnly):
		s.log.Info("rejected", "from", s.from, "rcpt", to, "reason", "send-only address")
		s.rejected(metrics.ReasonSendOnly)
		return errSendOnly
	case errors.Is(err, router.ErrQueueDisabled):
		s.log.Info("rejected", "from", s.from, "rcpt", to, "reason", err.Error())
		s.rejected(metrics.ReasonQueueSwitch)
		return errQueueDisabled
	case isStoreFailure(err):
		s.rejected(metrics.ReasonStore)
		return recipientUnchecked(s.log, err, "from", s.from, "rcpt", to)
	default:
		s.log.Info("rejected", "from", s.from, "rcpt", to, "reason", "unknown recipient")
		s.rejected(metrics.ReasonUnknownRecipient)
		return errNoMailbox
	}
	for _, r := range s.rcpts {
		if strings.EqualFold(r, to) {
			return nil
		}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if err := s.count(); err != nil {
		io.Copy(io.Discard, r)
		return err
	}
	if !s.hasFrom {
		return errNoMail
	}
	if len(s.rcpts) == 0 {
		return errNoRcpt
	}
	sp, err := s.readMessage(r, "")
	defer sp.release()
	if err != nil {
		return err
	}
	// The deadline bounds waiting for room in limits.inflight_message_bytes
	// and for a slot in the writer queue; once queued the commit completes
	// (see store.Update).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msg, err := s.messageOf(ctx, sp, traceHeadroom)
	if err != nil {
		return err
	}
	authResults, spam, dmarcFail, refusal := s.authenticateSender(msg.bytes())
	if refusal != nil {
		s.rejected(metrics.ReasonDMARC)
		return refusal
	}
	raw := msg.prependTo(s.received()+authResults, s.stripAuthResults(msg.bytes()))
	_, tls := s.conn.TLSConnectionState()
	env := router.Envelope{From: s.from, To: s.rcpts, RemoteAddr: s.remote, Helo: s.conn.Hostname(), TLS: tls, Spam: spam, DMARCFail: dmarcFail}
	d, err := s.srv.router.Deliver(ctx, env, raw)
	if err != nil {
		s.rejected(rejectReason(err))
		return s.deliveryRefusal(err)
	}
	s.srv.opts.Metrics.MessageReceived(d.Queue)
	s.log.Info("received", "session", d.Session, "queue", d.Queue, "message_id", d.MessageID, "from", s.from,
		"rcpts", s.rcpts, "folder", d.Folder, "size", len(raw))
	return nil
}

// received is the trace header of RFC 5321 4.4.
func (s *session) received() string {
	return s.receivedAs("")
}

// receivedAs is received for a client authenticated as login ("" for
// none): the protocol gets RFC 3848's "A" and a comment names the login.
func (s *session) receivedAs(login string) string {
	proto := "ESMTP"
	if _, ok := s.conn.TLSConnectionState(); ok {
		proto = "ESMTPS"
	}
	auth := ""
	if login != "" {
		proto += "A"
		auth = " (authenticated as " + sanitize(login) + ")"
	}
	host, _, _ := strings.Cut(s.remote, ":")
	if strings.HasPrefix(s.remote, "[") {
		host = strings.Trim(s.remote[:strings.LastIndex(s.remote, "]")+1], "[]")
	}
	helo := sanitize(s.conn.Hostname())
	return fmt.Sprintf("Received: from %s ([%s])%s\r\n\tby %s (mxdesk) with %s;\r\n\t%s\r\n",
		helo, host, auth, s.srv.opts.Hostname, proto, time.Now().Format(time.RFC1123Z))
}

// sanitize keeps a client-chosen string safe inside a header.
func sanitize(v string) string {
	if len(v) > 255 {
		v = v[:255]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e || r == '(' || r == ')' {
			return '_'
		}
		return r
	}, v)
}

// deliveryRefusal turns a Deliver error into the reply to DATA: the
// message's own faults are permanent (5xx, saying why); a scanner or store
// that is down is temporary (451), so the sender retries and nothing is
// lost.
func (s *session) deliveryRefusal(err error) error {
	msg := err.Error()
	if refusal, ok := switchRefusal(err); ok {
		s.log.Info("rejected", "from", s.from, "rcpts", s.rcpts, "reason", msg)
		return refusal
	}
	switch router.KindOf(err) {
	case router.KindNotFound:
		s.log.Info("rejected", "from", s.from, "rcpts", s.rcpts, "reason", msg)
		return errNoMailbox
	case router.KindInvalid:
		s.log.Info("rejected", "from", s.from, "reason", msg)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: msg}
	case router.KindTooBig:
		s.log.Info("rejected", "from", s.from, "reason", msg)
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: msg}
	case router.KindUnavailable:
		s.log.Warn("deferred", "from", s.from, "reason", msg)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: msg}
	case router.KindNoSpace:
		s.log.Warn("deferred", "from", s.from, "reason", "disk below store.min_free_space")
		return errNoSpace
	}
	if reply, ok := storeUnavailable(s.log, err, "from", s.from, "rcpts", s.rcpts); ok {
		return reply
	}
	s.log.Error("store failed", "from", s.from, "rcpts", s.rcpts, "err", err)
	return errStore
}
