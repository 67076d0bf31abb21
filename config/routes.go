package config

import (
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Match reports whether inbound mail matches every pattern the rule
// gives: sender is the sender's address (lower case), subject the decoded
// subject, header looks up a header field's value. The domain pattern is
// matched against the part of sender after its last '@' ("" without one);
// a header field that is absent counts as empty. Patterns are RE2 (linear
// time) and case-insensitive. A Route that did not go through Parse
// matches nothing.
func (r *Route) Match(sender, subject string, header func(name string) string) bool {
	if len(r.compiled) != routePatterns {
		return false
	}
	from, domain, subj, hdr := r.compiled[0], r.compiled[1], r.compiled[2], r.compiled[3]
	if from == nil && domain == nil && subj == nil && hdr == nil {
		return false
	}
	if from != nil && !from.MatchString(sender) {
		return false
	}
	if domain != nil && !domain.MatchString(senderDomain(sender)) {
		return false
	}
	if subj != nil && !subj.MatchString(subject) {
		return false
	}
	if hdr != nil {
		var v string
		if header != nil {
			v = header(r.Header)
		}
		if !hdr.MatchString(v) {
			return false
		}
	}
	return true
}

// senderDomain is the part of addr after its last '@', or "".
func senderDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return addr[at+1:]
}

const (
	// routePatterns is the length of Route.compiled.
	routePatterns = 4
	// MaxRoutePattern bounds the length of a route's regular expression.
	MaxRoutePattern = 1000
)

// checkRoutes validates the [[route]] rules and compiles their patterns,
// so that Match never parses.
func (p *parser) checkRoutes() {
	for i := range p.cfg.Route {
		r := &p.cfg.Route[i]
		key := fmt.Sprintf("route[%d]", i)
		r.compiled = make([]*regexp.Regexp, routePatterns)
		for j, x := range []struct{ name, pattern string }{
			{"from", r.From}, {"domain", r.Domain}, {"subject", r.Subject}, {"header_pattern", r.HeaderPattern},
		} {
			if x.pattern == "" {
				continue
			}
			re, err := compileRoutePattern(x.pattern)
			if err != nil {
				p.errorf(key+"."+x.name, "%v", err)
				continue
			}
			r.compiled[j] = re
		}
		p.checkRouteHeader(key, r)
		if r.From == "" && r.Domain == "" && r.Subject == "" && r.Header == "" && r.HeaderPattern == "" {
			p.errorf(key, "a rule needs at least one pattern: from, domain, subject, or header with header_pattern")
		}
		switch {
		case r.Queue != "":
			if q := p.cfg.QueueByName(r.Queue); q == nil {
				p.errorf(key+".queue", "unknown queue %q", r.Queue)
			} else {
				r.Queue = q.Name
			}
		case !r.Spam:
			p.errorf(key, "a rule needs an action: queue = \"NAME\" to send the mail to that queue, spam = true to mark it as spam, or both")
		}
	}
}

func (p *parser) checkRouteHeader(key string, r *Route) {
	switch {
	case r.Header == "" && r.HeaderPattern != "":
		p.errorf(key+".header", "required when header_pattern is set: the name of the header field to match")
	case r.Header != "" && r.HeaderPattern == "":
		p.errorf(key+".header_pattern", "required when header is set: the regular expression its value must match")
	case r.Header != "":
		if err := checkFieldName(r.Header); err != nil {
			p.errorf(key+".header", "%q: %v", r.Header, err)
		} else {
			r.Header = textproto.CanonicalMIMEHeaderKey(r.Header)
		}
	}
}

// checkFieldName accepts a header field name (RFC 5322 2.2: printable
// ASCII except ':').
func checkFieldName(name string) error {
	if len(name) > MaxRoutePattern {
		return fmt.Errorf("longer than %d characters", MaxRoutePattern)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("not a header field name: printable ASCII without spaces or ':', e.g. \"X-Spam-Flag\"")
		}
	}
	return nil
}

// compileRoutePattern compiles a route's regular expression (Go RE2
// syntax), case-insensitive.
func compileRoutePattern(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > MaxRoutePattern {
		return nil, fmt.Errorf("the regular expression is longer than %d characters", MaxRoutePattern)
	}
	// Compiled alone first, so that an error quotes the pattern as written.
	if _, err := regexp.Compile(pattern); err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%q is not a valid regular expression (Go RE2 syntax): %s: `%s`", pattern, se.Code, se.Expr)
		}
		return nil, fmt.Errorf("%q is not a valid regular expression (Go RE2 syntax): %v", pattern, err)
	}
	re, err := regexp.Compile("(?i)" + pattern)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", pattern, err)
	}
	return re, nil
}
