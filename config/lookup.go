package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Path returns the file the configuration was loaded from.
func (c *Config) Path() string { return c.path }

// Canonical is the one form of a login or address for lookups, locks and
// logs: ASCII letters lower-cased, every other byte kept. Unicode case
// folding is not applied on purpose: it makes ſ (U+017F) an s and the
// Kelvin sign (U+212A) a k, so that alice@example.teſt would log in as
// alice@example.test under a lock key of its own, and ſupport@ would
// deliver to Support (RFC 5321 compares addresses as ASCII).
func Canonical(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// SameAddress reports whether a and b are equal without regard to ASCII
// case (Canonical).
func SameAddress(a, b string) bool {
	return len(a) == len(b) && Canonical(a) == Canonical(b)
}

// QueueByAddress returns the queue that owns addr, compared without regard
// to ASCII case. A plus-address (support+s-7k3qx@…) does not match: the reply
// token is for the router to strip.
func (c *Config) QueueByAddress(addr string) (*Queue, bool) {
	for i := range c.Queue {
		for _, a := range c.Queue[i].Addresses {
			if SameAddress(a, addr) {
				return &c.Queue[i], true
			}
		}
	}
	return nil, false
}

// IsSendOnly reports whether addr is a send-only address (SPEC §1), which
// never accepts mail.
func (c *Config) IsSendOnly(addr string) bool {
	for _, a := range c.SendOnly {
		if SameAddress(a.Address, addr) {
			return true
		}
	}
	return false
}

// AgentByLogin returns the agent with login, compared without regard to
// ASCII case (Canonical): a login spelled with other Unicode letters is
// no agent's.
func (c *Config) AgentByLogin(login string) (*Agent, bool) {
	for i := range c.Agent {
		if SameAddress(c.Agent[i].Login, login) {
			return &c.Agent[i], true
		}
	}
	return nil, false
}

// IsLocalDomain reports whether mxdesk is the MX for domain, compared
// without regard to ASCII case. Subdomains are not included.
func (c *Config) IsLocalDomain(domain string) bool {
	domain = strings.TrimSuffix(domain, ".")
	for _, d := range c.Domain {
		if SameAddress(d.Name, domain) {
			return true
		}
	}
	return false
}

// Location returns the configured time zone (UTC if it cannot be loaded,
// which Load does not allow).
func (c *Config) Location() *time.Location {
	if c.loc != nil {
		return c.loc
	}
	if loc, err := time.LoadLocation(c.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// SyncWrites reports whether store commits must wait for fsync (store.sync,
// default true).
func (c *Config) SyncWrites() bool { return c.Store.Sync == nil || *c.Store.Sync }

// QueueByName finds a queue by name, compared without regard to case, or
// returns nil.
func (c *Config) QueueByName(name string) *Queue {
	for i := range c.Queue {
		if strings.EqualFold(c.Queue[i].Name, name) {
			return &c.Queue[i]
		}
	}
	return nil
}

// PostmasterQueue returns the queue that takes addr when it is
// postmaster@ one of our domains (the local part in any ASCII case, RFC
// 5321 4.5.1) and no queue has the address itself: postmaster's.
func (c *Config) PostmasterQueue(addr string) (*Queue, bool) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !SameAddress(addr[:at], "postmaster") || !c.IsLocalDomain(addr[at+1:]) {
		return nil, false
	}
	return c.QueueByAddress(c.Postmaster)
}

// Fallback is the queue that takes the open sessions of a removed queue:
// fallback_queue, else the first queue (nil without queues).
func (c *Config) Fallback() *Queue {
	if q := c.QueueByName(c.FallbackQueue); q != nil {
		return q
	}
	if len(c.Queue) == 0 {
		return nil
	}
	return &c.Queue[0]
}

// Listener is one enabled listener: its key under [listen] and its address.
type Listener struct {
	Name string // smtp, submission, submissions, imap, imaps, http
	Addr string
}

// all returns every listener, enabled or not, in a fixed order.
func (l Listen) all() []Listener {
	return []Listener{
		{"smtp", l.SMTP}, {"submission", l.Submission}, {"submissions", l.Submissions},
		{"imap", l.IMAP}, {"imaps", l.IMAPS}, {"http", l.HTTP},
	}
}

// Enabled returns the listeners that are on (address not empty).
func (l Listen) Enabled() []Listener {
	var on []Listener
	for _, x := range l.all() {
		if x.Addr != "" {
			on = append(on, x)
		}
	}
	return on
}

// TrustedProxy reports whether ip is one of listen.http_trusted_proxies
// (entries that don't parse, refused by Load, match nothing).
func (l Listen) TrustedProxy(ip netip.Addr) bool {
	for _, p := range l.HTTPTrustedProxies {
		if prefix, err := parsePrefix(p); err == nil && prefix.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// parsePrefix reads an IP address (a prefix of its full length) or a
// CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR prefix such as \"10.0.0.0/8\"", s)
	}
	return p.Masked(), nil
}

// Days turns a [sessions] threshold into a duration (0: the transition is off).
func Days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// IsSupervisor reports whether a role sees every queue's history and the
// Agents folders (supervisors and admins).
func IsSupervisor(role string) bool { return role == RoleSupervisor || role == RoleAdmin }
