package smtpserver

import (
	"context"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"mxdesk/msgauth"
	"mxdesk/ratelimit"
)

// senderAuthTimeout bounds SPF, DKIM and DMARC for one message.
const senderAuthTimeout = 30 * time.Second

// authenticateSender checks SPF, DKIM and DMARC (SPEC §2 step 3) on the
// message as the client sent it and returns the Authentication-Results
// header to add. A DMARC failure under p=reject is refused (when
// inbound.dmarc_reject is on); under p=quarantine (or p=reject with
// rejection off) the message goes to spam handling. A DNS failure never
// rejects: DMARC is then temperror. dmarcFail reports a DMARC failure
// under any policy (no auto-reply answers such mail).
func (s *session) authenticateSender(msg []byte) (header string, spam, dmarcFail bool, refusal error) {
	c := s.srv.opts.Auth
	if c == nil {
		return "", false, false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), senderAuthTimeout)
	defer cancel()
	res := c.Check(ctx, msgauth.Input{
		IP: net.ParseIP(ratelimit.IP(s.conn.Conn().RemoteAddr())), Helo: s.conn.Hostname(), MailFrom: s.from, Message: msg,
	})
	d := res.DMARC
	switch d.Disposition(s.srv.opts.DMARCReject, s.srv.opts.DMARCQuarantine) {
	case msgauth.Accept:
		return res.AuthResults, false, false, nil
	case msgauth.Reject:
		s.log.Info("rejected", "from", s.from, "reason", "dmarc", "domain", d.Domain, "detail", d.Reason)
		return "", false, true, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: "DMARC policy of " + d.Domain + " rejects this message: " + d.Reason}
	case msgauth.Quarantine:
		s.log.Info("quarantined as spam", "from", s.from, "reason", "dmarc", "domain", d.Domain, "detail", d.Reason)
		return res.AuthResults, true, true, nil
	}
	return res.AuthResults, false, true, nil
}

// stripAuthResults removes Authentication-Results fields that claim to be
// ours: only the one we add may speak for this host.
func (s *session) stripAuthResults(msg []byte) []byte {
	if s.srv.opts.Auth == nil {
		return msg
	}
	return msgauth.StripAuthResultsRaw(msg, s.srv.opts.Hostname)
}
