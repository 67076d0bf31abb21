package smtpserver

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
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
		tc := &trackedConn{Conn: c, conns: l.conns}
		if l.tls != nil {
			return tls.Server(tc, l.tls), nil // go-smtp runs the handshake
		}
		return tc, nil
	}
}

type trackedConn struct {
	net.Conn
	conns     *connSet
	once      sync.Once
	hangingUp atomic.Bool // close after the next write
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

// hangUpAfterReply makes c close right after go-smtp has written its next
// reply (one write: it flushes each line, and TLS sends a short reply as
// one record), so a client gets the reply and then loses the connection.
// c is what smtp.Conn.Conn returns: the trackedConn or a *tls.Conn on it.
func hangUpAfterReply(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*trackedConn); ok {
		tc.hangingUp.Store(true)
		return
	}
	c.Close() // not ours: no reply, but no more attempts either
}
