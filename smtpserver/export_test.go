package smtpserver

import (
	"context"

	"mxdesk/router"
)

// SetSubmit replaces router.Submit behind a submission server, so tests of
// the SMTP side of DATA don't depend on what Submit does with a message.
func (s *Server) SetSubmit(f func(context.Context, *router.Agent, router.Envelope, []byte) (router.Submitted, error)) {
	s.submit = f
}
