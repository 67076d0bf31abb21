package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// CRM is the CRM feed (SPEC §11): one ticket per session, fed through a
// signed webhook. The keys of the issue that built it are fixed: tests
// outside the project rely on them.
type CRM struct {
	URL        string `toml:"url"`         // empty: the CRM feed is off
	SecretFile string `toml:"secret_file"` // one line: whsec_<base64>
	Inbound    *bool  `toml:"inbound"`     // default true: tickets for new inbound sessions
	Outbound   *bool  `toml:"outbound"`    // default true: tickets for sessions an agent starts
	Content    string `toml:"content"`     // "session_end" (default) | "each_reply" | "off"
	PDF        string `toml:"pdf"`         // "session_end" (default) | "each_reply" | "off"
	Metadata   bool   `toml:"metadata"`
	// LinkBaseURL is where CRM users reach mxdesk's [listen] http
	// ("https://desk.example.com"): the start of every message link.
	LinkBaseURL string `toml:"link_base_url"`
	// LinkTTL is how long a message link stays valid (default 30 days).
	LinkTTL Duration `toml:"link_ttl"`

	// RetryFor is how long an event that failed for a temporary reason
	// is tried again before it becomes a dead letter (default 72h).
	RetryFor Duration `toml:"retry_for"`
	// RetryInitial is the first wait after a failure; it doubles with
	// every attempt up to an hour (default 30s).
	RetryInitial Duration `toml:"retry_initial"`
	// ConnectTimeout bounds the TCP and TLS connection to the CRM
	// (default 10s); Timeout the whole request, response included
	// (default 30s).
	ConnectTimeout Duration `toml:"connect_timeout"`
	Timeout        Duration `toml:"timeout"`
	// Workers is how many sessions are delivered at once (default 4); the
	// events of one session always go one after the other.
	Workers int `toml:"workers"`

	// PDFFont is a TrueType font file the PDF transcripts use instead of
	// the built-in Go fonts (crm_pdf.go); "": the Go fonts.
	PDFFont string `toml:"pdf_font"`
}

// CRM feed modes of content and pdf.
const (
	CRMSessionEnd = "session_end"
	CRMEachReply  = "each_reply"
	CRMOff        = "off"
)

// CRM defaults.
const (
	DefaultCRMLinkTTL        = 30 * 24 * time.Hour
	DefaultCRMRetryFor       = 72 * time.Hour
	DefaultCRMRetryInitial   = 30 * time.Second
	DefaultCRMConnectTimeout = 10 * time.Second
	DefaultCRMTimeout        = 30 * time.Second
	DefaultCRMWorkers        = 4
)

// Enabled says whether the CRM feed is on.
func (c *CRM) Enabled() bool { return c.URL != "" }

// defaultCRM fills the [crm] keys absent from the file.
func (p *parser) defaultCRM() {
	c := &p.cfg.CRM
	yes := true
	if c.Inbound == nil {
		c.Inbound = &yes
	}
	if c.Outbound == nil {
		c.Outbound = &yes
	}
	if c.Content == "" {
		c.Content = CRMSessionEnd
	}
	if c.PDF == "" {
		c.PDF = CRMSessionEnd
	}
	durations := []struct {
		dst *Duration
		def time.Duration
		key string
	}{
		{&c.LinkTTL, DefaultCRMLinkTTL, "link_ttl"},
		{&c.RetryFor, DefaultCRMRetryFor, "retry_for"},
		{&c.RetryInitial, DefaultCRMRetryInitial, "retry_initial"},
		{&c.ConnectTimeout, DefaultCRMConnectTimeout, "connect_timeout"},
		{&c.Timeout, DefaultCRMTimeout, "timeout"},
	}
	for _, d := range durations {
		if !p.md.IsDefined("crm", d.key) {
			d.dst.Duration = d.def
		}
	}
	if !p.md.IsDefined("crm", "workers") {
		c.Workers = DefaultCRMWorkers
	}
}

// checkCRM validates [crm]. With url empty the feed is off and only the
// modes are checked.
func (p *parser) checkCRM() {
	c := &p.cfg.CRM
	modes := []struct{ key, mode string }{{"crm.content", c.Content}, {"crm.pdf", c.PDF}}
	for _, m := range modes {
		if m.mode != CRMSessionEnd && m.mode != CRMEachReply && m.mode != CRMOff {
			p.errorf(m.key, "%q: want \"session_end\", \"each_reply\" or \"off\"", m.mode)
		}
	}
	durations := []struct {
		key string
		d   Duration
	}{{"crm.link_ttl", c.LinkTTL}, {"crm.retry_for", c.RetryFor}, {"crm.retry_initial", c.RetryInitial},
		{"crm.connect_timeout", c.ConnectTimeout}, {"crm.timeout", c.Timeout}}
	for _, d := range durations {
		if d.d.Duration <= 0 {
			p.errorf(d.key, "must be a positive duration such as \"30s\"")
		}
	}
	if c.Workers < 1 || c.Workers > 64 {
		p.errorf("crm.workers", "must be from 1 to 64, not %d", c.Workers)
	}
	if !c.Enabled() {
		return
	}
	if err := CheckCRMURL(c.URL); err != nil {
		p.errorf("crm.url", "%q: %v", c.URL, err)
	}
	if c.SecretFile == "" {
		p.errorf("crm.secret_file", "is required with crm.url: the webhooks are signed with it")
	} else if _, err := ReadCRMSecret(c.SecretFile); err != nil {
		p.errorf("crm.secret_file", "%v", err)
	}
	if c.LinkBaseURL == "" {
		p.errorf("crm.link_base_url", "is required with crm.url: the message links start with it (\"https://desk.example.com\")")
	} else if u, err := url.Parse(c.LinkBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.errorf("crm.link_base_url", "%q: want an http or https URL such as \"https://desk.example.com\"", c.LinkBaseURL)
	}
}

// CheckCRMURL accepts an https URL, or an http one to a loopback address
// (tests, a local relay): webhooks carry customer mail.
func CheckCRMURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("http only to a loopback address: use https")
	}
	return fmt.Errorf("want an https URL")
}

func isLoopbackHost(host string) bool {
	return isLoopback(net.JoinHostPort(host, "0"))
}

// ReadCRMSecret reads the Standard Webhooks secret in path
// (crm.secret_file): one line "whsec_<base64>", returned decoded.
func ReadCRMSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crm.secret_file: %w", err)
	}
	line := strings.TrimSpace(string(data))
	encoded, ok := strings.CutPrefix(line, "whsec_")
	if !ok {
		return nil, fmt.Errorf("crm.secret_file %s: the secret must start with whsec_", path)
	}
	secret, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("crm.secret_file %s: the secret after whsec_ is not base64", path)
	}
	if len(secret) < 24 || len(secret) > 64 {
		return nil, fmt.Errorf("crm.secret_file %s: the secret must decode to 24 to 64 bytes, not %d", path, len(secret))
	}
	return secret, nil
}
