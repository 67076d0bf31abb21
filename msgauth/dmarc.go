package msgauth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
)

// policyRecord is the outcome of DMARC policy discovery (RFC 7489 6.6.3).
type policyRecord struct {
	rec    *dmarc.Record // nil when none was found or the lookup failed
	sub    bool          // found at the organizational domain of a subdomain: sp= applies
	failed string        // "temperror" or "permerror" when discovery failed
	why    string
}

// lookupPolicy finds the DMARC record for the From domain: at
// _dmarc.<from>, else at _dmarc.<organizational domain> (RFC 7489 6.6.3
// steps 1–3). A DNS failure stops the search (temperror) rather than
// falling through to a record that may not apply.
func (c *Checker) lookupPolicy(ctx context.Context, from string) policyRecord {
	p := c.lookupRecord(ctx, from)
	if p.rec == nil && p.failed == "" {
		if org := orgDomain(from); org != from {
			p = c.lookupRecord(ctx, org)
			p.sub = true
		}
	}
	return p
}

func (c *Checker) lookupRecord(ctx context.Context, domain string) policyRecord {
	opts := &dmarc.LookupOptions{
		LookupTXT: func(name string) ([]string, error) { return c.dns.LookupTXT(ctx, name) },
	}
	rec, err := dmarc.LookupWithOptions(domain, opts)
	switch {
	case err == nil:
		return policyRecord{rec: rec}
	case errors.Is(err, dmarc.ErrNoPolicy):
		return policyRecord{}
	case dmarc.IsTempFail(err):
		return policyRecord{failed: "temperror",
			why: "DNS lookup of _dmarc." + domain + " failed"}
	default:
		return policyRecord{failed: "permerror",
			why: "invalid DMARC record at _dmarc." + domain + ": " + clean(strings.TrimPrefix(err.Error(), "dmarc: "))}
	}
}

// evaluate applies the DMARC policy (RFC 7489 6.6.2, 6.6.4) given the
// From domain, the discovered record and the SPF and DKIM results.
func evaluate(from string, fromErr error, p policyRecord, s spfOutcome, sigs []DKIMResult) DMARCResult {
	d := DMARCResult{Domain: from, Policy: "none"}
	switch {
	case fromErr != nil:
		d.Result, d.Reason = "permerror", fromErr.Error()
		return d
	case p.failed != "":
		d.Result, d.Reason = p.failed, p.why
		return d
	case p.rec == nil:
		d.Result, d.Reason = "none", "no DMARC record for "+from
		return d
	}
	d.Policy, d.Reason = policy(p)
	strictSPF := p.rec.SPFAlignment == dmarc.AlignmentStrict
	strictDKIM := p.rec.DKIMAlignment == dmarc.AlignmentStrict
	if s.result == "pass" && aligned(s.domain, from, strictSPF) {
		d.Result, d.Reason = "pass", "SPF pass for "+s.domain+" aligned"
		return d
	}
	for _, sig := range sigs {
		if sig.Result == "pass" && aligned(sig.Domain, from, strictDKIM) {
			d.Result, d.Reason = "pass", "DKIM pass for "+sig.Domain+" aligned"
			return d
		}
	}
	why := spfReason(s, from, strictSPF) + ", " + dkimReason(sigs, from, strictDKIM) + d.Reason
	if tempFailed(s, sigs, from, strictSPF, strictDKIM) {
		// An aligned identifier could not be checked: our DNS trouble must
		// not turn into a rejection (temperror is never acted upon).
		d.Result, d.Reason = "temperror", why
		return d
	}
	d.Result, d.Reason = "fail", why
	return d
}

// policy returns the requested policy for this message: sp= for a
// subdomain covered by its organizational domain's record, else p= (RFC
// 7489 6.3). pct= below 100 is applied deterministically as the next
// lower policy for every message (RFC 7489 6.6.4 for the messages not
// sampled), so a partial roll-out never rejects; note says so.
func policy(p policyRecord) (pol, note string) {
	pol = string(p.rec.Policy)
	if p.sub && p.rec.SubdomainPolicy != "" {
		pol = string(p.rec.SubdomainPolicy)
	}
	if pct := p.rec.Percent; pct != nil && *pct < 100 && pol != "none" {
		lower := map[string]string{"reject": "quarantine", "quarantine": "none"}[pol]
		note = fmt.Sprintf(" (pct=%d: %s lowered to %s)", *pct, pol, lower)
		pol = lower
	}
	return pol, note
}

func spfReason(s spfOutcome, from string, strict bool) string {
	switch {
	case s.domain == "":
		return "SPF none (no domain to check)"
	case s.result == "pass":
		return "SPF pass for " + s.domain + " not aligned with " + from + mode(strict)
	default:
		return "SPF " + s.result + " for " + s.domain
	}
}

func dkimReason(sigs []DKIMResult, from string, strict bool) string {
	if len(sigs) == 0 {
		return "no DKIM signature"
	}
	for _, sig := range sigs {
		if aligned(sig.Domain, from, strict) {
			return "DKIM " + sig.Result + " for " + sig.Domain
		}
	}
	for _, sig := range sigs {
		if sig.Result == "pass" {
			return "DKIM pass for " + sig.Domain + " not aligned with " + from + mode(strict)
		}
	}
	return "no aligned DKIM signature"
}

func mode(strict bool) string {
	if strict {
		return " (strict alignment)"
	}
	return ""
}

// tempFailed reports whether an aligned identifier got temperror.
func tempFailed(s spfOutcome, sigs []DKIMResult, from string, strictSPF, strictDKIM bool) bool {
	if s.result == "temperror" && aligned(s.domain, from, strictSPF) {
		return true
	}
	for _, sig := range sigs {
		if sig.Result == "temperror" && aligned(sig.Domain, from, strictDKIM) {
			return true
		}
	}
	return false
}
