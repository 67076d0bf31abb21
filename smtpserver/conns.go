package smtpserver

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// connSet remembers the open listeners and connections so Close can end
// them.
type connSet struct {
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	listeners []net.Listener
	closed    bool
}

// listen registers a listener; after closeAll it closes l and returns
// false. go-smtp's Shutdown only knows listeners its Serve already
// reached, so a Close racing with Serve would otherwise leave one open.
func (cs *connSet) listen(l net.Listener) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		l.Close()
		return false
	}
	cs.listeners = append(cs.listeners, l)
	return true
}

func (cs *connSet) add(c net.Conn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	if cs.conns == nil {
		cs.conns = map[net.Conn]struct{}{}
	}
	cs.conns[c] = struct{}{}
	return true
}

func (cs *connSet) remove(c net.Conn) {
	cs.mu.Lock()
	delete(cs.conns, c)
	cs.mu.Unlock()
}

// closeAll closes every listener and connection; the handlers then see
// read errors and return by themselves.
func (cs *connSet) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for _, l := range cs.listeners {
		l.Close()
	}
	for c := range cs.conns {
		c.Close()
	}
}

// trackingListener adds each accepted connection to a connSet, and wraps
// it in TLS when tls is set (implicit TLS).
type trackingListener struct {
	net.Listener
	conns *connSet
	tls   *tls.Config
	// readTimeout is smtp.read_timeout, handshakeTimeout
	// limits.tls_handshake_timeout (0: none).
	readTimeout, handshakeTimeout time.Duration
	log                           *slog.Logger
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.conns.add(c) {
			c.Close() // accepted while closing
			continue
		}
		tc := &trackedConn{Conn: c, conns: l.conns, readTimeout: l.readTimeout, log: l.log}
		if l.tls == nil {
			tc.progress()
			return tc, nil
		}
		// go-smtp runs the handshake under its own read deadline (a whole
		// smtp.read_timeout): the first limit is the handshake's.
		if l.handshakeTimeout > 0 {
			tc.limitUntil(time.Now().Add(l.handshakeTimeout))
		}
		conf := l.tls.Clone()
		conf.VerifyConnection = func(tls.ConnectionState) error {
			tc.progress() // the handshake is done
			return nil
		}
		return tls.Server(tc, conf), nil
	}
}

// trackedConn is one connection: tracked for Close, and held to
// smtp.read_timeout as a whole. go-smtp sets a fresh read deadline before
// each line, so a client trickling bad commands (each answered 501) would
// live on for ever; trackedConn caps every deadline at readTimeout after
// the last progress (see progress).
type trackedConn struct {
	net.Conn
	conns     *connSet
	once      sync.Once
	hangingUp atomic.Bool // close after the next write

	readTimeout time.Duration
	log         *slog.Logger
	limit       atomic.Int64 // Unix nanoseconds: no read deadline beyond it
	inData      atomic.Bool  // a message is being read (DATA or BDAT)
}

// progress marks a step of the session (the greeting, a session, a
// counted command, a message): the client has readTimeout from now for
// the next one.
func (c *trackedConn) progress() {
	if c.readTimeout > 0 {
		c.limitUntil(time.Now().Add(c.readTimeout))
	}
}

func (c *trackedConn) limitUntil(t time.Time) { c.limit.Store(t.UnixNano()) }

// SetReadDeadline is go-smtp's deadline, capped at the limit.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if limit := c.limit.Load(); limit != 0 && (t.IsZero() || t.UnixNano() > limit) {
		t = time.Unix(0, limit)
	}
	return c.Conn.SetReadDeadline(t)
}

// errDataTimeout answers a message that did not arrive within
// smtp.read_timeout: temporary, so the sender tries again, and without
// the network error (it would name our address).
var errDataTimeout = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout reading the message (smtp.read_timeout), closing; try again later"}

// Read turns a timeout while a message is read into errDataTimeout, which
// go-smtp answers as it is (DATA through session.Data, BDAT directly), and
// closes the connection after that reply. A timeout between commands stays
// a timeout: go-smtp answers "421 4.4.2 Idle timeout" and closes.
func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		return n, err
	}
	c.log.Info("read timeout, closing", "key", "smtp.read_timeout", "timeout", c.readTimeout, "in_message", c.inData.Load())
	if c.inData.Load() {
		c.hangingUp.Store(true)
		return n, errDataTimeout
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.conns.remove(c.Conn) })
	return c.Conn.Close()
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.hangingUp.Load() {
		c.Close()
	}
	return n, err
}

// tracked is the trackedConn under c (what smtp.Conn.Conn returns), or
// nil.
func tracked(c net.Conn) *trackedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tc, _ := c.(*trackedConn)
	return tc
}

// hangUpAfterReply makes c close right after go-smtp has written its next
// reply (one write: it flushes each line, and TLS sends a short reply as
// one record), so a client gets the reply and then loses the connection.
// c is what smtp.Conn.Conn returns: the trackedConn or a *tls.Conn on it.
func hangUpAfterReply(c net.Conn) {
	if tc := tracked(c); tc != nil {
		tc.hangingUp.Store(true)
		return
	}
	c.Close() // not ours: no reply, but no more attempts either
}
