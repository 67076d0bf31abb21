package gateway

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"mxdesk/config"
)

// certStore holds the certificate every TLS listener serves; ReloadTLS
// swaps it without touching the listeners, so connections in progress
// keep theirs and new ones get the new one.
type certStore struct {
	cfg  config.TLS
	cert atomic.Pointer[tls.Certificate]
}

// aeadSuites are the TLS 1.2 cipher suites the listeners accept: forward
// secret (ECDHE) and AEAD only. Go's default list still has the CBC ones
// (ECDHE-RSA-AES128-SHA, ...); TLS 1.3's suites are all AEAD and are not
// configured here.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// loadTLS builds the TLS configuration of every listener from tls.cert
// and tls.key (nil when none is configured): TLS 1.2 at least, AEAD
// cipher suites only, the certificate read through certStore so it can be
// reloaded.
func loadTLS(c config.TLS) (*tls.Config, *certStore, error) {
	if c.Cert == "" {
		return nil, nil, nil
	}
	cs := &certStore{cfg: c}
	if err := cs.reload(); err != nil {
		return nil, nil, err
	}
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: aeadSuites,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cs.cert.Load(), nil
		},
	}
	return conf, cs, nil
}

// handshakeListener is tls.NewListener with a deadline on the handshake
// (limits.tls_handshake_timeout): go-imap starts the handshake with its
// greeting without a read deadline, so a client that connects to imaps
// and never sends a ClientHello would hold its connection for ever. Once
// the handshake is done go-imap sets its own deadlines before every read
// and write, replacing this one.
type handshakeListener struct {
	net.Listener
	conf    *tls.Config
	timeout time.Duration
}

func (l *handshakeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(l.timeout))
	return tls.Server(c, l.conf), nil
}

// setPaths loads the certificate of c and, if it loads, serves it and
// reads it from c's paths from now on.
func (cs *certStore) setPaths(c config.TLS) error {
	next := &certStore{cfg: c}
	if err := next.reload(); err != nil {
		return err
	}
	cs.cfg = c
	cs.cert.Store(next.cert.Load())
	return nil
}

func (cs *certStore) reload() error {
	cert, err := tls.LoadX509KeyPair(cs.cfg.Cert, cs.cfg.Key)
	if err != nil {
		return fmt.Errorf("tls.cert %s / tls.key %s: %w", cs.cfg.Cert, cs.cfg.Key, err)
	}
	cs.cert.Store(&cert)
	return nil
}

// ReloadTLS reads tls.cert and tls.key again (SIGHUP, after a renewal).
// If they can't be loaded the old certificate stays in use and the error
// says why.
func (g *Gateway) ReloadTLS() error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	if g.certs == nil {
		return nil
	}
	if err := g.certs.reload(); err != nil {
		g.log.Error("certificate reload failed, keeping the old one", "err", err)
		return err
	}
	g.log.Info("certificate reloaded", "cert", g.certs.cfg.Cert)
	return nil
}
