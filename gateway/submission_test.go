package gateway_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/testutil"
)

// TestSubmissionListeners starts the gateway with both submission ports,
// a certificate and insecure_auth off, as in production: 587 offers AUTH
// only after STARTTLS, 465 right away, and the MX on neither.
func TestSubmissionListeners(t *testing.T) {
	cfg := testutil.Config(t, "")
	// testutil.Config writes [listen] and [tls] itself; extra TOML can't
	// reopen them.
	cfg.Listen.Submission = "127.0.0.1:0"
	cfg.Listen.Submissions = "127.0.0.1:0"
	cfg.TLS.Cert, cfg.TLS.Key = testutil.TLSFiles(t, t.TempDir())
	cfg.TLS.InsecureAuth = false
	g := startGatewayCfg(t, cfg)
	pem, err := os.ReadFile(cfg.TLS.Cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	clientTLS := &tls.Config{RootCAs: roots, ServerName: "localhost"}

	hello := func(t *testing.T, dial func() (*smtp.Client, error)) *smtp.Client {
		t.Helper()
		c, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Hello("client.test"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	login := func(t *testing.T, c *smtp.Client) {
		t.Helper()
		if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
		if err := c.Mail("alice@example.test", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("carla@customer.test", nil); err != nil {
			t.Fatalf("RCPT to an outside address: %v", err)
		}
	}

	t.Run("submission", func(t *testing.T) {
		c := hello(t, func() (*smtp.Client, error) { return smtp.Dial(g.Addr("submission")) })
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH offered before STARTTLS")
		}
		c = hello(t, func() (*smtp.Client, error) { return smtp.DialStartTLS(g.Addr("submission"), clientTLS) })
		login(t, c)
	})
	t.Run("submissions", func(t *testing.T) {
		login(t, hello(t, func() (*smtp.Client, error) { return smtp.DialTLS(g.Addr("submissions"), clientTLS) }))
	})
	t.Run("smtp", func(t *testing.T) {
		c := hello(t, func() (*smtp.Client, error) { return smtp.DialStartTLS(g.Addr("smtp"), clientTLS) })
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("the MX offers AUTH")
		}
		if err := c.Mail("alice@example.test", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("carla@customer.test", nil); err == nil {
			t.Error("the MX relays to an outside address")
		}
	})
}
