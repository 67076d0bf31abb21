package msgauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

const testHost = "mx.mxdesk.test"

// Test keys: RSA from testdata (generating one per run is slow under
// -race), Ed25519 from a fixed seed.
func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("testdata/dkim-rsa.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func edKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// publishKey publishes the DKIM key record of key at selector._domainkey.domain
// (RFC 6376 3.6.1, RFC 8463 for Ed25519).
func publishKey(t *testing.T, d *dnsServer, selector, domain string, key crypto.Signer) {
	t.Helper()
	var rec string
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		rec = "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		rec = "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	}
	d.addTXT(selector+"._domainkey."+domain, rec)
}

// message returns a plain message From from with CRLF line endings.
func message(from string) []byte {
	return []byte(strings.ReplaceAll(`From: `+from+`
To: support@mxdesk.test
Subject: Order 1234
Date: Mon, 02 Mar 2026 10:00:00 +0000
Message-ID: <1234@example.com>

Hello, where is my order?
`, "\n", "\r\n"))
}

// sign prepends a DKIM-Signature by domain/selector with key
// (relaxed/relaxed, explicit header list).
func sign(t testing.TB, msg []byte, domain, selector string, key crypto.Signer, expires time.Time) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: key, Expiration: expires,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// checker returns a Checker on the test DNS server d.
func checker(d *dnsServer) *Checker {
	return New(Options{Resolver: d.addr, Timeout: 2 * time.Second, Hostname: testHost})
}

func check(t *testing.T, c *Checker, ip, helo, mailFrom string, msg []byte) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Check(ctx, Input{IP: net.ParseIP(ip), Helo: helo, MailFrom: mailFrom, Message: msg})
}
