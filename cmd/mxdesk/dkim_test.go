package main

import (
	"bytes"
	"crypto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"mxdesk/config"
)

// TestDKIMKeygen: the key written loads as mxdesk loads DKIM keys, the
// printed record parses as a zone file line, and a message signed with
// the key verifies against the record.
func TestDKIMKeygen(t *testing.T) {
	for _, tc := range []struct {
		args []string
		k    string
	}{
		{nil, "rsa"},
		{[]string{"--algorithm", "ed25519"}, "ed25519"},
		{[]string{"--bits", "1024"}, "rsa"},
	} {
		t.Run(tc.k+strings.Join(tc.args, ""), func(t *testing.T) {
			keyFile := filepath.Join(t.TempDir(), "dkim.pem")
			args := append([]string{"dkim-keygen", "--domain", "example.com", "--selector", "mx2026", "--key", keyFile}, tc.args...)
			status, out, errOut := runCmd(t, "", args...)
			if status != 0 {
				t.Fatalf("status %d: %s", status, errOut)
			}
			if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file: %v, %v", fi, err)
			}
			key, err := config.LoadDKIMKey(keyFile)
			if err != nil {
				t.Fatalf("LoadDKIMKey: %v", err)
			}
			txt := recordValue(t, out)
			if !strings.HasPrefix(txt, "v=DKIM1; k="+tc.k+"; p=") {
				t.Errorf("record value %q", txt)
			}
			abs, _ := filepath.Abs(keyFile)
			for _, want := range []string{"dkim_selector = \"mx2026\"\n", "dkim_key = \"" + abs + "\"\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			verifyWithRecord(t, key, txt)
		})
	}
}

// recordValue finds the TXT line in out, parses it as a zone file entry
// and returns the joined value.
func recordValue(t *testing.T, out string) string {
	t.Helper()
	line := regexp.MustCompile(`(?m)^mx2026\._domainkey\.example\.com\. IN TXT .*$`).FindString(out)
	if line == "" {
		t.Fatalf("no TXT record line in:\n%s", out)
	}
	rr, err := dns.NewRR(line)
	if err != nil {
		t.Fatalf("record %q: %v", line, err)
	}
	txt, ok := rr.(*dns.TXT)
	if !ok {
		t.Fatalf("record is a %T", rr)
	}
	for _, s := range txt.Txt {
		if len(s) > 255 {
			t.Errorf("a string of %d characters: TXT strings hold 255 at most", len(s))
		}
	}
	return strings.Join(txt.Txt, "")
}

func verifyWithRecord(t *testing.T, key crypto.Signer, txt string) {
	t.Helper()
	msg := "From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
	var signed bytes.Buffer
	err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.com", Selector: "mx2026", Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	verifs, err := dkim.VerifyWithOptions(&signed, &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if name != "mx2026._domainkey.example.com" {
			t.Errorf("looked up %s", name)
		}
		return []string{txt}, nil
	}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
		t.Fatalf("verify against the record: %v %+v", err, verifs)
	}
}

func TestDKIMKeygenRefuses(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "taken.pem")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"--domain", "example.com", "--selector", "s"}, 2, "required"},
		{[]string{"--domain", "example.com", "--selector", "s", "--key", existing}, 1, "not overwriting"},
		{[]string{"--domain", "bad domain", "--selector", "s", "--key", filepath.Join(dir, "x")}, 2, "not a domain"},
		{[]string{"--domain", "example.com", "--selector", "s!", "--key", filepath.Join(dir, "x")}, 2, "--selector"},
		{[]string{"--domain", "example.com", "--selector", "s", "--key", filepath.Join(dir, "x"), "--algorithm", "dsa"}, 2, "--algorithm"},
		{[]string{"--domain", "example.com", "--selector", "s", "--key", filepath.Join(dir, "x"), "--bits", "512"}, 2, "--bits"},
	} {
		status, _, errOut := runCmd(t, "", append([]string{"dkim-keygen"}, tc.args...)...)
		if status != tc.status || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: status %d, stderr %q; want %d and %q", tc.args, status, errOut, tc.status, tc.want)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("existing file changed to %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a key was written despite a bad flag")
	}
}

func TestDKIMRecordSplit(t *testing.T) {
	key, err := generateDKIMKey("rsa", 4096)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkimRecord("example.com", "big", key.Public())
	if err != nil {
		t.Fatal(err)
	}
	rr, err := dns.NewRR(rec)
	if err != nil {
		t.Fatalf("%q: %v", rec, err)
	}
	parts := rr.(*dns.TXT).Txt
	if len(parts) < 3 || len(parts[0]) != 255 {
		t.Errorf("4096-bit key in %d strings (first %d long)", len(parts), len(parts[0]))
	}
}

func TestDKIMKeygenHelp(t *testing.T) {
	if status, out, _ := runCmd(t, "", "help"); status != 0 || !strings.Contains(out, "\n  dkim-keygen ") {
		t.Errorf("usage does not list dkim-keygen:\n%s", out)
	}
	status, out, _ := runCmd(t, "", "dkim-keygen", "--help")
	if status != 0 || !strings.Contains(out, "Usage: mxdesk dkim-keygen") || !strings.Contains(out, "-selector SELECTOR") {
		t.Errorf("dkim-keygen --help: status %d\n%s", status, out)
	}
}
