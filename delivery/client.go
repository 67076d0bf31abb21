package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS use of a connection.
type tlsMode int

const (
	tlsOff           tlsMode = iota // clear text ("none", loopback smarthosts)
	tlsOpportunistic                // STARTTLS if offered, unverified (MX hops)
	tlsRequired                     // STARTTLS, verified (smarthost "starttls")
	tlsImplicit                     // TLS from the start, verified ("implicit")
)

// target is one server to open a session with.
type target struct {
	addr string // host:port to dial (an IP for MX hosts)
	host string // its name: TLS server name and logs
	mode tlsMode
	auth func() sasl.Client // AUTH PLAIN after TLS, or nil
}

// conn is an open SMTP session, after EHLO, STARTTLS and AUTH.
type conn struct {
	*smtp.Client
	session
	close func()
}

// errTLS marks a failed TLS negotiation on an opportunistic session, after
// which delivery to that host goes on in clear text.
var errTLS = errors.New("TLS negotiation failed")

// open dials t and prepares the session. Every step is bounded by the
// configured timeout, and ctx ending closes the connection.
func (w *Worker) open(ctx context.Context, t target) (*conn, error) {
	d := net.Dialer{Timeout: w.timeout}
	raw, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	nc := net.Conn(&deadlineConn{Conn: raw, timeout: w.timeout})
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	c := &conn{session: session{remote: remoteName(t.host, raw), tls: "none"}}
	c.close = func() {
		stop()
		raw.Close()
	}
	if err := w.prepare(ctx, c, nc, t); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (w *Worker) prepare(ctx context.Context, c *conn, nc net.Conn, t target) error {
	if t.mode == tlsImplicit {
		tc, err := w.handshake(ctx, nc, t)
		if err != nil {
			return err
		}
		nc, c.tls = tc, "verified"
	}
	c.Client = w.newClient(nc)
	if err := c.Hello(w.cfg.Hostname); err != nil {
		return err
	}
	if t.mode == tlsOpportunistic || t.mode == tlsRequired {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := w.startTLS(ctx, c, nc, t); err != nil {
				return err
			}
		} else if t.mode == tlsRequired {
			return fmt.Errorf("%s does not offer STARTTLS (delivery.smarthost_tls = %q)", t.host, "starttls")
		}
	}
	if t.auth != nil {
		if c.tls == "none" && t.mode != tlsOff {
			return fmt.Errorf("%s: no AUTH without TLS", t.host)
		}
		if !c.SupportsAuth(sasl.Plain) {
			return fmt.Errorf("%s does not offer AUTH PLAIN", t.host)
		}
		if err := c.Auth(t.auth()); err != nil {
			return fmt.Errorf("AUTH PLAIN at %s: %w", t.host, err)
		}
	}
	return nil
}

func (w *Worker) newClient(nc net.Conn) *smtp.Client {
	c := smtp.NewClient(nc)
	c.CommandTimeout, c.SubmissionTimeout = w.timeout, w.timeout
	return c
}

// startTLS runs STARTTLS on a session that has said EHLO and says EHLO
// again over TLS. go-smtp can only STARTTLS before its own EHLO, which
// would introduce us as "localhost": so the command is sent here and the
// TLS connection handed to a new client, which is told the greeting it
// would otherwise wait for.
func (w *Worker) startTLS(ctx context.Context, c *conn, nc net.Conn, t target) error {
	if err := starttlsCommand(nc, w.timeout); err != nil {
		return err
	}
	tc, err := w.handshake(ctx, nc, t)
	if err != nil {
		return err
	}
	c.tls = "verified"
	if t.mode == tlsOpportunistic {
		c.tls = w.checkCert(tc, t.host)
	}
	c.Client = w.newClient(&greetedConn{Conn: tc, greeting: []byte("220 " + t.host + " TLS\r\n")})
	return c.Hello(w.cfg.Hostname)
}

// starttlsCommand sends STARTTLS and reads the reply byte by byte, so that
// nothing of the TLS handshake is read into a buffer.
func starttlsCommand(nc net.Conn, timeout time.Duration) error {
	nc.SetDeadline(time.Now().Add(timeout))
	defer nc.SetDeadline(time.Time{})
	if _, err := io.WriteString(nc, "STARTTLS\r\n"); err != nil {
		return err
	}
	for {
		var line []byte
		b := make([]byte, 1)
		for len(line) < 1000 && !bytes.HasSuffix(line, []byte("\n")) {
			if _, err := nc.Read(b); err != nil {
				return err
			}
			line = append(line, b[0])
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return fmt.Errorf("STARTTLS: malformed reply %q", line)
		}
		if len(line) > 3 && line[3] == '-' {
			continue
		}
		code, err := strconv.Atoi(string(line[:3]))
		if err != nil || code != 220 {
			msg := ""
			if len(line) > 4 {
				msg = string(line[4:])
			}
			return &smtp.SMTPError{Code: code, Message: "STARTTLS: " + msg}
		}
		return nil
	}
}

// handshake runs the client side of TLS on nc for t.
func (w *Worker) handshake(ctx context.Context, nc net.Conn, t target) (*tls.Conn, error) {
	cfg := w.tls.Clone()
	if cfg.ServerName == "" || t.mode == tlsOpportunistic {
		cfg.ServerName = t.host
	}
	if t.mode == tlsOpportunistic {
		cfg.InsecureSkipVerify = true
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if t.mode == tlsOpportunistic {
			return nil, fmt.Errorf("%w with %s: %v", errTLS, t.host, err)
		}
		return nil, fmt.Errorf("TLS with %s: %w", t.host, err)
	}
	return tc, nil
}

// checkCert says whether an MX's certificate would pass verification for
// host, for the log: it is not required.
func (w *Worker) checkCert(tc *tls.Conn, host string) string {
	cs := tc.ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return "unverified"
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: w.tls.RootCAs, Intermediates: inter})
	if err != nil {
		return "unverified"
	}
	return "verified"
}

func remoteName(host string, c net.Conn) string {
	ip, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	if ip == host {
		return host
	}
	return host + " [" + ip + "]"
}

// deadlineConn bounds every write: go-smtp sets deadlines around commands
// but not while it writes a message body.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(b)
}

// greetedConn hands a client the greeting it expects first.
type greetedConn struct {
	net.Conn
	greeting []byte
}

func (c *greetedConn) Read(b []byte) (int, error) {
	if len(c.greeting) > 0 {
		n := copy(b, c.greeting)
		c.greeting = c.greeting[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
