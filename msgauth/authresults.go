package msgauth

import (
	"bytes"
	"strings"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
)

const authResultsField = "Authentication-Results"

// formatAuthResults builds our Authentication-Results field (RFC 8601 2.2)
// with one resinfo per method, folded one per line, CRLF-terminated.
func formatAuthResults(host string, s spfOutcome, sigs []DKIMResult, d DMARCResult) string {
	results := []authres.Result{spfResult(s)}
	if len(sigs) == 0 {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for _, sig := range sigs {
		// authres.DKIMResult has no header.s (RFC 8601 2.7.1), so the
		// generic form carries it.
		params := map[string]string{"header.d": clean(sig.Domain), "header.s": clean(sig.Selector)}
		if sig.Result != "pass" {
			params["reason"] = clean(sig.Reason)
		}
		results = append(results, &authres.GenericResult{Method: "dkim", Value: authres.ResultValue(sig.Result), Params: params})
	}
	dr := &authres.DMARCResult{Value: authres.ResultValue(d.Result), From: clean(d.Domain)}
	if d.Result != "pass" && d.Result != "none" {
		dr.Reason = clean(d.Reason)
	}
	results = append(results, dr)

	host = clean(host)
	lines := make([]string, len(results))
	for i, r := range results {
		f := authres.Format(host, []authres.Result{r})
		lines[i] = strings.TrimSpace(strings.TrimPrefix(f, host+";"))
	}
	return authResultsField + ": " + host + ";\r\n\t" + strings.Join(lines, ";\r\n\t") + "\r\n"
}

func spfResult(s spfOutcome) *authres.SPFResult {
	r := &authres.SPFResult{Value: authres.ResultValue(s.result)}
	if s.mailFrom != "" {
		r.From = clean(s.mailFrom)
	} else {
		r.Helo = clean(s.helo)
	}
	return r
}

// clean makes a value from the message or the client safe to put in a
// header: no control characters, no quote or backslash (authres quotes
// values but does not escape backslashes), at most 255 bytes.
func clean(v string) string {
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, v)
	if len(v) > 255 {
		v = strings.ToValidUTF8(v[:255], "")
	}
	return v
}

// StripAuthResults removes from h every Authentication-Results field whose
// authserv-id is hostname (compared without case): a field claiming to be
// ours that arrived from outside could make a forged message look
// verified (RFC 8601 5). Fields of other authserv-ids are kept.
func StripAuthResults(h *textproto.Header, hostname string) {
	fs := h.FieldsByKey(authResultsField)
	for fs.Next() {
		if claimsHost(fs.Value(), hostname) {
			fs.Del()
		}
	}
}

// StripAuthResultsRaw is StripAuthResults on a raw message: it returns msg
// itself when nothing is removed, otherwise a copy without those fields.
// Every other byte, the body included, is kept as received.
func StripAuthResultsRaw(msg []byte, hostname string) []byte {
	fields, _ := splitHeader(msg)
	var out bytes.Buffer
	removed := false
	n := 0 // the fields are contiguous from the start: msg[n:] follows them
	for _, f := range fields {
		n += len(f.raw)
		if strings.EqualFold(f.name, authResultsField) && claimsHost(f.value(), hostname) {
			removed = true
			continue
		}
		out.Write(f.raw)
	}
	if !removed {
		return msg
	}
	out.Write(msg[n:])
	return out.Bytes()
}

// claimsHost reports whether an Authentication-Results field body names
// hostname as its authserv-id.
func claimsHost(value, hostname string) bool {
	id, ok := authservID(value)
	return ok && strings.EqualFold(strings.TrimSuffix(id, "."), strings.TrimSuffix(hostname, "."))
}

// authservID returns the authserv-id that starts an Authentication-Results
// field body (RFC 8601 2.2): after optional CFWS, a token or a
// quoted-string.
func authservID(v string) (string, bool) {
	v = skipCFWS(v)
	if strings.HasPrefix(v, `"`) {
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			switch v[i] {
			case '\\':
				if i+1 < len(v) {
					i++
					b.WriteByte(v[i])
				}
			case '"':
				return b.String(), b.Len() > 0
			default:
				b.WriteByte(v[i])
			}
		}
		return "", false // unterminated
	}
	end := strings.IndexAny(v, " \t\r\n;()")
	if end < 0 {
		end = len(v)
	}
	return v[:end], end > 0
}

// skipCFWS drops leading white space and comments (RFC 5322 3.2.2);
// comments nest and may hold quoted-pairs.
func skipCFWS(v string) string {
	depth := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			return v[i:]
		}
	}
	return ""
}
