// Package imapserver is the agents' IMAP server (RFC 3501 IMAP4rev1 plus the
// extensions listed in caps). It speaks the protocol through go-imap v2's
// imapserver and does everything else through the router: authentication,
// the folder tree of SPEC §5, reads (router.View) and every write.
//
// Concurrency model: the library runs one goroutine per connection and calls
// one session's methods one at a time (IDLE runs Idle on a second goroutine
// while the first waits for DONE). Sequence numbers and unilateral updates
// (EXISTS, EXPUNGE, FETCH FLAGS, FLAGS) come from the hub: one router
// subscription that keeps, for every mailbox at least one session has
// selected, the canonical list of UIDs and flags, and queues each change on
// the go-imap tracker of every session that has the mailbox selected.
package imapserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/metrics"
	"mxdesk/panics"
	"mxdesk/router"
)

// DefaultMaxAppend is the APPEND size limit when Options.MaxAppend is 0.
const DefaultMaxAppend = 25 << 20

// Options configure a Server.
type Options struct {
	TLSConfig    *tls.Config // nil: no STARTTLS
	InsecureAuth bool        // allow LOGIN/AUTHENTICATE without TLS (loopback tests)
	MaxAppend    int64       // APPEND size limit in bytes; 0: DefaultMaxAppend
	Logger       *slog.Logger
	Metrics      *metrics.Set // counts failed logins; nil: none
}

// Server is the IMAP server of one mxdesk.
type Server struct {
	r    *router.Router
	opts Options
	log  *slog.Logger
	hub  *hub
	imap *imapserver.Server

	ctx    context.Context // parent of every session's context
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	live     map[*session]struct{} // open connections, told BYE by Close
	sessions sync.WaitGroup        // one per open session, so Close can wait
}

// shutdownBye is the untagged BYE every connection gets when the server
// stops (RFC 3501 7.1.5): clients show it and reconnect later instead of
// reporting a broken connection.
const shutdownBye = "mxdesk is shutting down; reconnect in a moment"

// byeTimeout bounds the wait for BYEs to reach clients that don't read
// (a full send buffer): Close then cuts them off.
const byeTimeout = 2 * time.Second

// New builds a server on r. It subscribes to r's change feed at once.
func New(r *router.Router, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxAppend <= 0 {
		opts.MaxAppend = DefaultMaxAppend
	}
	if opts.MaxAppend > math.MaxUint32 {
		opts.MaxAppend = math.MaxUint32
	}
	log := opts.Logger.With("proto", "imap")
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{r: r, opts: opts, log: log, ctx: ctx, cancel: cancel, live: map[*session]struct{}{}}
	s.hub = newHub(r, log)
	s.imap = imapserver.New(&imapserver.Options{
		NewSession:   s.newSession,
		Caps:         caps(),
		Logger:       libLogger{log},
		TLSConfig:    opts.TLSConfig,
		InsecureAuth: opts.InsecureAuth,
	})
	return s
}

// caps is the capability set mxdesk implements, IMAP4rev2 (moreCaps) next
// to IMAP4rev1: the reference clients (Thunderbird, Outlook, mutt, mbsync)
// speak IMAP4rev1 and see no change until they ENABLE IMAP4rev2. The library
// adds IDLE, UNSELECT, ENABLE, SASL-IR, UTF8=ACCEPT, STARTTLS and
// AUTH=PLAIN by itself, and APPENDLIMIT=n because session implements
// SessionAppendLimit.
func caps() imap.CapSet {
	set := imap.CapSet{
		imap.CapIMAP4rev1:    {},
		imap.CapNamespace:    {}, // RFC 2342
		imap.CapUIDPlus:      {}, // RFC 4315
		imap.CapESearch:      {}, // RFC 4731
		imap.CapListExtended: {}, // RFC 5258
		imap.CapListStatus:   {}, // RFC 5819
		imap.CapMove:         {}, // RFC 6851
		imap.CapStatusSize:   {}, // RFC 8438
		imap.CapChildren:     {}, // RFC 3348
		imap.CapSpecialUse:   {}, // RFC 6154
		imap.CapBinary:       {}, // RFC 3516
		imap.CapCondStore:    {}, // RFC 7162
		imap.CapQResync:      {}, // RFC 7162
	}
	maps.Copy(set, moreCaps())
	return set
}

// moreCaps are the extensions of issue 21 (ID, MULTIAPPEND, SORT, THREAD,
// LITERAL+, SEARCHRES, IMAP4rev2), each advertised only with its session
// method.
func moreCaps() imap.CapSet {
	return imap.CapSet{
		imap.CapID:              {}, // RFC 2971
		imap.CapMultiAppend:     {}, // RFC 3502
		imap.CapSort:            {}, // RFC 5256
		imap.CapESort:           {}, // RFC 5267 (SORT RETURN; CONTEXT=SORT left out)
		"THREAD=ORDEREDSUBJECT": {}, // RFC 5256
		"THREAD=REFERENCES":     {}, // RFC 5256
		imap.CapLiteralPlus:     {}, // RFC 7888: a refused {n+} is read and thrown away, as under LITERAL-
		imap.CapSearchRes:       {}, // RFC 5182 (searchres.go)
		imap.CapIMAP4rev2:       {}, // RFC 9051: every extension it folds in is above
	}
}

// Serve accepts connections on l until Close. For implicit TLS (993) pass a
// tls.Listener: the library then treats every connection as secure.
func (s *Server) Serve(l net.Listener) error {
	err := s.imap.Serve(l)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		// Close may have run before go-imap knew l: it would neither
		// have closed it nor made Serve return a "closed" error.
		l.Close()
		return nil
	}
	return err
}

// Close stops every listener, says BYE to every connection (idle or in
// IDLE) and closes it, and waits until each session has let go of its
// mailbox, so the router and store can be closed right after.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	byes := s.sayBye()
	s.cancel()
	// go-imap's Close closes connections without a word; those that got
	// their BYE are closed already.
	err := s.imap.Close()
	byes.Wait()
	s.sessions.Wait()
	s.hub.close()
	return err
}

// sayBye sends every open connection the shutdown BYE and closes it, at
// once for all, and waits up to byeTimeout for them. The returned group
// ends when every BYE is written or has failed.
func (s *Server) sayBye() *sync.WaitGroup {
	s.mu.Lock()
	conns := make([]*imapserver.Conn, 0, len(s.live))
	for sess := range s.live {
		conns = append(conns, sess.conn)
	}
	s.mu.Unlock()
	var byes sync.WaitGroup
	for _, c := range conns {
		byes.Add(1)
		go func() {
			defer byes.Done()
			c.Bye(shutdownBye)
		}()
	}
	done := make(chan struct{})
	go func() {
		byes.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(byeTimeout):
		s.log.Warn("shutdown: some IMAP clients did not take their BYE in time", "timeout", byeTimeout)
	}
	if len(conns) > 0 {
		s.log.Info("shutdown: said BYE to IMAP connections", "count", len(conns))
	}
	return &byes
}

// newSession is imapserver.Options.NewSession: it runs once per connection,
// before the greeting.
func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: shutdownBye}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	sess := &session{
		srv:    s,
		conn:   c,
		ctx:    ctx,
		cancel: cancel,
		log:    s.log.With("remote", c.NetConn().RemoteAddr().String()),
	}
	s.sessions.Add(1)
	s.live[sess] = struct{}{}
	s.mu.Unlock()
	sess.log.Debug("connected")
	return sess, nil, nil
}

// libLogger routes the library's own messages to slog. Most are about one
// client's bad input or dropped connection (debug level, so a client can't
// flood the log); a panic the library recovered is counted and logged as
// an error, a failing listener a warning.
type libLogger struct{ l *slog.Logger }

func (l libLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	level := slog.LevelDebug
	switch {
	case strings.HasPrefix(msg, "panic"):
		panics.Reported(l.l, panics.IMAPConnection, "panic in go-imap", msg)
		return
	case strings.HasPrefix(msg, "accept error"), strings.HasPrefix(msg, "failed to create session"):
		level = slog.LevelWarn
	}
	l.l.Log(context.Background(), level, msg, "component", "go-imap")
}
