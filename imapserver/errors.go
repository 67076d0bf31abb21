package imapserver

import (
	"context"
	"errors"

	"github.com/emersion/go-imap/v2"

	"mxdesk/router"
	"mxdesk/store"
)

// errInternal is what a client sees of an unexpected failure; the details go
// to the log only.
var errInternal = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeServerBug,
	Text: "Internal server error",
}

// errUnavailable answers a command the store could not serve for now
// (its database unreachable, store.ErrUnavailable): RFC 5530's
// UNAVAILABLE, which clients show and retry, never SERVERBUG.
var errUnavailable = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeUnavailable,
	Text: "Mail store temporarily unavailable, try again later",
}

// storeUnavailable turns an error of the store's unreachable database
// into errUnavailable, logged as a warning naming store.dsn; other errors
// pass unchanged.
func (s *session) storeUnavailable(err error) error {
	if !errors.Is(err, store.ErrUnavailable) {
		return err
	}
	s.log.Warn("IMAP command deferred: the store's database is unavailable (store.dsn)", "err", err)
	return errUnavailable
}

// Destination folders (APPEND, COPY, MOVE) answer a missing folder with
// TRYCREATE (RFC 3501 6.3.11, 6.4.7); every other command with NONEXISTENT
// (RFC 5530).
const (
	srcFolder  = false
	destFolder = true
)

// routerErr maps a router error to a tagged NO with the response code of
// RFC 5530 that fits its Kind and the router's client-safe message. Errors
// that are not the router's are logged and hidden behind errInternal.
func (s *session) routerErr(err error, dest bool) error {
	var ierr *imap.Error
	if errors.As(err, &ierr) {
		return ierr
	}
	if errors.Is(err, store.ErrUnavailable) {
		return s.storeUnavailable(err)
	}
	code, ok := kindCode(router.KindOf(err), dest)
	if !ok {
		if errors.Is(err, context.Canceled) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Server shutting down"}
		}
		s.log.Error("IMAP command failed", "err", err)
		return errInternal
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: err.Error()}
}

func kindCode(k router.Kind, dest bool) (imap.ResponseCode, bool) {
	switch k {
	case router.KindNotFound:
		if dest {
			return imap.ResponseCodeTryCreate, true
		}
		return imap.ResponseCodeNonExistent, true
	case router.KindExists:
		return imap.ResponseCodeAlreadyExists, true
	case router.KindForbidden, router.KindInvalid:
		// Desk rules and reserved names can never succeed as asked.
		return imap.ResponseCodeCannot, true
	case router.KindTooBig:
		return imap.ResponseCodeTooBig, true
	case router.KindAuth:
		return imap.ResponseCodeAuthenticationFailed, true
	case router.KindLimit:
		return imap.ResponseCodeLimit, true
	case router.KindNoSpace:
		// RFC 5530's OVERQUOTA, as Dovecot answers a full disk: the
		// client keeps the message and may try again later.
		return imap.ResponseCodeOverQuota, true
	}
	return "", false
}
