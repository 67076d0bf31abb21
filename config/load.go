package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Defaults for keys absent from the file.
const (
	DefaultSMTP            = "0.0.0.0:25"
	DefaultSubmission      = "0.0.0.0:587"
	DefaultIMAP            = "0.0.0.0:143"
	DefaultHTTP            = "127.0.0.1:8080"
	DefaultMaxMessageBytes = 25 << 20
	DefaultMaxRecipients   = 100
	DefaultReadTimeout     = 10 * time.Minute
	DefaultWriteTimeout    = time.Minute
	DefaultMaxLineLength   = 4000
	DefaultTimezone        = "UTC"
	DefaultRole            = RoleAgent

	DefaultActiveToPausedDays   = 30
	DefaultPausedToClosedDays   = 60
	DefaultResolvedToClosedDays = 30
	DefaultReopenWindowDays     = 30

	DefaultFromName           = "@{agent} via @{queue}"
	DefaultRetryFor           = 120 * time.Hour
	DefaultMXPort             = 25
	DefaultDeliveryTimeout    = 2 * time.Minute
	DefaultConcurrency        = 8
	DefaultMaxAttachments     = 10
	DefaultMaxAttachmentBytes = 25 << 20
	DefaultOfferTimeout       = 30 * time.Minute
	DefaultPresenceTimeout    = 31 * time.Minute
	DefaultMaxDepth           = 20
	DefaultMaxHeaders         = 1000
	DefaultMaxHeaderBytes     = 64 << 10
	DefaultClamdTimeout       = 30 * time.Second
	DefaultDNSTimeout         = 5 * time.Second

	DefaultConnectionsPerIP         = 100
	DefaultConnectionsPerListener   = 1000
	DefaultTLSHandshakeTimeout      = 30 * time.Second
	DefaultHTTPIdleTimeout          = 2 * time.Minute
	DefaultMessagesPerSenderPerHour = 200
	DefaultLoginLockAfter           = 10
	DefaultLoginLockFor             = 15 * time.Minute
	DefaultCommandsPerConnection    = 1000
	DefaultAutoMailPerAddressPerDay = 10
	DefaultAutoMailBouncePause      = 30 * 24 * time.Hour

	DefaultSubmissionRecipientsPerMessage = 50
	DefaultSubmissionRecipientsPerHour    = 500

	DefaultPersonalFoldersPerAgent = 1000
)

// DefaultMinFreeSpace is store.min_free_space: "512MB".
const DefaultMinFreeSpace Size = 512e6

// DefaultInflightMessageBytes is limits.inflight_message_bytes: "256MiB",
// ten messages of the default smtp.max_message_bytes.
const DefaultInflightMessageBytes Size = 256 << 20

// DefaultSpoolThreshold is limits.spool_threshold: "1MiB".
const DefaultSpoolThreshold Size = 1 << 20

// Agent roles.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// Load reads, defaults and validates the configuration file at path. Any
// error is a ValidationErrors listing every problem found.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *os.PathError
		if errors.As(err, &pe) {
			msg = "cannot read: " + pe.Err.Error()
		}
		return nil, ValidationErrors{{File: path, Msg: msg}}
	}
	return Parse(data, path)
}

// Parse is Load on the contents of a file; name is used in messages.
func Parse(data []byte, name string) (*Config, error) {
	c := &Config{path: name}
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return nil, ValidationErrors{decodeError(name, data, err)}
	}
	// A second, untyped decode tells an absent per-element key from an empty
	// one: MetaData.IsDefined cannot look inside arrays of tables.
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, ValidationErrors{decodeError(name, data, err)}
	}
	p := &parser{cfg: c, md: &md, raw: raw, ix: indexKeys(&md, data), file: name}
	p.checkKeys()
	p.applyDefaults()
	p.normalize()
	p.validate()
	if len(p.errs) > 0 {
		// File order reads best next to the file; problems without a line
		// (a missing data_dir) concern the whole file and come first.
		slices.SortStableFunc(p.errs, func(a, b *FieldError) int { return a.Line - b.Line })
		return nil, p.errs
	}
	c.loc, _ = time.LoadLocation(c.Timezone)
	return c, nil
}

// parser carries one Parse call: the decoded file, what is known about its
// keys and the problems found so far.
type parser struct {
	cfg  *Config
	md   *toml.MetaData
	raw  map[string]any
	ix   *keyIndex
	file string
	errs ValidationErrors
}

// errorf records a problem with key, at the key's line when known.
func (p *parser) errorf(key, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{File: p.file, Line: p.ix.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// checkKeys reports keys that mxdesk does not know, including known keys
// written with other capitals, which the toml package would accept silently.
func (p *parser) checkKeys() {
	undecoded := map[string]bool{}
	for _, k := range p.md.Undecoded() {
		undecoded[k.String()] = true
	}
	for i, k := range p.md.Keys() {
		path := p.ix.paths[i]
		switch {
		case undecoded[k.String()] && (len(k) == 1 || !undecoded[k[:len(k)-1].String()]):
			p.errorf(path, "unknown key %q", k[len(k)-1])
		case !undecoded[k.String()]:
			if want, ok := caseMismatch(k); ok {
				p.errorf(path, "unknown key %q (keys are case-sensitive: did you mean %q?)", k[len(k)-1], want)
			}
		}
	}
}

// caseMismatch reports whether the last component of k matches a field of
// Config only when ignoring case, and the right spelling.
func caseMismatch(k toml.Key) (string, bool) {
	t := reflect.TypeFor[Config]()
	for i, name := range k {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return "", false
		}
		f, exact := fieldByTag(t, name)
		if f == nil {
			return "", false
		}
		if !exact {
			return f.Tag.Get("toml"), i == len(k)-1
		}
		t = f.Type
	}
	return "", false
}

func fieldByTag(t reflect.Type, name string) (*reflect.StructField, bool) {
	var folded *reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if tag == name {
			return &f, true
		}
		if folded == nil && tag != "" && strings.EqualFold(tag, name) {
			folded = &f
		}
	}
	return folded, false
}

// applyDefaults fills keys absent from the file. An explicit empty listener
// stays empty: that is how a listener is turned off.
func (p *parser) applyDefaults() {
	c := p.cfg
	setString := func(dst *string, def string, key ...string) {
		if !p.md.IsDefined(key...) {
			*dst = def
		}
	}
	setString(&c.Listen.SMTP, DefaultSMTP, "listen", "smtp")
	setString(&c.Listen.Submission, DefaultSubmission, "listen", "submission")
	setString(&c.Listen.IMAP, DefaultIMAP, "listen", "imap")
	setString(&c.Listen.HTTP, DefaultHTTP, "listen", "http")
	setString(&c.Timezone, DefaultTimezone, "timezone")
	if !p.md.IsDefined("hostname") {
		c.Hostname = osHostname(p)
	}
	p.defaultLimits()
	if !p.md.IsDefined("store", "min_free_space") {
		c.Store.MinFreeSpace = DefaultMinFreeSpace
	}
	if c.Store.Backend == "" {
		c.Store.Backend = BackendBadger
	}
	if c.Store.Sync == nil {
		sync := true
		c.Store.Sync = &sync
	}
	p.defaultStoreFeed() // store.feed_poll, changes_kept_for, changes_kept_rows (feed.go)
	for i := range c.Agent {
		if !p.tableHasKey("agent", i, "role") {
			c.Agent[i].Role = DefaultRole
		}
		if !p.tableHasKey("agent", i, "auto_assign") {
			c.Agent[i].AutoAssign = c.Agent[i].Role == RoleAgent
		}
	}
	if !p.md.IsDefined("presence_timeout") {
		c.PresenceTimeout.Duration = DefaultPresenceTimeout
	}
	for i := range c.Queue {
		q := &c.Queue[i]
		if !p.tableHasKey("queue", i, "allow_transfer_to_queue") {
			q.AllowTransferToQueue = true
		}
		if !p.tableHasKey("queue", i, "from_name") {
			q.FromName = DefaultFromName
		}
		if !p.tableHasKey("queue", i, "stale_reply") {
			q.StaleReply = StaleHold
		}
		if !p.tableHasKey("queue", i, "logged_in_only") {
			q.LoggedInOnly = true
		}
		if !p.tableHasKey("queue", i, "offer_timeout") {
			q.OfferTimeout.Duration = DefaultOfferTimeout
		}
		p.defaultAutoReply(i, &q.AutoReply)
	}
	p.defaultDelivery()
	p.defaultArchive()
	p.defaultCRM()
	p.defaultAPI()
	p.defaultAccounts()
	p.defaultRouting()
	days := []struct {
		dst *int
		def int
		key string
	}{
		{&c.Sessions.ActiveToPausedDays, DefaultActiveToPausedDays, "active_to_paused_days"},
		{&c.Sessions.PausedToClosedDays, DefaultPausedToClosedDays, "paused_to_closed_days"},
		{&c.Sessions.ResolvedToClosedDays, DefaultResolvedToClosedDays, "resolved_to_closed_days"},
		{&c.Sessions.ReopenWindowDays, DefaultReopenWindowDays, "reopen_window_days"},
	}
	for _, d := range days {
		if !p.md.IsDefined("sessions", d.key) {
			*d.dst = d.def
		}
	}
}

func osHostname(p *parser) string {
	h, err := os.Hostname()
	if err != nil {
		p.errorf("hostname", "not set, and the OS hostname is unavailable: %v", err)
	}
	return h
}

func (p *parser) defaultLimits() {
	c := p.cfg
	if !p.md.IsDefined("smtp", "max_message_bytes") {
		c.SMTP.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if !p.md.IsDefined("smtp", "max_recipients") {
		c.SMTP.MaxRecipients = DefaultMaxRecipients
	}
	if !p.md.IsDefined("smtp", "read_timeout") {
		c.SMTP.ReadTimeout.Duration = DefaultReadTimeout
	}
	if !p.md.IsDefined("smtp", "write_timeout") {
		c.SMTP.WriteTimeout.Duration = DefaultWriteTimeout
	}
	if !p.md.IsDefined("smtp", "max_line_length") {
		c.SMTP.MaxLineLength = DefaultMaxLineLength
	}
	if !p.md.IsDefined("imap", "max_append_bytes") {
		c.IMAP.MaxAppendBytes = c.SMTP.MaxMessageBytes
	}
	if !p.md.IsDefined("imap", "expunged_kept") {
		c.IMAP.ExpungedKept = DefaultExpungedKept
	}
	if !p.md.IsDefined("limits", "inflight_message_bytes") {
		c.Limits.InflightMessageBytes = DefaultInflightMessageBytes
	}
	if !p.md.IsDefined("limits", "spool_threshold") {
		c.Limits.SpoolThreshold = defaultSpoolThreshold(c.Limits.InflightMessageBytes)
	}
}

func (p *parser) defaultDelivery() {
	d, pol := &p.cfg.Delivery, &p.cfg.Policy
	if !p.md.IsDefined("delivery", "smarthost_tls") {
		d.SmarthostTLS = TLSStartTLS
	}
	if !p.md.IsDefined("delivery", "retry_for") {
		d.RetryFor.Duration = DefaultRetryFor
	}
	if !p.md.IsDefined("delivery", "mx_port") {
		d.MXPort = DefaultMXPort
	}
	if !p.md.IsDefined("delivery", "timeout") {
		d.Timeout.Duration = DefaultDeliveryTimeout
	}
	if !p.md.IsDefined("delivery", "concurrency") {
		d.Concurrency = DefaultConcurrency
	}
	p.defaultDeliveryLease()
	if !p.md.IsDefined("policy", "max_attachments") {
		pol.MaxAttachments = DefaultMaxAttachments
	}
	if !p.md.IsDefined("policy", "max_attachment_bytes") {
		pol.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	ints := []struct {
		dst     *int
		def     int
		section string
		key     string
	}{
		{&pol.MaxDepth, DefaultMaxDepth, "policy", "max_depth"},
		{&pol.MaxHeaders, DefaultMaxHeaders, "policy", "max_headers"},
		{&pol.MaxHeaderBytes, DefaultMaxHeaderBytes, "policy", "max_header_bytes"},
	}
	for _, x := range ints {
		if !p.md.IsDefined(x.section, x.key) {
			*x.dst = x.def
		}
	}
	if !p.md.IsDefined("policy", "clamd_timeout") {
		pol.ClamdTimeout.Duration = DefaultClamdTimeout
	}
	lim := &p.cfg.Limits
	for _, x := range []struct {
		dst *int
		def int
		key string
	}{
		{&lim.ConnectionsPerIP, DefaultConnectionsPerIP, "connections_per_ip"},
		{&lim.ConnectionsPerListener, DefaultConnectionsPerListener, "connections_per_listener"},
		{&lim.MessagesPerSenderPerHour, DefaultMessagesPerSenderPerHour, "messages_per_sender_per_hour"},
		{&lim.LoginLockAfter, DefaultLoginLockAfter, "login_lock_after"},
		{&lim.CommandsPerConnection, DefaultCommandsPerConnection, "commands_per_connection"},
		{&lim.SubmissionRecipientsPerMessage, DefaultSubmissionRecipientsPerMessage, "submission_recipients_per_message"},
		{&lim.SubmissionRecipientsPerHour, DefaultSubmissionRecipientsPerHour, "submission_recipients_per_hour"},
		{&lim.PersonalFoldersPerAgent, DefaultPersonalFoldersPerAgent, "personal_folders_per_agent"},
	} {
		if !p.md.IsDefined("limits", x.key) {
			*x.dst = x.def
		}
	}
	if !p.md.IsDefined("limits", "auto_mail_per_address_per_day") {
		lim.AutoMailPerAddressPerDay = DefaultAutoMailPerAddressPerDay
	}
	if !p.md.IsDefined("limits", "auto_mail_bounce_pause") {
		lim.AutoMailBouncePause.Duration = DefaultAutoMailBouncePause
	}
	if !p.md.IsDefined("limits", "login_lock_for") {
		lim.LoginLockFor.Duration = DefaultLoginLockFor
	}
	if !p.md.IsDefined("limits", "tls_handshake_timeout") {
		lim.TLSHandshakeTimeout.Duration = DefaultTLSHandshakeTimeout
	}
	if !p.md.IsDefined("limits", "http_idle_timeout") {
		lim.HTTPIdleTimeout.Duration = DefaultHTTPIdleTimeout
	}
	in := &p.cfg.Inbound
	if !p.md.IsDefined("inbound", "dmarc_reject") {
		in.DMARCReject = true
	}
	if !p.md.IsDefined("inbound", "dmarc_quarantine") {
		in.DMARCQuarantine = true
	}
	if !p.md.IsDefined("inbound", "dns_timeout") {
		in.DNSTimeout.Duration = DefaultDNSTimeout
	}
}

// tableHasKey reports whether the i-th table of the array table defines
// key. Arrays of tables decode to []map[string]any, arrays of inline tables
// to []any.
func (p *parser) tableHasKey(table string, i int, key string) bool {
	var elem any
	switch a := p.raw[table].(type) {
	case []map[string]any:
		if i < len(a) {
			elem = a[i]
		}
	case []any:
		if i < len(a) {
			elem = a[i]
		}
	}
	m, _ := elem.(map[string]any)
	_, ok := m[key]
	return ok
}

// normalize lower-cases domains and addresses (ASCII only: Canonical), so
// that every comparison elsewhere can be a plain string compare.
func (p *parser) normalize() {
	c := p.cfg
	for i := range c.Domain {
		c.Domain[i].Name = Canonical(c.Domain[i].Name)
	}
	for i := range c.Queue {
		for j, a := range c.Queue[i].Addresses {
			c.Queue[i].Addresses[j] = Canonical(a)
		}
	}
	for i, a := range c.SendOnly {
		c.SendOnly[i].Address = Canonical(a.Address)
	}
	for i := range c.Queue {
		c.Queue[i].AutoReply.From = Canonical(c.Queue[i].AutoReply.From)
	}
	c.Postmaster = Canonical(c.Postmaster)
	if c.Postmaster == "" && len(c.Queue) > 0 && len(c.Queue[0].Addresses) > 0 {
		c.Postmaster = c.Queue[0].Addresses[0]
	}
}
