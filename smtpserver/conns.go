package smtpserver

import (
	"net"
	"sync"
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

// trackingListener adds each accepted connection to a connSet.
type trackingListener struct {
	net.Listener
	conns *connSet
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.conns.add(c) {
			return &trackedConn{Conn: c, conns: l.conns}, nil
		}
		c.Close() // accepted while closing
	}
}

type trackedConn struct {
	net.Conn
	conns *connSet
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.conns.remove(c.Conn) })
	return c.Conn.Close()
}
