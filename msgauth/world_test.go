package msgauth

import "testing"

// Addresses of the test world.
const (
	ipGood     = "192.0.2.10"    // in the SPF records of the example domains
	ipMX       = "192.0.2.30"    // mail.example.net, the MX of mx.example.net
	ipA        = "192.0.2.40"    // out.example.net
	ipStranger = "198.51.100.20" // authorized nowhere
)

// world starts the DNS server with the records every test shares.
func world(t *testing.T) *dnsServer {
	t.Helper()
	d := startDNS(t)
	d.add(t,
		// SPF (RFC 7208)
		`example.com. TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`bounce.example.com. TXT "v=spf1 ip4:192.0.2.10 ~all"`,
		`neutral.example. TXT "v=spf1 ?all"`,
		`perm.example. TXT "v=spf1 frobnicate:x -all"`,
		`helo.example. TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`mx.example.net. TXT "v=spf1 mx a:out.example.net -all"`,
		`mx.example.net. MX 10 mail.example.net.`,
		`mail.example.net. A 192.0.2.30`,
		`out.example.net. A 192.0.2.40`,
		`quarantine.example. TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`strict.example. TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`bounce.strict.example. TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`sub.example.org. TXT "v=spf1 -all"`,
		`own.example.org. TXT "v=spf1 -all"`,
		`nodmarc.example. TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`pct.example. TXT "v=spf1 -all"`,
		`thirdparty.example. TXT "v=spf1 -all"`,
		`flaky.example. TXT "v=spf1 ip4:192.0.2.10 -all"`,

		// DMARC (RFC 7489)
		`_dmarc.example.com. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"`,
		`_dmarc.quarantine.example. TXT "v=DMARC1; p=quarantine"`,
		`_dmarc.strict.example. TXT "v=DMARC1; p=reject; aspf=s; adkim=s"`,
		`_dmarc.example.org. TXT "v=DMARC1; p=reject; sp=quarantine"`,
		`_dmarc.own.example.org. TXT "v=DMARC1; p=none"`,
		`_dmarc.pct.example. TXT "v=DMARC1; p=reject; pct=50"`,
		`_dmarc.bad.example. TXT "v=DMARC1; p=maybe"`,
		`_dmarc.flaky.example. TXT "v=DMARC1; p=reject"`,
	)
	// DKIM keys (RFC 6376 3.6)
	publishKey(t, d, "s1", "example.com", rsaKey(t))
	publishKey(t, d, "ed", "example.com", edKey())
	publishKey(t, d, "s1", "mail.example.com", rsaKey(t))
	publishKey(t, d, "s1", "mail.strict.example", rsaKey(t))
	publishKey(t, d, "s1", "thirdparty.example", edKey())
	return d
}
