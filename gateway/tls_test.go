package gateway_test

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"mxdesk/testutil"
)

// TestReloadTLS: after the certificate files change, ReloadTLS serves the
// new certificate to new connections; a broken file keeps the old one.
func TestReloadTLS(t *testing.T) {
	dir := t.TempDir()
	cfg := testutil.Config(t, "")
	cfg.Listen.Submissions = "127.0.0.1:0"
	cfg.TLS.Cert, cfg.TLS.Key = testutil.TLSFiles(t, dir)
	g := startGatewayCfg(t, cfg)
	served := func() []byte {
		t.Helper()
		c, err := tls.Dial("tcp", g.Addr("submissions"), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Raw
	}
	first := served()

	// A renewal writes new files in place.
	newDir := t.TempDir()
	cert, key := testutil.TLSFiles(t, newDir)
	for src, dst := range map[string]string{cert: cfg.TLS.Cert, key: cfg.TLS.Key} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	second := served()
	if bytes.Equal(first, second) {
		t.Fatal("the old certificate is still served after ReloadTLS")
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(cfg.TLS.Key)), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.ReloadTLS(); err == nil {
		t.Fatal("a broken key was accepted")
	}
	if !bytes.Equal(served(), second) {
		t.Error("a failed reload changed the certificate")
	}
	// TLS 1.1 is refused.
	if c, err := tls.Dial("tcp", g.Addr("submissions"), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
}

// TestTLSOnlyAEADSuites: over TLS 1.2 every listener refuses a client
// that offers only CBC suites and accepts one that offers AES-GCM:
// implicit TLS (submissions, imaps) and STARTTLS (the MX, submission,
// imap).
func TestTLSOnlyAEADSuites(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.Listen.Submission = "127.0.0.1:0"
	cfg.Listen.Submissions = "127.0.0.1:0"
	cfg.Listen.IMAPS = "127.0.0.1:0"
	cfg.TLS.Cert, cfg.TLS.Key = testutil.TLSFiles(t, t.TempDir())
	g := startGatewayCfg(t, cfg)
	cbc := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	}
	gcm := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	handshakes := map[string]func(*tls.Config) error{
		"submissions": func(c *tls.Config) error { return implicitTLS(g.Addr("submissions"), c) },
		"imaps":       func(c *tls.Config) error { return implicitTLS(g.Addr("imaps"), c) },
		"smtp":        func(c *tls.Config) error { return startTLS(g.Addr("smtp"), c) },
		"submission":  func(c *tls.Config) error { return startTLS(g.Addr("submission"), c) },
		"imap":        func(c *tls.Config) error { return imapStartTLS(g.Addr("imap"), c) },
	}
	for name, handshake := range handshakes {
		offer := func(suites []uint16) *tls.Config {
			return &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: suites}
		}
		if err := handshake(offer(cbc)); err == nil {
			t.Errorf("%s: a TLS 1.2 client offering only CBC suites completed the handshake", name)
		}
		if err := handshake(offer(gcm)); err != nil {
			t.Errorf("%s: a TLS 1.2 client offering AES-GCM: %v", name, err)
		}
	}
}

func implicitTLS(addr string, c *tls.Config) error {
	conn, err := tls.Dial("tcp", addr, c)
	if err != nil {
		return err
	}
	return conn.Close()
}

// startTLS runs STARTTLS and a command over it: go-smtp's client does
// the handshake only when it next speaks.
func startTLS(addr string, c *tls.Config) error {
	client, err := smtp.DialStartTLS(addr, c)
	if err != nil {
		return err
	}
	defer client.Close()
	return client.Noop()
}

func imapStartTLS(addr string, c *tls.Config) error {
	client, err := imapclient.DialStartTLS(addr, &imapclient.Options{TLSConfig: c})
	if err != nil {
		return err
	}
	defer client.Close()
	return client.Noop().Wait()
}
