package msgauth

import (
	"strings"
	"testing"
)

func TestSPF(t *testing.T) {
	c := checker(world(t))
	cases := []struct {
		name, ip, helo, mailFrom string
		want                     string
		authres                  string // expected in AuthResults
	}{
		{"pass ip4", ipGood, "mta.example.com", "a@example.com", "pass", "spf=pass smtp.mailfrom=a@example.com"},
		{"fail -all", ipStranger, "mta.example.com", "a@example.com", "fail", "spf=fail smtp.mailfrom=a@example.com"},
		{"softfail ~all", ipStranger, "x", "a@bounce.example.com", "softfail", "spf=softfail"},
		{"neutral ?all", ipStranger, "x", "a@neutral.example", "neutral", "spf=neutral"},
		{"none: no record", ipGood, "x", "a@nospf.example", "none", "spf=none"},
		{"none: address literal", ipGood, "x", "a@[192.0.2.10]", "none", "spf=none"},
		{"none: single label", ipGood, "x", "a@localhost", "none", "spf=none"},
		{"permerror: unknown mechanism", ipGood, "x", "a@perm.example", "permerror", "spf=permerror"},
		{"pass mx", ipMX, "x", "a@mx.example.net", "pass", "spf=pass"},
		{"pass a:", ipA, "x", "a@mx.example.net", "pass", "spf=pass"},
		{"fail mx", ipGood, "x", "a@mx.example.net", "fail", "spf=fail"},
		{"null sender: HELO checked", ipGood, "helo.example", "", "pass", "spf=pass smtp.helo=helo.example"},
		{"null sender: HELO fails", ipStranger, "helo.example", "", "fail", "spf=fail smtp.helo=helo.example"},
		{"case and trailing dot", ipGood, "x", "a@EXAMPLE.com.", "pass", "spf=pass"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, c, tc.ip, tc.helo, tc.mailFrom, message("<a@example.com>"))
			if res.SPF != tc.want {
				t.Errorf("SPF = %q, want %q", res.SPF, tc.want)
			}
			if !strings.Contains(res.AuthResults, tc.authres) {
				t.Errorf("AuthResults = %q, want it to contain %q", res.AuthResults, tc.authres)
			}
		})
	}
}
