// Package smtpserver is mxdesk's SMTP side: the inbound MX that accepts
// customer mail for the configured queue addresses. It speaks SMTP through
// github.com/emersion/go-smtp and leaves every decision about where mail
// goes to the router. A message is answered 250 only after the router has
// committed it durably.
package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"mxdesk/router"
)

// Options configure the MX.
type Options struct {
	Hostname        string      // EHLO name and banner
	TLSConfig       *tls.Config // nil: no STARTTLS
	MaxMessageBytes int64
	MaxRecipients   int
	MaxLineLength   int
	ReadTimeout     time.Duration // bounds a whole DATA transfer too
	WriteTimeout    time.Duration
	Logger          *slog.Logger
}

// Server is the inbound MX.
type Server struct {
	srv    *smtp.Server
	router *router.Router
	log    *slog.Logger
	opts   Options
	connID atomic.Uint64
	conns  connSet
}

// New builds the MX on r.
func New(r *router.Router, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{router: r, log: opts.Logger.With("service", "smtp"), opts: opts}
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
	if !s.conns.listen(l) {
		return nil // closed before it started
	}
	err := s.srv.Serve(&trackingListener{Listener: l, conns: &s.conns})
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
// EHLO/HELO.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	remote := c.Conn().RemoteAddr().String()
	return &session{
		srv:    s,
		conn:   c,
		remote: remote,
		log:    s.log.With("conn", s.connID.Add(1), "remote", remote),
	}, nil
}

// errorLog routes go-smtp's own log lines to slog.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.l.Warn("smtp", "detail", fmt.Sprintf(format, v...))
}
func (e errorLog) Println(v ...any) { e.l.Warn("smtp", "detail", fmt.Sprint(v...)) }
