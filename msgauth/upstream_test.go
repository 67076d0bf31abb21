package msgauth

import "testing"

// TestUpstreamDMARC: the verdict and policy of the topmost field with the
// trusted authserv-id, in each provider's form.
func TestUpstreamDMARC(t *testing.T) {
	cases := []struct {
		name, trusted, fields string
		ok                    bool
		result, policy        string
	}{
		{"google reject", "mx.google.com", "Authentication-Results: mx.google.com;\n       dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=bank.test\n", true, "fail", "reject"},
		{"google subdomain sp", "mx.google.com", "Authentication-Results: mx.google.com;\n       dmarc=fail (p=REJECT sp=NONE dis=NONE) header.from=mail.bank.test\n", true, "fail", "none"},
		{"microsoft oreject", "mx.microsoft.com", "Authentication-Results: spf=fail (sender IP is 192.0.2.7)\n smtp.mailfrom=bank.test; dkim=none (message not signed)\n header.d=none;dmarc=fail action=oreject header.from=bank.test;compauth=fail\n reason=000\n", true, "fail", "reject"},
		{"microsoft quarantine", "mx.microsoft.com", "Authentication-Results: spf=fail smtp.mailfrom=bank.test;dmarc=fail action=quarantine header.from=bank.test\n", true, "fail", "quarantine"},
		{"id-less needs microsoft", "mx.google.com", "Authentication-Results: dmarc=fail action=quarantine header.from=bank.test\n", false, "", ""},
		{"policy.dmarc", "mail.upstream.test", "Authentication-Results: mail.upstream.test;\n\tdmarc=fail reason=\"No valid SPF, No valid DKIM\" header.from=bank.test policy.dmarc=quarantine\n", true, "fail", "quarantine"},
		{"rspamd comment", "mail.upstream.test", "Authentication-Results: mail.upstream.test;\n\tdmarc=fail reason=\"No valid SPF\" header.from=bank.test (policy=reject)\n", true, "fail", "reject"},
		{"no policy is none", "mail.upstream.test", "Authentication-Results: mail.upstream.test; dmarc=fail header.from=bank.test\n", true, "fail", "none"},
		{"topmost trusted counts", "mail.upstream.test", "Authentication-Results: other.test; dmarc=fail (p=reject) header.from=bank.test\nAuthentication-Results: mail.upstream.test; dmarc=pass header.from=bank.test\nAuthentication-Results: mail.upstream.test; dmarc=fail (p=reject) header.from=bank.test\n", true, "pass", "none"},
		{"no dmarc in the trusted field", "mail.upstream.test", "Authentication-Results: mail.upstream.test; spf=pass smtp.mailfrom=bank.test\nAuthentication-Results: mail.upstream.test; dmarc=fail (p=reject) header.from=bank.test\n", false, "", ""},
	}
	for _, c := range cases {
		d, ok := UpstreamDMARC([]byte(c.fields+"From: ceo@bank.test\n\nhi\n"), c.trusted)
		if ok != c.ok || d.Result != c.result || d.Policy != c.policy {
			t.Errorf("%s: %v %q %q, want %v %q %q", c.name, ok, d.Result, d.Policy, c.ok, c.result, c.policy)
		}
	}
}

// TestDisposition: the [inbound] rules on a verdict.
func TestDisposition(t *testing.T) {
	cases := []struct {
		d                  DMARCResult
		reject, quarantine bool
		want               Disposition
	}{
		{DMARCResult{Result: "pass", Policy: "reject"}, true, true, Accept},
		{DMARCResult{Result: "fail", Policy: "reject"}, true, true, Reject},
		{DMARCResult{Result: "fail", Policy: "reject"}, false, true, Quarantine},
		{DMARCResult{Result: "fail", Policy: "quarantine"}, true, true, Quarantine},
		{DMARCResult{Result: "fail", Policy: "quarantine"}, true, false, Fail},
		{DMARCResult{Result: "fail", Policy: "none"}, true, true, Fail},
	}
	for _, c := range cases {
		if got := c.d.Disposition(c.reject, c.quarantine); got != c.want {
			t.Errorf("%+v reject=%v quarantine=%v: %d, want %d", c.d, c.reject, c.quarantine, got, c.want)
		}
	}
}
