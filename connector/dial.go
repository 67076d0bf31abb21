package connector

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/config"
)

// deadlineConn gives every read and write its own deadline: a server
// that stops answering ends the session instead of hanging it.
type deadlineConn struct {
	net.Conn
	timeout atomic.Int64 // time.Duration
}

func (c *deadlineConn) setTimeout(d time.Duration) { c.timeout.Store(int64(d)) }

func (c *deadlineConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(time.Duration(c.timeout.Load())))
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(time.Duration(c.timeout.Load())))
	return c.Conn.Write(b)
}

// dial connects to the account's IMAP server with its TLS mode and waits
// for the greeting. newMail is signalled at every EXISTS.
func (w *worker) dial(ctx context.Context, newMail chan<- struct{}) (*deadlineConn, *imapclient.Client, error) {
	a := w.acct
	d := net.Dialer{Timeout: a.Timeout.Duration}
	raw, err := d.DialContext(ctx, "tcp", a.IMAP)
	if err != nil {
		return nil, nil, fmt.Errorf("imap %s unreachable: %w", a.IMAP, err)
	}
	conn := &deadlineConn{Conn: raw}
	conn.setTimeout(a.Timeout.Duration)
	host, _, _ := net.SplitHostPort(a.IMAP)
	opts := &imapclient.Options{
		TLSConfig: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					select {
					case newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var cl *imapclient.Client
	switch a.IMAPTLS {
	case config.AccountTLSImplicit:
		tc := tls.Client(conn, opts.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, nil, fmt.Errorf("imap %s: TLS: %w", a.IMAP, err)
		}
		cl = imapclient.New(tc, opts)
	case config.AccountTLSStartTLS:
		if cl, err = imapclient.NewStartTLS(conn, opts); err != nil {
			raw.Close()
			return nil, nil, fmt.Errorf("imap %s: STARTTLS: %w", a.IMAP, err)
		}
	default:
		cl = imapclient.New(conn, opts)
	}
	if err := cl.WaitGreeting(); err != nil {
		cl.Close()
		return nil, nil, fmt.Errorf("imap %s: greeting: %w", a.IMAP, err)
	}
	return conn, cl, nil
}
