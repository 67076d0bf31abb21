package msgauth

import (
	"context"
	"strings"

	"blitiri.com.ar/go/spf"
)

// spfOutcome is the SPF verdict on the MAIL FROM identity (RFC 7208).
type spfOutcome struct {
	result   string // RFC 7208 2.6: none, neutral, pass, fail, softfail, temperror, permerror
	domain   string // the domain that was checked, normalized; "" when none
	mailFrom string // the envelope sender, "" for the null sender
	helo     string
}

// checkSPF evaluates check_host() (RFC 7208 4) for the MAIL FROM
// identity, or for postmaster@HELO when the reverse-path is null (RFC 7208
// 2.4). A missing or malformed domain, or a single-label one, gives "none"
// without any lookup (RFC 7208 4.3).
func (c *Checker) checkSPF(ctx context.Context, in Input) spfOutcome {
	o := spfOutcome{mailFrom: in.MailFrom, helo: in.Helo, result: string(spf.None)}
	local, domain := "postmaster", in.Helo
	if in.MailFrom != "" {
		at := strings.LastIndexByte(in.MailFrom, '@')
		if at < 0 {
			return o
		}
		local, domain = in.MailFrom[:at], in.MailFrom[at+1:]
		if local == "" {
			local = "postmaster" // RFC 7208 4.3
		}
	}
	d, ok := normalizeDomain(domain)
	if !ok || !strings.Contains(d, ".") {
		return o
	}
	o.domain = d
	// RFC 7208 4.6.4 asks for a bound on the whole evaluation, not only on
	// each query (at least 20 seconds, which 4×Timeout is by default).
	ctx, cancel := context.WithTimeout(ctx, 4*c.timeout)
	defer cancel()
	res, _ := spf.CheckHostWithSender(in.IP, in.Helo, local+"@"+d,
		spf.WithContext(ctx), spf.WithResolver(c.dns))
	o.result = string(res)
	return o
}
