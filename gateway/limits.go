package gateway

import (
	"net"
	"sync"

	"mxdesk/ratelimit"
)

// limitListener refuses a connection from an address that already has
// limits.connections_per_ip open (over every mail listener together),
// with a protocol greeting that says why when the protocol is in clear.
type limitListener struct {
	net.Listener
	conns  *ratelimit.Conns
	reject string // written before closing; "" for implicit TLS listeners
	onDrop func(ip string)
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := ratelimit.IP(c.RemoteAddr())
		if l.conns.Acquire(ip) {
			return &limitConn{Conn: c, release: func() { l.conns.Release(ip) }}, nil
		}
		if l.reject != "" {
			c.Write([]byte(l.reject))
		}
		c.Close()
		l.onDrop(ip)
	}
}

// limitConn gives its slot back when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// rejectLine is what a refused client reads, per listener.
func rejectLine(listener string) string {
	switch listener {
	case "smtp", "submission":
		return "421 4.7.0 Too many connections from your address (limits.connections_per_ip)\r\n"
	case "imap":
		return "* BYE Too many connections from your address (limits.connections_per_ip)\r\n"
	}
	return "" // implicit TLS: nothing can be said before the handshake
}
