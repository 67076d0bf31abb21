package smtpserver

import (
	"errors"
	"log/slog"

	"github.com/emersion/go-smtp"

	"mxdesk/router"
	"mxdesk/store"
)

// errUnavailable answers a command the store could not serve for now
// (its database unreachable): temporary, so the client retries and
// nothing is lost.
var errUnavailable = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Mail store temporarily unavailable, try again later"}

// storeUnavailable is the reply to err when it is the store's database
// out of reach (store.ErrUnavailable): 451 4.3.0, logged as a warning
// naming store.dsn; ok is false for any other error.
func storeUnavailable(log *slog.Logger, err error, args ...any) (reply *smtp.SMTPError, ok bool) {
	if !errors.Is(err, store.ErrUnavailable) {
		return nil, false
	}
	log.Warn("deferred: the store's database is unavailable (store.dsn)", append(args, "err", err)...)
	return errUnavailable, true
}

// recipientUnchecked is the reply to a store error while looking a
// recipient up (not a router error: the address may well exist): never
// a 5xx, which would bounce the customer's mail.
func recipientUnchecked(log *slog.Logger, err error, args ...any) *smtp.SMTPError {
	if reply, ok := storeUnavailable(log, err, args...); ok {
		return reply
	}
	log.Error("store failed", append(args, "err", err)...)
	return errUnavailable
}

// isStoreFailure tells whether err is the store's own, not an answer of
// the router about the address.
func isStoreFailure(err error) bool { return router.KindOf(err) == 0 }
