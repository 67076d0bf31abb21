package msgauth

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestDMARC(t *testing.T) {
	d := world(t)
	c := checker(d)
	rsa, ed := rsaKey(t), edKey()
	none := time.Time{}
	cases := []struct {
		name         string
		ip, mailFrom string
		msg          []byte
		want         DMARCResult
	}{
		{"pass via SPF alignment", ipGood, "a@example.com", message("<a@example.com>"),
			DMARCResult{"pass", "reject", "example.com", "SPF pass for example.com aligned"}},
		{"pass via DKIM alignment only", ipStranger, "a@example.com",
			sign(t, message("<a@example.com>"), "example.com", "s1", rsa, none),
			DMARCResult{"pass", "reject", "example.com", "DKIM pass for example.com aligned"}},
		{"fail p=reject", ipStranger, "a@example.com", message("Shop <a@example.com>"),
			DMARCResult{"fail", "reject", "example.com", "SPF fail for example.com, no DKIM signature"}},
		{"fail p=quarantine", ipStranger, "a@quarantine.example", message("<a@quarantine.example>"),
			DMARCResult{"fail", "quarantine", "quarantine.example", "SPF fail for quarantine.example, no DKIM signature"}},
		{"subdomain: sp= of the organizational domain", ipStranger, "a@sub.example.org", message("<a@sub.example.org>"),
			DMARCResult{"fail", "quarantine", "sub.example.org", "SPF fail for sub.example.org, no DKIM signature"}},
		{"subdomain with its own record: its p=", ipStranger, "a@own.example.org", message("<a@own.example.org>"),
			DMARCResult{"fail", "none", "own.example.org", "SPF fail for own.example.org, no DKIM signature"}},
		{"organizational domain: p=, not sp=", ipStranger, "a@example.org", message("<a@example.org>"),
			DMARCResult{"fail", "reject", "example.org", "SPF none for example.org, no DKIM signature"}},
		{"relaxed SPF alignment: bounce subdomain", ipGood, "b@bounce.example.com", message("<a@example.com>"),
			DMARCResult{"pass", "reject", "example.com", "SPF pass for bounce.example.com aligned"}},
		{"strict SPF alignment: bounce subdomain fails", ipGood, "b@bounce.strict.example", message("<a@strict.example>"),
			DMARCResult{"fail", "reject", "strict.example",
				"SPF pass for bounce.strict.example not aligned with strict.example (strict alignment), no DKIM signature"}},
		{"relaxed DKIM alignment: signing subdomain", ipStranger, "a@example.com",
			sign(t, message("<a@example.com>"), "mail.example.com", "s1", rsa, none),
			DMARCResult{"pass", "reject", "example.com", "DKIM pass for mail.example.com aligned"}},
		{"strict DKIM alignment: signing subdomain fails", ipStranger, "a@strict.example",
			sign(t, message("<a@strict.example>"), "mail.strict.example", "s1", rsa, none),
			DMARCResult{"fail", "reject", "strict.example",
				"SPF fail for strict.example, DKIM pass for mail.strict.example not aligned with strict.example (strict alignment)"}},
		{"third-party signature is not aligned", ipStranger, "a@example.com",
			sign(t, message("<a@example.com>"), "thirdparty.example", "s1", ed, none),
			DMARCResult{"fail", "reject", "example.com",
				"SPF fail for example.com, DKIM pass for thirdparty.example not aligned with example.com"}},
		{"aligned signature that fails", ipStranger, "a@example.com",
			bytes.Replace(sign(t, message("<a@example.com>"), "example.com", "s1", rsa, none), []byte("order"), []byte("ORDER"), 1),
			DMARCResult{"fail", "reject", "example.com", "SPF fail for example.com, DKIM fail for example.com"}},
		{"softfail, failing unaligned signature", ipStranger, "b@bounce.example.com",
			bytes.Replace(sign(t, message("<a@example.com>"), "thirdparty.example", "s1", ed, none), []byte("order"), []byte("ORDER"), 1),
			DMARCResult{"fail", "reject", "example.com", "SPF softfail for bounce.example.com, no aligned DKIM signature"}},
		{"pct=50: one step lower", ipStranger, "a@pct.example", message("<a@pct.example>"),
			DMARCResult{"fail", "quarantine", "pct.example",
				"SPF fail for pct.example, no DKIM signature (pct=50: reject lowered to quarantine)"}},
		{"no DMARC record", ipStranger, "a@nodmarc.example", message("<a@nodmarc.example>"),
			DMARCResult{"none", "none", "nodmarc.example", "no DMARC record for nodmarc.example"}},
		{"invalid DMARC record", ipStranger, "a@bad.example", message("<a@bad.example>"),
			DMARCResult{"permerror", "none", "bad.example",
				"invalid DMARC record at _dmarc.bad.example: invalid policy for parameter 'p'"}},
		{"From domain is case-insensitive", ipGood, "a@example.com", message("<A@Example.COM>"),
			DMARCResult{"pass", "reject", "example.com", "SPF pass for example.com aligned"}},
		{"two From addresses", ipStranger, "a@example.com", message("<a@example.com>, <b@evil.example>"),
			DMARCResult{"permerror", "none", "", "more than one From address"}},
		{"no From", ipStranger, "a@example.com", bytes.Replace(message("x"), []byte("From: x\r\n"), nil, 1),
			DMARCResult{"permerror", "none", "", "no From header field"}},
		{"two From fields", ipStranger, "a@example.com", append([]byte("From: <a@evil.example>\r\n"), message("<a@example.com>")...),
			DMARCResult{"permerror", "none", "", "more than one From address"}},
		{"From without a domain", ipStranger, "a@example.com", message("undisclosed-recipients:;"),
			DMARCResult{"permerror", "none", "", "no valid domain in the From address"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, c, tc.ip, "x", tc.mailFrom, tc.msg)
			if res.DMARC != tc.want {
				t.Errorf("DMARC = %+v\nwant    %+v\n(SPF %s, DKIM %+v)", res.DMARC, tc.want, res.SPF, res.DKIM)
			}
			if !strings.Contains(res.AuthResults, "dmarc="+tc.want.Result) {
				t.Errorf("AuthResults = %q", res.AuthResults)
			}
		})
	}
}

// TestDNSTimeout: a DNS server that never answers gives temperror
// everywhere, within a few Timeouts.
func TestDNSTimeout(t *testing.T) {
	c := New(Options{Resolver: silentDNS(t), Timeout: 100 * time.Millisecond, Hostname: testHost})
	msg := sign(t, message("<a@example.com>"), "example.com", "s1", rsaKey(t), time.Time{})
	start := time.Now()
	res := check(t, c, ipGood, "x", "a@example.com", msg)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Check took %v", took)
	}
	if res.SPF != "temperror" {
		t.Errorf("SPF = %q", res.SPF)
	}
	if len(res.DKIM) != 1 || res.DKIM[0].Result != "temperror" {
		t.Errorf("DKIM = %+v", res.DKIM)
	}
	want := DMARCResult{"temperror", "none", "example.com", "DNS lookup of _dmarc.example.com failed"}
	if res.DMARC != want {
		t.Errorf("DMARC = %+v, want %+v", res.DMARC, want)
	}
}

// TestDNSPartialFailure: a failure on the path that decides must give
// temperror, never fail (which could reject) nor none.
func TestDNSPartialFailure(t *testing.T) {
	d := world(t)
	d.dropQueries("_dmarc.example.com")
	d.dropQueries("flaky.example") // its SPF record
	c := New(Options{Resolver: d.addr, Timeout: 150 * time.Millisecond, Hostname: testHost})

	res := check(t, c, ipGood, "x", "a@example.com", message("<a@example.com>"))
	if res.SPF != "pass" || res.DMARC.Result != "temperror" {
		t.Errorf("DMARC record lookup dropped: SPF %q, DMARC %+v; want pass, temperror", res.SPF, res.DMARC)
	}

	res = check(t, c, ipGood, "x", "a@flaky.example", message("<a@flaky.example>"))
	want := DMARCResult{"temperror", "reject", "flaky.example", "SPF temperror for flaky.example, no DKIM signature"}
	if res.SPF != "temperror" || res.DMARC != want {
		t.Errorf("SPF lookup dropped: SPF %q, DMARC %+v; want temperror, %+v", res.SPF, res.DMARC, want)
	}
}

// TestCancelled: a cancelled context ends every lookup at once.
func TestCancelled(t *testing.T) {
	c := New(Options{Resolver: silentDNS(t), Timeout: time.Minute, Hostname: testHost})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := c.Check(ctx, Input{IP: net.ParseIP(ipGood), Helo: "x", MailFrom: "a@example.com",
		Message: sign(t, message("<a@example.com>"), "example.com", "s1", rsaKey(t), time.Time{})})
	if res.SPF != "temperror" || res.DKIM[0].Result != "temperror" || res.DMARC.Result != "temperror" {
		t.Errorf("got SPF %q, DKIM %+v, DMARC %+v; want temperror throughout", res.SPF, res.DKIM, res.DMARC)
	}
}
