package gateway_test

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

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
