package smtpserver

import (
	"errors"

	"github.com/emersion/go-smtp"

	"mxdesk/router"
)

// The answers to mail a queue's switch refuses (issue 19). Both are
// permanent: turning a queue off is a manager's decision, and a sender
// retrying for days would only learn it later.
var (
	// errQueueDisabled: enabled = false, at RCPT (RFC 3463 X.2.1,
	// mailbox disabled, not accepting messages).
	errQueueDisabled = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 2, 1}, Message: "This address is disabled and accepts no mail"}
	// errNoNewMail: receive = false, after DATA, for a message that
	// replies to no conversation of the queue (X.7.1, not authorized).
	errNoNewMail = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "This address accepts only replies to existing conversations, no new mail"}
)

// switchRefusal is the answer to a Deliver error of a queue switch.
func switchRefusal(err error) (*smtp.SMTPError, bool) {
	switch {
	case errors.Is(err, router.ErrQueueDisabled):
		return errQueueDisabled, true
	case errors.Is(err, router.ErrNoNewMail):
		return errNoNewMail, true
	}
	return nil, false
}
