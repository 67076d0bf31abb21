package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The example production configuration in deploy/ must load as it is,
// once the files it names exist (here: a test certificate and DKIM key).
func TestDeployExample(t *testing.T) {
	data, err := os.ReadFile("../deploy/mxdesk.toml")
	if err != nil {
		t.Fatal(err)
	}
	cert, key := writeCert(t)
	dkim := writeDKIMKey(t)
	text := strings.NewReplacer("/etc/mxdesk/fullchain.pem", cert, "/etc/mxdesk/privkey.pem", key,
		"/etc/mxdesk/dkim-example.com.pem", dkim).Replace(string(data))
	path := filepath.Join(t.TempDir(), "mxdesk.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("deploy/mxdesk.toml:\n%v", err)
	}
	if c.Log.Format != LogJSON || c.Policy.Clamd == "" || c.Listen.IMAPS == "" || c.Listen.Submissions == "" ||
		len(c.Queue) != 2 || c.Domain[0].DKIMKey != dkim || c.DataDir != "/var/lib/mxdesk" {
		t.Errorf("deploy/mxdesk.toml: not the production example it should be: %+v", c)
	}
}

func writeDKIMKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// [log] defaults to text at info; bad values name their key.
func TestLogSection(t *testing.T) {
	c, errs := parse(t, base)
	if errs != nil {
		t.Fatal(errs)
	}
	if c.Log.Format != LogText || c.Log.Level != "info" {
		t.Errorf("[log] defaults: %+v, want text and info", c.Log)
	}
	_, errs = parse(t, base+"\n[log]\nformat = \"xml\"\nlevel = \"loud\"\n")
	if got := errs.Error(); !strings.Contains(got, "log.format") || !strings.Contains(got, "log.level") {
		t.Errorf("bad [log]: %v, want errors naming log.format and log.level", errs)
	}
}
