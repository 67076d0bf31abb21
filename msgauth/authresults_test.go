package msgauth

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
)

func TestAuthResultsFormat(t *testing.T) {
	d := world(t)
	c := checker(d)
	msg := sign(t, message("<a@example.com>"), "example.com", "s1", rsaKey(t), time.Time{})
	res := check(t, c, ipGood, "mta.example.com", "a@example.com", msg)
	want := "Authentication-Results: mx.mxdesk.test;\r\n" +
		"\tspf=pass smtp.mailfrom=a@example.com;\r\n" +
		"\tdkim=pass header.d=example.com header.s=s1;\r\n" +
		"\tdmarc=pass header.from=example.com\r\n"
	if res.AuthResults != want {
		t.Errorf("AuthResults =\n%q\nwant\n%q", res.AuthResults, want)
	}

	res = check(t, c, ipStranger, "mta.example.com", "", message("<a@example.com>"))
	want = "Authentication-Results: mx.mxdesk.test;\r\n" +
		"\tspf=none smtp.helo=mta.example.com;\r\n" +
		"\tdkim=none;\r\n" +
		"\tdmarc=fail reason=\"SPF none for mta.example.com, no DKIM signature\" header.from=example.com\r\n"
	if res.AuthResults != want {
		t.Errorf("AuthResults =\n%q\nwant\n%q", res.AuthResults, want)
	}
}

// TestAuthResultsParse: what we write reads back with authres.Parse, and
// client-chosen values cannot break out of the field.
func TestAuthResultsParse(t *testing.T) {
	c := checker(world(t))
	msg := sign(t, message("<a@example.com>"), "example.com", "s1", rsaKey(t), time.Time{})
	res := check(t, c, ipGood, "x", "we\"ird\\\r\nX-Evil: 1@example.com", msg)
	if strings.Count(res.AuthResults, "\r\n") != 4 || strings.Contains(res.AuthResults, "\r\nX-Evil") {
		t.Fatalf("AuthResults = %q", res.AuthResults)
	}
	name, value, _ := strings.Cut(strings.TrimSuffix(res.AuthResults, "\r\n"), ":")
	value = strings.ReplaceAll(value, "\r\n", "")
	id, results, err := authres.Parse(value)
	if name != "Authentication-Results" || err != nil || id != testHost || len(results) != 3 {
		t.Fatalf("Parse(%q) = %q, %v, %v", value, id, results, err)
	}
	if r, ok := results[2].(*authres.DMARCResult); !ok || r.Value != authres.ResultPass || r.From != "example.com" {
		t.Errorf("dmarc result %+v", results[2])
	}
}

const forged = "Authentication-Results: mx.mxdesk.test; dmarc=pass header.from=bank.example\r\n" +
	"Authentication-Results: MX.MXDESK.TEST;\r\n\tspf=pass smtp.mailfrom=x@bank.example\r\n" +
	"Authentication-Results: (our MX) \"mx.mxdesk.test\" 1; dkim=pass\r\n" +
	"authentication-results: mx.mxdesk.test.; none\r\n" +
	"Authentication-Results: mx.mxdesk.test\r\n" +
	"Received: from x by relay.example\r\n" +
	"Authentication-Results: relay.example; spf=pass smtp.mailfrom=x@bank.example\r\n" +
	"Authentication-Results: mx.mxdesk.test.evil.example; dkim=pass\r\n" +
	"Authentication-Results: mx.mxdesk.testing; dkim=pass\r\n" +
	"From: <x@bank.example>\r\n" +
	"Subject: Authentication-Results: mx.mxdesk.test; in the subject\r\n" +
	"\r\n" +
	"Authentication-Results: mx.mxdesk.test; in the body\r\n"

const stripped = "Received: from x by relay.example\r\n" +
	"Authentication-Results: relay.example; spf=pass smtp.mailfrom=x@bank.example\r\n" +
	"Authentication-Results: mx.mxdesk.test.evil.example; dkim=pass\r\n" +
	"Authentication-Results: mx.mxdesk.testing; dkim=pass\r\n" +
	"From: <x@bank.example>\r\n" +
	"Subject: Authentication-Results: mx.mxdesk.test; in the subject\r\n" +
	"\r\n" +
	"Authentication-Results: mx.mxdesk.test; in the body\r\n"

func TestStripAuthResults(t *testing.T) {
	br := bufio.NewReader(strings.NewReader(forged))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	StripAuthResults(&h, "mx.mxdesk.test")
	var out bytes.Buffer
	if err := textproto.WriteHeader(&out, h); err != nil {
		t.Fatal(err)
	}
	out.ReadFrom(br)
	if out.String() != stripped {
		t.Errorf("StripAuthResults:\n%s\nwant\n%s", out.String(), stripped)
	}
}

func TestStripAuthResultsRaw(t *testing.T) {
	if got := string(StripAuthResultsRaw([]byte(forged), "MX.mxdesk.test.")); got != stripped {
		t.Errorf("StripAuthResultsRaw:\n%s\nwant\n%s", got, stripped)
	}
	// LF line endings and a folded field.
	lf := "Authentication-Results:\n mx.mxdesk.test; spf=pass\nFrom: a@b.example\n\nbody\n"
	if got := string(StripAuthResultsRaw([]byte(lf), testHost)); got != "From: a@b.example\n\nbody\n" {
		t.Errorf("LF message: %q", got)
	}
	// Nothing to strip: the same slice comes back.
	clean := []byte(stripped)
	if got := StripAuthResultsRaw(clean, testHost); &got[0] != &clean[0] {
		t.Error("a message without forged fields was copied")
	}
}

func TestAuthservID(t *testing.T) {
	for in, want := range map[string]string{
		"example.com; spf=pass":          "example.com",
		"  example.com 1; none":          "example.com",
		"(c (nested) \\) x) example.com": "example.com",
		`"quoted.example"; none`:         "quoted.example",
		`"q\"x"; none`:                   `q"x`,
		"example.com(comment); none":     "example.com",
		"":                               "",
		"; spf=pass":                     "",
		`"unterminated`:                  "",
		"(unterminated comment":          "",
	} {
		got, ok := authservID(in)
		if got != want || ok != (want != "") {
			t.Errorf("authservID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
