package config

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Archive is retention and the archive to S3-compatible object storage
// (SPEC §12). The keys of the issue that built it are fixed: tests outside
// the project rely on them.
type Archive struct {
	// RetentionDays is the default retention of Closed sessions before
	// they are archived and removed (0: kept for ever). [[domain]] and
	// queue addresses may override it.
	RetentionDays   int    `toml:"retention_days"`
	Endpoint        string `toml:"endpoint"` // empty: AWS
	Region          string `toml:"region"`
	Bucket          string `toml:"bucket"`
	Prefix          string `toml:"prefix"`
	CredentialsFile string `toml:"credentials_file"`
	TLS             *bool  `toml:"tls"` // default true; false only for a loopback endpoint
	PathStyle       bool   `toml:"path_style"`

	// AddressRetentionDays overrides the retention for the sessions of
	// the queue with that address ([archive.address_retention_days]
	// "billing@example.com" = 365): the seed's per email account period.
	AddressRetentionDays map[string]int `toml:"address_retention_days"`
	// Interval is how often the server archives what is due (default 1h).
	Interval Duration `toml:"interval"`
	// MaxSessionsPerRun bounds one run (default 500): the rest waits for
	// the next.
	MaxSessionsPerRun int `toml:"max_sessions_per_run"`
}

// Archive defaults.
const (
	DefaultArchiveInterval   = time.Hour
	DefaultArchiveMaxPerRun  = 500
	DefaultArchiveRegion     = "us-east-1"
	DefaultArchiveEndpoint   = "s3.amazonaws.com"
	maxRetentionDays         = 100 * 365
	archivePrefixVarsPattern = `\{([^}]*)\}`
)

// ArchivePrefixVars are the variables archive.prefix may use.
var ArchivePrefixVars = []string{"queue", "domain", "yyyy", "mm"}

var archivePrefixVar = regexp.MustCompile(archivePrefixVarsPattern)

// Enabled says whether archiving is configured (a bucket is named).
func (a Archive) Enabled() bool { return a.Bucket != "" }

// UseTLS is archive.tls, true unless set false.
func (a Archive) UseTLS() bool { return a.TLS == nil || *a.TLS }

func (p *parser) defaultArchive() {
	a := &p.cfg.Archive
	if !p.md.IsDefined("archive", "interval") {
		a.Interval.Duration = DefaultArchiveInterval
	}
	if !p.md.IsDefined("archive", "max_sessions_per_run") {
		a.MaxSessionsPerRun = DefaultArchiveMaxPerRun
	}
	if a.Region == "" {
		a.Region = DefaultArchiveRegion
	}
	if a.Endpoint == "" {
		a.Endpoint = DefaultArchiveEndpoint
	}
	canon := map[string]int{}
	for addr, days := range a.AddressRetentionDays {
		canon[Canonical(addr)] = days
	}
	a.AddressRetentionDays = canon
}

func (p *parser) checkArchive() {
	a := p.cfg.Archive
	p.checkRetention("archive.retention_days", a.RetentionDays)
	for i, d := range p.cfg.Domain {
		p.checkRetention(fmt.Sprintf("domain[%d].retention_days", i), d.RetentionDays)
	}
	for _, addr := range sortedAddrs(a.AddressRetentionDays) {
		key := "archive.address_retention_days." + addr
		p.checkRetention(key, a.AddressRetentionDays[addr])
		if _, ok := p.cfg.QueueByAddress(addr); !ok {
			p.errorf(key, "%s is not a queue address", addr)
		}
	}
	if !a.Enabled() {
		if p.cfg.anyRetention() {
			p.errorf("archive.bucket", "required when a retention_days is set: sessions are removed only once archived")
		}
		return
	}
	p.checkArchiveEndpoint(a)
	p.checkArchivePrefix(a.Prefix)
	p.checkCredentialsFile(a.CredentialsFile)
	if a.Interval.Duration < time.Minute {
		p.errorf("archive.interval", "%s is too short: at least 1m", a.Interval.Duration)
	}
	if a.MaxSessionsPerRun < 1 {
		p.errorf("archive.max_sessions_per_run", "%d: at least 1", a.MaxSessionsPerRun)
	}
}

func (p *parser) checkRetention(key string, days int) {
	if days < 0 || days > maxRetentionDays {
		p.errorf(key, "%d days: want 0 (keep for ever) to %d", days, maxRetentionDays)
	}
}

func (p *parser) checkArchiveEndpoint(a Archive) {
	host, _, err := net.SplitHostPort(a.Endpoint)
	if err != nil {
		host = a.Endpoint
	}
	if strings.Contains(a.Endpoint, "/") {
		p.errorf("archive.endpoint", "%q: a host or host:port, without a scheme or path (archive.tls chooses https)", a.Endpoint)
		return
	}
	if !a.UseTLS() && !isLoopbackHost(host) {
		p.errorf("archive.tls", "false is only allowed for a loopback endpoint, not %s: the archive holds every customer message", a.Endpoint)
	}
}

func (p *parser) checkArchivePrefix(prefix string) {
	for _, m := range archivePrefixVar.FindAllStringSubmatch(prefix, -1) {
		if !slices.Contains(ArchivePrefixVars, m[1]) {
			p.errorf("archive.prefix", "unknown variable {%s} (known: {%s})", m[1], strings.Join(ArchivePrefixVars, "}, {"))
		}
	}
	if strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "..") {
		p.errorf("archive.prefix", "%q: a relative path in the bucket, without .. or a leading /", prefix)
	}
}

func (p *parser) checkCredentialsFile(path string) {
	if path == "" {
		p.errorf("archive.credentials_file", "required: the AWS shared-credentials file with the access key")
		return
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		p.errorf("archive.credentials_file", "%v", err)
	case st.Mode().Perm()&0o077 != 0:
		p.errorf("archive.credentials_file", "%s has mode %04o: it holds a secret key, make it 0600", path, st.Mode().Perm())
	}
}

// anyRetention says whether some retention period is set.
func (c *Config) anyRetention() bool {
	if c.Archive.RetentionDays > 0 {
		return true
	}
	for _, d := range c.Domain {
		if d.RetentionDays > 0 {
			return true
		}
	}
	for _, days := range c.Archive.AddressRetentionDays {
		if days > 0 {
			return true
		}
	}
	return false
}

// RetentionDays is how long the Closed sessions of queue are kept before
// they are archived (0: for ever). Per address of the queue, the
// address's archive.address_retention_days, else its domain's
// retention_days, else archive.retention_days; of the queue's addresses
// the longest wins (the safe side). A queue no longer configured gets
// archive.retention_days.
func (c *Config) RetentionDays(queue string) int {
	q := c.QueueByName(queue)
	if q == nil || len(q.Addresses) == 0 {
		return c.Archive.RetentionDays
	}
	longest, forever := 0, false
	for _, addr := range q.Addresses {
		days := c.addressRetention(Canonical(addr))
		forever = forever || days == 0
		longest = max(longest, days)
	}
	if forever {
		return 0
	}
	return longest
}

func (c *Config) addressRetention(addr string) int {
	if days, ok := c.Archive.AddressRetentionDays[addr]; ok {
		return days
	}
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	for _, d := range c.Domain {
		if SameAddress(d.Name, domain) && d.RetentionDays > 0 {
			return d.RetentionDays
		}
	}
	return c.Archive.RetentionDays
}

// QueueDomain is the domain of queue's first address ({domain} in
// archive.prefix).
func (c *Config) QueueDomain(queue string) string {
	q := c.QueueByName(queue)
	if q == nil || len(q.Addresses) == 0 {
		return ""
	}
	a := q.Addresses[0]
	return Canonical(a[strings.LastIndexByte(a, '@')+1:])
}

func sortedAddrs(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
