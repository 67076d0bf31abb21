package msgauth

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// maxVerifications bounds how many DKIM signatures of one message are
// verified; the rest are ignored. RFC 6376 6.1 lets a verifier limit the
// signatures it processes, and each one costs a key lookup and a hash of
// the body.
const maxVerifications = 5

// defaultMaxDKIMBytes is the default of Options.MaxDKIMBytes.
const defaultMaxDKIMBytes = 64 << 20

// checkDKIM verifies the message's DKIM-Signature fields (RFC 6376 6) and
// returns one result per verified signature, in header order; none when
// the message is unsigned.
func (c *Checker) checkDKIM(ctx context.Context, msg []byte, fields []field) []DKIMResult {
	sigs := dkimSignatures(fields)
	if len(sigs) > maxVerifications {
		sigs = sigs[:maxVerifications]
	}
	if len(sigs) == 0 {
		return nil
	}
	if int64(len(msg)) > c.maxDKIM {
		// RFC 8601 2.7.1 "policy": signed, but local policy declined it.
		return allResults(sigs, "policy", "message too large to verify")
	}
	opts := &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return c.dns.LookupTXT(ctx, name) },
		MaxVerifications: maxVerifications,
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), opts)
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		// The message could not be read as a whole (e.g. a header without
		// its end); no verification can be trusted.
		return allResults(sigs, "permerror", reason(err))
	}
	out := make([]DKIMResult, 0, len(verifs))
	for i, v := range verifs {
		r := DKIMResult{Domain: domainOrClean(v.Domain)}
		if i < len(sigs) && strings.EqualFold(sigs[i].Domain, v.Domain) {
			r.Selector = clean(sigs[i].Selector)
		}
		r.Result, r.Reason = c.dkimVerdict(v)
		out = append(out, r)
	}
	return out
}

// dkimVerdict maps one verification to an RFC 8601 2.7.1 result.
func (c *Checker) dkimVerdict(v *dkim.Verification) (result, why string) {
	switch {
	case v.Err == nil:
		// go-msgauth checks x= against the wall clock; check it against
		// ours too (RFC 6376 3.5: a signature past x= is invalid).
		if !v.Expiration.IsZero() && c.now().After(v.Expiration) {
			return "permerror", "signature has expired"
		}
		return "pass", ""
	case dkim.IsTempFail(v.Err):
		return "temperror", reason(v.Err)
	case dkim.IsPermFail(v.Err):
		return "permerror", reason(v.Err)
	default:
		return "fail", reason(v.Err)
	}
}

func allResults(sigs []DKIMResult, result, why string) []DKIMResult {
	out := make([]DKIMResult, len(sigs))
	for i, s := range sigs {
		s.Domain, s.Selector = domainOrClean(s.Domain), clean(s.Selector)
		s.Result, s.Reason = result, why
		out[i] = s
	}
	return out
}

// domainOrClean is d normalized, or made safe to show if it is no host
// name: d= comes from the message.
func domainOrClean(d string) string {
	if n, ok := normalizeDomain(d); ok {
		return n
	}
	return clean(d)
}

// reason is a library error without its package prefix, safe to show.
func reason(err error) string {
	return clean(strings.TrimPrefix(err.Error(), "dkim: "))
}
