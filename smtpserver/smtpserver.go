// Package smtpserver is mxdesk's SMTP side: the inbound MX that accepts
// customer mail for the configured queue addresses (New), and the
// submission server where agents send with AUTH (NewSubmission, RFC 6409).
// Both speak SMTP through github.com/emersion/go-smtp and leave every
// decision about where mail goes to the router. A message is answered 250
// only after the router has committed it durably.
package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"mxdesk/metrics"
	"mxdesk/msgauth"
	"mxdesk/panics"
	"mxdesk/ratelimit"
	"mxdesk/router"
)

// Options configure the MX or the submission server.
type Options struct {
	Hostname        string      // EHLO name and banner
	TLSConfig       *tls.Config // nil: no STARTTLS
	InsecureAuth    bool        // submission: AUTH without TLS (loopback tests); the MX never offers AUTH
	MaxMessageBytes int64
	MaxRecipients   int
	// AgentRecipients counts the recipients each agent sent to through
	// submission (limits.submission_recipients_per_hour); nil: no limit.
	AgentRecipients *ratelimit.Window
	MaxLineLength   int
	// Inflight is limits.inflight_message_bytes, shared by the MX and
	// submission: the message bytes all their connections hold in
	// memory at once; nil: no cap.
	Inflight *ratelimit.Bytes
	// SpoolDir (data_dir/spool) takes the bodies past SpoolThreshold
	// (limits.spool_threshold) in files; "" or 0: bodies stay in memory.
	SpoolDir       string
	SpoolThreshold int64
	// ReadTimeout bounds each step of a session: from one completed
	// command (a session, MAIL, RCPT, DATA, AUTH) to the next, and a whole
	// DATA transfer.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// TLSHandshakeTimeout bounds the implicit TLS handshake (port 465);
	// 0: ReadTimeout.
	TLSHandshakeTimeout time.Duration
	Logger              *slog.Logger
	// MaxCommands ends a connection after this many MAIL, RCPT, DATA and
	// AUTH commands (0: no limit).
	MaxCommands int
	// SenderLimit limits messages per envelope sender (the MX); nil: none.
	SenderLimit *ratelimit.Window
	// Auth checks SPF, DKIM and DMARC of inbound mail (the MX); nil: no
	// checks. DMARCReject and DMARCQuarantine act on DMARC failures.
	Auth                         *msgauth.Checker
	DMARCReject, DMARCQuarantine bool
	// Metrics counts received, rejected and submitted messages and
	// failed AUTH; nil: none.
	Metrics *metrics.Set
}

// Server is the inbound MX or the submission server: the same limits,
// timeouts, connection tracking and shutdown, different sessions.
type Server struct {
	srv        *smtp.Server
	router     *router.Router
	log        *slog.Logger
	opts       Options
	connID     atomic.Uint64
	conns      connSet
	submission bool
	service    string     // "smtp" or "submission", the metrics label
	submit     submitFunc // router.Submit; tests replace it
}

// submitFunc is the signature of (*router.Router).Submit.
type submitFunc func(context.Context, *router.Agent, router.Envelope, []byte) (router.Submitted, error)

// New builds the MX on r. It accepts mail only for our own addresses and
// offers no AUTH, so it can never relay.
func New(r *router.Router, opts Options) *Server {
	return newServer(r, opts, "smtp")
}

// NewSubmission builds the submission server on r (SPEC §7): agents
// authenticate with AUTH PLAIN or LOGIN, only over TLS unless
// opts.InsecureAuth, and may then send anywhere; unauthenticated clients
// may send nothing. Serve it with Serve for port 587 (STARTTLS) and
// ServeTLS for port 465 (implicit TLS).
func NewSubmission(r *router.Router, opts Options) *Server {
	s := newServer(r, opts, "submission")
	s.submission = true
	s.submit = r.Submit
	s.srv.AllowInsecureAuth = opts.InsecureAuth
	return s
}

func newServer(r *router.Router, opts Options, service string) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{router: r, log: opts.Logger.With("service", service), opts: opts, service: service}
	srv := smtp.NewServer(s)
	srv.Domain = opts.Hostname
	srv.TLSConfig = opts.TLSConfig
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.MaxRecipients = opts.MaxRecipients
	srv.MaxLineLength = opts.MaxLineLength
	srv.ReadTimeout = opts.ReadTimeout
	srv.WriteTimeout = opts.WriteTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = errorLog{s.log}
	s.srv = srv
	return s
}

// Serve accepts connections on l until Close.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(s.tracking(l, nil))
}

// tracking wraps l for Serve, with implicit TLS when conf is set.
func (s *Server) tracking(l net.Listener, conf *tls.Config) *trackingListener {
	handshake := s.opts.TLSHandshakeTimeout
	if handshake <= 0 || (s.opts.ReadTimeout > 0 && handshake > s.opts.ReadTimeout) {
		handshake = s.opts.ReadTimeout
	}
	return &trackingListener{Listener: l, conns: &s.conns, tls: conf, readTimeout: s.opts.ReadTimeout, handshakeTimeout: handshake, log: s.log}
}

// ServeTLS is Serve with implicit TLS (port 465) on a plain listener. The
// TLS layer goes above the connection tracking: go-smtp sees a connection
// as secure only when it is a *tls.Conn itself, so a tls.Listener under
// Serve would not do.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opts.TLSConfig == nil {
		l.Close()
		return errors.New("implicit TLS needs a certificate")
	}
	return s.serve(s.tracking(l, s.opts.TLSConfig))
}

func (s *Server) serve(l *trackingListener) error {
	if !s.conns.listen(l.Listener) {
		return nil // closed before it started
	}
	err := s.srv.Serve(l)
	if errors.Is(err, smtp.ErrServerClosed) || (err != nil && errors.Is(err, net.ErrClosed)) {
		return nil
	}
	return err
}

// shutdownTimeout bounds how long Close waits for connection handlers.
const shutdownTimeout = 30 * time.Second

// Close stops accepting, closes every connection and waits for their
// handlers to return, so the store can be closed after it. It closes the
// sockets rather than calling go-smtp's Close, which tears sessions down
// under running handlers. A DATA already handed to the router still
// commits; its client sees the connection drop and may send it again.
func (s *Server) Close() error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		done <- s.srv.Shutdown(ctx)
	}()
	s.conns.closeAll()
	err := <-done
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil // closeAll got to a listener first
	}
	return err
}

// NewSession implements smtp.Backend; go-smtp calls it at the first
// EHLO/HELO (and again after STARTTLS).
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	remote := c.Conn().RemoteAddr().String()
	if tc := tracked(c.Conn()); tc != nil {
		tc.progress() // EHLO or HELO: go-smtp calls this once per session
	}
	sess := &session{
		srv:    s,
		conn:   c,
		remote: remote,
		log:    s.log.With("conn", s.connID.Add(1), "remote", remote),
	}
	if s.submission {
		return &submitSession{session: sess}, nil
	}
	return sess, nil
}

// errorLog routes go-smtp's own log lines to slog. A panic in a session
// handler, which go-smtp recovers and answers 421, is counted and logged
// as an error.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Printf(format string, v ...any) { e.log(fmt.Sprintf(format, v...)) }
func (e errorLog) Println(v ...any)               { e.log(fmt.Sprint(v...)) }

func (e errorLog) log(detail string) {
	if strings.HasPrefix(detail, "panic serving") {
		panics.Reported(e.l, panics.SMTPSession, "panic in SMTP session", detail)
		return
	}
	e.l.Warn("smtp", "detail", detail)
}
