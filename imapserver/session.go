package imapserver

import (
	"context"
	"log/slog"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/config"
	"mxdesk/panics"
	"mxdesk/ratelimit"
	"mxdesk/router"
)

// Every optional interface whose capability caps advertises: the library
// panics at connection start if one is missing.
var (
	_ imapserver.Session            = (*session)(nil)
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionNamespace   = (*session)(nil)
	_ imapserver.SessionMove        = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
	_ imapserver.SessionQResync     = (*session)(nil)
	_ imapserver.SessionID          = (*session)(nil)
	_ imapserver.SessionMultiAppend = (*session)(nil)
	_ imapserver.SessionSort        = (*session)(nil)
	_ imapserver.SessionThread      = (*session)(nil)
)

// maxLoginFailures is how many failed logins one connection may make before
// it is dropped (SPEC §10: rate limits on failed logins).
const maxLoginFailures = 3

// session is one IMAP connection.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	ctx    context.Context // canceled by Close and by Server.Close
	cancel context.CancelFunc
	log    *slog.Logger

	agent    *router.Agent // nil until Login
	failures int
	clientID string // the client's "name/version" from its first ID, sanitized
	// presence makes the agent count as logged in for auto-assignment
	// (SPEC §6) from Login until Close; each command renews it.
	presence *router.Presence

	// mu serializes Poll and Close: after a connection error the library
	// may call Close while the IDLE goroutine is still polling.
	mu  sync.Mutex
	sel *selection // nil unless a mailbox is selected

	closeOnce sync.Once
}

// guard turns a panic in a session method into a NO [SERVERBUG] for that
// command, logged with its stack, so that one bad message or bug does not
// cost the agent their connection.
func (s *session) guard(cmd string, err *error) {
	if v := recover(); v != nil {
		panics.Recovered(s.log, panics.IMAPCommand, "panic in IMAP command", v, "cmd", cmd)
		*err = errInternal
	}
	if cmd != "POLL" {
		s.touch()
	}
}

// touch renews the agent's presence: the client spoke.
func (s *session) touch() {
	if p := s.presence; p != nil {
		p.Touch()
	}
}

// Close is called by the library once the connection is gone.
func (s *session) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.mu.Lock()
		s.unselect()
		s.mu.Unlock()
		if s.presence != nil {
			s.presence.Close()
		}
		s.log.Debug("disconnected")
		s.srv.mu.Lock()
		delete(s.srv.live, s)
		s.srv.mu.Unlock()
		s.srv.sessions.Done()
	})
	return nil
}

// Login checks the agent's credentials (LOGIN and AUTHENTICATE PLAIN). The
// library has already refused it when TLS is required and missing.
func (s *session) Login(username, password string) (err error) {
	defer s.guard("LOGIN", &err)
	a, err := s.srv.r.AuthenticateFrom(username, password, "imap", ratelimit.IP(s.conn.NetConn().RemoteAddr()))
	if err != nil {
		s.failures++
		if k := router.KindOf(err); k == router.KindAuth || k == router.KindLocked {
			s.srv.opts.Metrics.AuthFailed("imap", k == router.KindLocked)
		}
		s.log.Info("login failed", "login", config.Canonical(username), "failures", s.failures)
		if s.failures >= maxLoginFailures {
			s.conn.Bye("Too many failed logins")
		}
		switch router.KindOf(err) {
		case router.KindAuth:
			return imapserver.ErrAuthFailed
		case router.KindLocked:
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: err.Error()}
		}
		return s.routerErr(err, srcFolder)
	}
	s.agent = a
	s.log = s.log.With("login", a.Login)
	s.log.Info("logged in")
	log := s.log // the callback runs on the router's goroutine, and ID may change s.log
	s.presence = s.srv.r.Connect(a, func() {
		log.Info("logged out: the agent's entry changed in the configuration")
		s.conn.Bye("Your account was changed by an administrator; log in again")
	})
	return nil
}

// Namespace answers NAMESPACE (RFC 2342): one personal namespace, no prefix.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: router.Delimiter}},
	}, nil
}

// AppendLimit is the APPENDLIMIT of RFC 7889 for every mailbox.
func (s *session) AppendLimit() uint32 {
	return uint32(s.srv.opts.MaxAppend)
}

// selected returns the current selection or a NO when the selected mailbox
// was deleted meanwhile.
func (s *session) selected() (*selection, error) {
	sel := s.sel
	if sel == nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "No mailbox selected"}
	}
	if sel.deleted() {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "Mailbox was deleted"}
	}
	return sel, nil
}

// writable returns the selection for a command that changes it (RFC 3501
// 6.3.2: nothing may change in a mailbox selected with EXAMINE). A
// read-only folder selected with SELECT passes: the router refuses the
// change and says why, which is what the client should show.
func (s *session) writable() (*selection, error) {
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	if sel.examined {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Mailbox is read-only (selected with EXAMINE)"}
	}
	return sel, nil
}
