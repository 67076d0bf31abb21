package msgauth

import (
	"bytes"
	"crypto"
	"reflect"
	"testing"
	"time"
)

func TestDKIM(t *testing.T) {
	d := world(t)
	c := checker(d)
	rsa, ed := rsaKey(t), edKey()
	plain := message("<a@example.com>")
	signed := func(domain, selector string, key crypto.Signer) []byte {
		return sign(t, plain, domain, selector, key, time.Time{})
	}
	pass := func(domain, selector string) DKIMResult {
		return DKIMResult{Domain: domain, Selector: selector, Result: "pass"}
	}
	cases := []struct {
		name string
		msg  []byte
		want []DKIMResult
	}{
		{"RSA pass", signed("example.com", "s1", rsa), []DKIMResult{pass("example.com", "s1")}},
		{"Ed25519 pass", signed("example.com", "ed", ed), []DKIMResult{pass("example.com", "ed")}},
		{"two signatures", sign(t, signed("example.com", "s1", rsa), "example.com", "ed", ed, time.Time{}),
			[]DKIMResult{pass("example.com", "ed"), pass("example.com", "s1")}},
		{"body altered", bytes.Replace(signed("example.com", "s1", rsa), []byte("my order"), []byte("my refund"), 1),
			[]DKIMResult{{Domain: "example.com", Selector: "s1", Result: "fail", Reason: "body hash did not verify"}}},
		{"signed header altered", bytes.Replace(signed("example.com", "s1", rsa), []byte("Order 1234"), []byte("Order 9999"), 1),
			[]DKIMResult{{Domain: "example.com", Selector: "s1", Result: "fail", Reason: "signature did not verify: crypto/rsa: verification error"}}},
		{"unsigned", plain, nil},
		{"no key published", signed("example.com", "gone", rsa),
			[]DKIMResult{{Domain: "example.com", Selector: "gone", Result: "permerror",
				Reason: "no key for signature: lookup gone._domainkey.example.com: no such host"}}},
		{"key does not match", signed("example.com", "s1", ed),
			[]DKIMResult{{Domain: "example.com", Selector: "s1", Result: "permerror", Reason: "inappropriate key algorithm"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, c, ipGood, "x", "a@example.com", tc.msg)
			if !reflect.DeepEqual(res.DKIM, tc.want) {
				t.Errorf("DKIM = %+v\nwant   %+v", res.DKIM, tc.want)
			}
		})
	}
}

// TestDKIMExpiry checks x= against the injected clock: the signature is
// valid by the wall clock and expired by ours.
func TestDKIMExpiry(t *testing.T) {
	d := world(t)
	expires := time.Now().Add(time.Hour)
	msg := sign(t, message("<a@example.com>"), "example.com", "s1", rsaKey(t), expires)
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{expires.Add(-time.Minute), "pass"},
		{expires.Add(time.Minute), "permerror"},
	} {
		c := New(Options{Resolver: d.addr, Timeout: 2 * time.Second, Hostname: testHost,
			Now: func() time.Time { return tc.now }})
		res := check(t, c, ipGood, "x", "a@example.com", msg)
		if len(res.DKIM) != 1 || res.DKIM[0].Result != tc.want {
			t.Errorf("now %v: DKIM = %+v, want %s", tc.now, res.DKIM, tc.want)
		}
	}
}

// TestDKIMLimits: at most maxVerifications signatures are verified, and a
// message over MaxDKIMBytes is not verified at all.
func TestDKIMLimits(t *testing.T) {
	d := world(t)
	msg := message("<a@example.com>")
	for i := 0; i < maxVerifications+2; i++ {
		msg = sign(t, msg, "example.com", "ed", edKey(), time.Time{})
	}
	res := check(t, checker(d), ipGood, "x", "a@example.com", msg)
	if len(res.DKIM) != maxVerifications {
		t.Errorf("%d results, want %d", len(res.DKIM), maxVerifications)
	}
	for _, r := range res.DKIM {
		if r.Result != "pass" {
			t.Errorf("result %+v, want pass", r)
		}
	}

	small := New(Options{Resolver: d.addr, Timeout: 2 * time.Second, Hostname: testHost, MaxDKIMBytes: 100})
	res = check(t, small, ipGood, "x", "a@example.com", msg[:len(msg):len(msg)])
	want := DKIMResult{Domain: "example.com", Selector: "ed", Result: "policy", Reason: "message too large to verify"}
	if len(res.DKIM) != maxVerifications || res.DKIM[0] != want {
		t.Errorf("over MaxDKIMBytes: DKIM = %+v, want %d × %+v", res.DKIM, maxVerifications, want)
	}
	if res.DMARC.Result != "pass" { // SPF still aligns
		t.Errorf("DMARC = %+v", res.DMARC)
	}
}

// TestDKIMUnreadable: a signed message whose header never ends cannot be
// verified; every signature is a permerror, not a pass.
func TestDKIMUnreadable(t *testing.T) {
	d := world(t)
	signed := sign(t, message("<a@example.com>"), "example.com", "s1", rsaKey(t), time.Time{})
	hdr, _, _ := bytes.Cut(signed, []byte("\r\n\r\n"))
	res := check(t, checker(d), ipGood, "x", "a@example.com", hdr)
	if len(res.DKIM) != 1 || res.DKIM[0].Result != "permerror" {
		t.Errorf("DKIM = %+v, want one permerror", res.DKIM)
	}
}
