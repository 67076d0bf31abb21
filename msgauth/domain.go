package msgauth

import (
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// normalizeDomain returns d in the form every comparison here uses: ASCII
// (A-labels for internationalized names, RFC 5890), lower case, without a
// trailing dot. ok is false when d is not a usable DNS host name: empty, an
// address literal, a label over 63 octets, more than 253 octets, or
// characters that are not allowed in a host name.
func normalizeDomain(d string) (string, bool) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" || strings.HasPrefix(d, "[") {
		return "", false
	}
	a := d
	if !isASCII(d) {
		var err error
		if a, err = idna.Lookup.ToASCII(d); err != nil {
			return "", false
		}
	}
	a = strings.ToLower(a)
	if !validHostname(a) {
		return "", false
	}
	return a, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// validHostname checks an ASCII name against RFC 1035 2.3.1 (letters,
// digits, hyphens; labels of 1 to 63 octets) with the underscore allowed
// too, as real-world DKIM d= and SPF names carry it.
func validHostname(d string) bool {
	if len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// orgDomain is the Organizational Domain of RFC 7489 3.2: the public
// suffix plus one label. A name that is itself a public suffix (or that
// the list cannot place) is its own organizational domain.
func orgDomain(d string) string {
	o, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return o
}

// aligned reports whether an authenticated domain is aligned with the
// From domain (RFC 7489 3.1.1, 3.1.2): equal in strict mode, with the
// same organizational domain in relaxed mode. Both must be normalized; a
// name that is not a host name never aligns.
func aligned(authenticated, from string, strict bool) bool {
	if !validHostname(authenticated) || !validHostname(from) {
		return false
	}
	if authenticated == from {
		return true
	}
	return !strict && orgDomain(authenticated) == orgDomain(from)
}
