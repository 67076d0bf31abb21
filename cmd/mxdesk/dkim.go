package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

const dkimKeygenUsage = `Usage: mxdesk dkim-keygen --domain DOMAIN --selector SELECTOR --key FILE [--algorithm rsa|ed25519] [--bits 2048]

Makes a new DKIM signing key for DOMAIN, writes it to FILE (PKCS#8 PEM,
mode 0600; an existing file is never overwritten) and prints the DNS TXT
record to publish, SELECTOR._domainkey.DOMAIN, and the two lines to add to
the domain's [[domain]] table. mxdesk signs the mail it sends from DOMAIN
with the key as soon as the configuration names it: publish the record
first.

  mxdesk dkim-keygen --domain example.com --selector mx2026 --key /etc/mxdesk/dkim-example.com.pem

RSA (2048 bits) is what every receiver verifies; ed25519 keys (RFC 8463)
are short but not yet verified everywhere, so sign with RSA unless you add
an ed25519 key as a second selector.

Flags:
`

func runDKIMKeygen(args []string, std stdio) int {
	fs := flag.NewFlagSet("dkim-keygen", flag.ContinueOnError)
	domain := fs.String("domain", "", "the mail `DOMAIN` the key signs for (a [[domain]] name)")
	selector := fs.String("selector", "", "the DKIM `SELECTOR`, e.g. mx2026: the key is published at SELECTOR._domainkey.DOMAIN")
	keyFile := fs.String("key", "", "write the private key to `FILE` (must not exist)")
	alg := fs.String("algorithm", "rsa", "key `TYPE`: rsa or ed25519")
	bits := fs.Int("bits", 2048, "RSA key size in `BITS` (1024 to 4096)")
	if status, ok := parseFlags(fs, dkimKeygenUsage, args, std); !ok {
		return status
	}
	if err := checkKeygenFlags(*domain, *selector, *keyFile, *alg, *bits); err != nil {
		fmt.Fprintf(std.err, "mxdesk dkim-keygen: %v\n", err)
		return 2
	}
	key, err := generateDKIMKey(*alg, *bits)
	if err == nil {
		err = writeKey(*keyFile, key)
	}
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk dkim-keygen: %v\n", err)
		return 1
	}
	record, err := dkimRecord(*domain, *selector, key.Public())
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk dkim-keygen: %v\n", err)
		return 1
	}
	printKeygen(std.out, *domain, *selector, *keyFile, record)
	return 0
}

// dnsLabels matches a host name or DKIM selector: dot-separated labels of
// letters, digits and inner hyphens (or underscores, seen in selectors).
var dnsLabels = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$`)

func checkKeygenFlags(domain, selector, keyFile, alg string, bits int) error {
	switch {
	case domain == "" || selector == "" || keyFile == "":
		return errors.New("--domain, --selector and --key are required")
	case !dnsLabels.MatchString(strings.TrimSuffix(domain, ".")) || !strings.Contains(domain, "."):
		return fmt.Errorf("--domain %q is not a domain name", domain)
	case !dnsLabels.MatchString(selector):
		return fmt.Errorf("--selector %q: want letters, digits, hyphens (and dots between labels)", selector)
	case alg != "rsa" && alg != "ed25519":
		return fmt.Errorf("--algorithm must be rsa or ed25519, not %q", alg)
	case alg == "rsa" && (bits < 1024 || bits > 4096):
		return fmt.Errorf("--bits must be from 1024 to 4096 (2048 recommended), not %d", bits)
	}
	return nil
}

func generateDKIMKey(alg string, bits int) (crypto.Signer, error) {
	if alg == "ed25519" {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return rsa.GenerateKey(rand.Reader, bits)
}

// writeKey writes key as a PKCS#8 PEM file readable by its owner only,
// refusing to replace a file.
func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: not overwriting a key (remove it first, or choose another file)", path)
	}
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dkimRecord is the zone file line publishing pub (RFC 6376 3.6.1): the
// value split into quoted strings of at most 255 characters, which
// resolvers join.
func dkimRecord(domain, selector string, pub crypto.PublicKey) (string, error) {
	var k, p string
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		k, p = "rsa", base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		k, p = "ed25519", base64.StdEncoding.EncodeToString(pub) // RFC 8463: the raw key
	default:
		return "", fmt.Errorf("unsupported key type %T", pub)
	}
	value := "v=DKIM1; k=" + k + "; p=" + p
	var parts []string
	for len(value) > 255 {
		parts = append(parts, `"`+value[:255]+`"`)
		value = value[255:]
	}
	parts = append(parts, `"`+value+`"`)
	name := selector + "._domainkey." + strings.TrimSuffix(domain, ".") + "."
	return name + " IN TXT " + strings.Join(parts, " "), nil
}

func printKeygen(w io.Writer, domain, selector, keyFile, record string) {
	abs, err := filepath.Abs(keyFile)
	if err != nil {
		abs = keyFile
	}
	fmt.Fprintf(w, "Wrote the private key to %s (keep it secret; mode 0600).\n\n", abs)
	fmt.Fprintf(w, "1. Publish this TXT record in the DNS zone of %s:\n\n%s\n\n", domain, record)
	fmt.Fprintf(w, "2. Once it resolves, add to the [[domain]] table of %s:\n\n", domain)
	fmt.Fprintf(w, "dkim_selector = %q\ndkim_key = %q\n\n", selector, abs)
	fmt.Fprintf(w, "Check the record with: dig +short TXT %s._domainkey.%s\n", selector, strings.TrimSuffix(domain, "."))
}
