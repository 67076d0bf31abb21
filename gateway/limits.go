package gateway

import (
	"net"
	"sync"

	"mxdesk/ratelimit"
)

// limitListener refuses a connection when its listener already has
// limits.connections_per_listener open, or its address (an IPv6 /64) has
// limits.connections_per_ip open over every mail listener together, with
// a protocol greeting that says why when the protocol is in clear.
type limitListener struct {
	net.Listener
	name        string           // the listener's name, its key in perListener
	perIP       *ratelimit.Conns // shared by every mail listener
	perListener *ratelimit.Conns
	onDrop      func(remote, key string)
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.perListener.Acquire(l.name) {
			l.refuse(c, "limits.connections_per_listener")
			continue
		}
		ip := ratelimit.ConnKey(c.RemoteAddr())
		if !l.perIP.Acquire(ip) {
			l.perListener.Release(l.name)
			l.refuse(c, "limits.connections_per_ip")
			continue
		}
		return &limitConn{Conn: c, release: func() {
			l.perIP.Release(ip)
			l.perListener.Release(l.name)
		}}, nil
	}
}

// refuse tells c why (if the protocol is in clear) and closes it.
func (l *limitListener) refuse(c net.Conn, key string) {
	if line := rejectLine(l.name, key); line != "" {
		c.Write([]byte(line))
	}
	c.Close()
	l.onDrop(ratelimit.IP(c.RemoteAddr()), key)
}

// limitConn gives its slots back when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// rejectLine is what a client refused by the limit key reads, per
// listener.
func rejectLine(listener, key string) string {
	full := key == "limits.connections_per_listener"
	switch listener {
	case "smtp", "submission":
		if full {
			return "421 4.7.0 too many connections, try later (" + key + ")\r\n"
		}
		return "421 4.7.0 Too many connections from your address (" + key + ")\r\n"
	case "imap":
		if full {
			return "* BYE too many connections (" + key + ")\r\n"
		}
		return "* BYE Too many connections from your address (" + key + ")\r\n"
	}
	return "" // implicit TLS: nothing can be said before the handshake
}
