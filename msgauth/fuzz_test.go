package msgauth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"mxdesk/panics"
)

var fuzzHeaders = []string{
	"From: Shop <a@example.com>\r\nSubject: x\r\n\r\nbody\r\n",
	"From: a@EXAMPLE.com.\r\n\r\n",
	"From: \"J. Smith\" <j@sub.example.co.uk>\n\n",
	"From: =?koi8-r?b?8NLJ18XU?= <a@example.com>\r\n\r\n",
	"From: J. Smith <j@example.com>\r\n\r\n",
	"From: a@example.com, b@example.org\r\n\r\n",
	"From: a@example.com\r\nFrom: b@example.com\r\n\r\n",
	"From: undisclosed-recipients:;\r\n\r\n",
	"From: a@[192.0.2.1]\r\n\r\n",
	"From: a@bücher.example\r\n\r\n",
	"from :\r\n <a@example.com>\r\n\r\n",
	" leading: space\r\nFrom: a@example.com",
	"DKIM-Signature: v=1; d=example.com; s=s1; b=abc\r\n\tdef\r\nFrom: a@example.com\r\n\r\n",
	"Authentication-Results: mx.mxdesk.test; spf=pass\r\nFrom: a@example.com\r\n\r\nbody",
	"no colon\r\n\r\n",
	"\r\n",
	"",
}

// FuzzSplitHeader: the fields cover the header exactly, in order, and the
// header-level parsers built on them never panic and return sane values.
func FuzzSplitHeader(f *testing.F) {
	for _, s := range fuzzHeaders {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		fields, body := splitHeader(msg)
		var joined []byte
		for _, fl := range fields {
			if len(fl.raw) == 0 {
				t.Fatal("empty field")
			}
			joined = append(joined, fl.raw...)
		}
		if !bytes.HasPrefix(msg, joined) || body < len(joined) || body > len(msg) {
			t.Fatalf("fields %q, body at %d, do not cover msg %q", joined, body, msg)
		}
		if d, err := fromDomain(fields); err == nil {
			if n, ok := normalizeDomain(d); !ok || n != d || !validHostname(d) {
				t.Fatalf("fromDomain = %q, not a normalized host name", d)
			}
		}
		for _, s := range dkimSignatures(fields) {
			if strings.ContainsAny(s.Domain+s.Selector, " \t\r\n;") {
				t.Fatalf("signature tags %+v", s)
			}
		}
	})
}

// FuzzFromAddress covers the From parsing with its lenient fallback.
func FuzzFromAddress(f *testing.F) {
	for _, s := range []string{
		"a@example.com", "Shop <a@example.com>", "\"a@b\" <c@example.com>", "J. Smith <j@example.com>",
		"a@example.com (comment", "<a@example.com", "a@", "@", "a@b, c@d", "group: a@b, c@d;", "=?x?q?a?= <a@b.c>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if addr, err := fromAddress(v); err == nil && !strings.Contains(addr, "@") {
			t.Fatalf("fromAddress(%q) = %q, without @", v, addr)
		}
	})
}

// FuzzAuthservID: the id is a token or an unquoted string, never empty
// when reported found.
func FuzzAuthservID(f *testing.F) {
	for _, s := range []string{"example.com; spf=pass", " (c) \"q\\\"x\" 1; none", "(((", "\"", "a(b)", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := authservID(v)
		if ok == (id == "") {
			t.Fatalf("authservID(%q) = %q, %v", v, id, ok)
		}
		if ok && !strings.HasPrefix(strings.TrimLeft(v, " \t\r\n"), "\"") && !strings.HasPrefix(strings.TrimLeft(v, " \t\r\n"), "(") &&
			strings.ContainsAny(id, " \t\r\n;()") {
			t.Fatalf("token %q from %q holds a delimiter", id, v)
		}
	})
}

// FuzzStripAuthResultsRaw: no field claiming our id survives, nothing else
// changes, and stripping twice changes nothing more.
func FuzzStripAuthResultsRaw(f *testing.F) {
	f.Add([]byte(forged))
	for _, s := range fuzzHeaders {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		out := StripAuthResultsRaw(msg, testHost)
		fields, _ := splitHeader(out)
		for _, fl := range fields {
			if strings.EqualFold(fl.name, authResultsField) && claimsHost(fl.value(), testHost) {
				t.Fatalf("field %q survived in %q", fl.raw, out)
			}
		}
		if again := StripAuthResultsRaw(out, testHost); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		inFields, inBody := splitHeader(msg)
		_, outBody := splitHeader(out)
		if !bytes.Equal(msg[inBody:], out[outBody:]) {
			t.Fatalf("body changed: %q -> %q", msg[inBody:], out[outBody:])
		}
		var kept []byte
		for _, fl := range inFields {
			if !(strings.EqualFold(fl.name, authResultsField) && claimsHost(fl.value(), testHost)) {
				kept = append(kept, fl.raw...)
			}
		}
		if !bytes.HasPrefix(out, kept) {
			t.Fatalf("kept fields changed: %q -> %q", kept, out)
		}
	})
}

// fakeDNS is an in-memory lookuper for fuzzing Check without sockets:
// TXT records by name, everything else not found.
type fakeDNS map[string][]string

func (f fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	if txt, ok := f[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return txt, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (fakeDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (fakeDNS) LookupIPAddr(_ context.Context, name string) ([]net.IPAddr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (fakeDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
}

// FuzzCheck runs the whole check on arbitrary messages and senders: it
// must not panic, every verdict is one of the defined values, and the
// Authentication-Results field stays one well-formed field.
func FuzzCheck(f *testing.F) {
	key := edKey()
	dns := fakeDNS{
		"example.com":                {"v=spf1 ip4:192.0.2.10 -all"},
		"_dmarc.example.com":         {"v=DMARC1; p=reject; adkim=s"},
		"_dmarc.example.org":         {"v=DMARC1; p=quarantine; sp=reject; pct=10"},
		"ed._domainkey.example.com":  {"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))},
		"bad._domainkey.example.com": {"v=DKIM1; k=rsa; p=AAAA"},
	}
	c := &Checker{dns: dns, timeout: time.Second, host: testHost, now: time.Now, maxDKIM: 1 << 20, log: slog.Default()}
	signed := sign(f, message("<a@example.com>"), "example.com", "ed", key, time.Time{})
	f.Add(signed, "a@example.com")
	f.Add(bytes.Replace(signed, []byte("order"), []byte("ORDER"), 1), "")
	f.Add(bytes.Replace(signed, []byte("s=ed"), []byte("s=bad"), 1), "b@sub.example.org")
	f.Add(bytes.Replace(signed, []byte("d=example.com"), []byte("d=x\x01.example.com"), 1), "")
	for _, s := range fuzzHeaders {
		f.Add([]byte(s), "x@example.org")
	}
	results := []string{"pass", "fail", "softfail", "neutral", "none", "policy", "temperror", "permerror"}
	f.Fuzz(func(t *testing.T, msg []byte, mailFrom string) {
		panicked := panics.Counts()[panics.MsgAuth]
		res := c.Check(context.Background(), Input{IP: net.ParseIP(ipGood), Helo: "mta.example.com", MailFrom: mailFrom, Message: msg})
		if panics.Counts()[panics.MsgAuth] != panicked {
			t.Fatalf("a check panicked (its stack is in the log); result %+v", res)
		}
		if !slices.Contains(results, res.SPF) || !slices.Contains(results, res.DMARC.Result) {
			t.Fatalf("SPF %q, DMARC %+v", res.SPF, res.DMARC)
		}
		if !slices.Contains([]string{"none", "quarantine", "reject"}, res.DMARC.Policy) {
			t.Fatalf("policy %q", res.DMARC.Policy)
		}
		if hasCTL(res.DMARC.Reason + res.DMARC.Domain) {
			t.Fatalf("DMARC %+v", res.DMARC)
		}
		for _, r := range res.DKIM {
			if !slices.Contains(results, r.Result) || hasCTL(r.Domain+r.Selector+r.Reason) {
				t.Fatalf("DKIM %+v", r)
			}
		}
		ar := res.AuthResults
		if !strings.HasPrefix(ar, "Authentication-Results: "+testHost+";\r\n\t") || !strings.HasSuffix(ar, "\r\n") {
			t.Fatalf("AuthResults %q", ar)
		}
		body := strings.ReplaceAll(strings.TrimSuffix(ar, "\r\n"), "\r\n\t", "")
		if strings.ContainsAny(body, "\r\n") {
			t.Fatalf("AuthResults breaks out of its field: %q", ar)
		}
	})
}

func hasCTL(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
