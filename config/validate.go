package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"mxdesk/passwd"
	"mxdesk/policy"
)

// validate checks the defaulted configuration and records every problem.
func (p *parser) validate() {
	p.checkGlobal()
	p.checkListeners()
	p.checkTLS()
	p.checkPDFFont() // crm.pdf_font (crm_pdf.go)
	p.checkLog()
	p.checkLimits()
	p.checkStoreBackend() // store.backend, dsn, password_file (store.go)
	p.checkStoreFeed()    // store.feed_poll, changes_kept_for, changes_kept_rows (feed.go)
	p.checkSpool()
	p.checkDomains()
	addrs := map[string]string{} // lower-case address → key that defined it first
	p.checkQueues(addrs)
	p.checkSendOnly(addrs)
	p.checkAgents()
	p.checkAssignment()
	p.checkSessions()
	p.checkTemplates()
	p.checkRoutes()
	p.checkReplies()
	p.checkDelivery()
	p.checkAutoReplies()
	p.checkWrapups() // wrapup.go
	p.checkArchive()
	p.checkCRM()
	p.checkAPI()
	p.checkCampaign() // campaign.go
	p.checkAccounts()
	p.checkExpungedKept()
	p.checkRouting() // teams, strategies, skills (routing.go)
	p.checkRatings() // [queue.rating] (rating.go)
}

// checkTags reports @{name} tags of text that are not in allowed.
func (p *parser) checkTags(key, text string, allowed ...string) {
	for _, m := range tagPattern.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(allowed, m[1]) {
			p.errorf(key, "unknown tag @{%s} (known: @{%s})", m[1], strings.Join(allowed, "}, @{"))
		}
	}
}

var tagPattern = regexp.MustCompile(`@\{([^}]*)\}`)

// checkReplies checks the per-queue reply settings and the DKIM keys.
func (p *parser) checkReplies() {
	for i, q := range p.cfg.Queue {
		key := fmt.Sprintf("queue[%d]", i)
		if q.SubjectSessionID && q.AllowSubjectEdit {
			p.errorf(key+".allow_subject_edit", "excludes subject_session_id: either the session tag is added to the subject, or the agent's subject is kept as written")
		}
		switch q.StaleReply {
		case StaleHold, StaleWarn, StaleOff:
		default:
			p.errorf(key+".stale_reply", "%q: want \"hold\", \"warn\" or \"off\"", q.StaleReply)
		}
		p.checkTags(key+".from_name", q.FromName, "agent", "queue", "company")
		p.checkTags(key+".signature", q.Signature, "agent", "company", "alias")
		if strings.ContainsAny(q.FromName, "\r\n") {
			p.errorf(key+".from_name", "must be one line")
		}
	}
	for i, d := range p.cfg.Domain {
		key := fmt.Sprintf("domain[%d]", i)
		switch {
		case d.DKIMSelector == "" && d.DKIMKey == "":
		case d.DKIMSelector == "":
			p.errorf(key+".dkim_selector", "required when dkim_key is set")
		case d.DKIMKey == "":
			p.errorf(key+".dkim_key", "required when dkim_selector is set (make one with: mxdesk dkim-keygen)")
		default:
			if err := checkLabel(d.DKIMSelector); err != nil {
				p.errorf(key+".dkim_selector", "%q: %v", d.DKIMSelector, err)
			}
			if _, err := LoadDKIMKey(d.DKIMKey); err != nil {
				p.errorf(key+".dkim_key", "%v", err)
			}
		}
	}
}

func (p *parser) checkDelivery() {
	d, pol := p.cfg.Delivery, p.cfg.Policy
	if d.Smarthost != "" {
		if err := checkHostPort(d.Smarthost); err != nil {
			p.errorf("delivery.smarthost", "%q: %v", d.Smarthost, err)
		}
	}
	switch d.SmarthostTLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if d.Smarthost != "" && !isLoopback(d.Smarthost) {
			p.errorf("delivery.smarthost_tls", "\"none\" sends the password and the mail in clear: only for a smarthost on loopback")
		}
	default:
		p.errorf("delivery.smarthost_tls", "%q: want \"starttls\", \"implicit\" or \"none\"", d.SmarthostTLS)
	}
	if (d.SmarthostUser == "") != (d.SmarthostPasswordFile == "") {
		p.errorf("delivery.smarthost_user", "smarthost_user and smarthost_password_file go together")
	}
	if d.SmarthostPasswordFile != "" {
		if _, err := ReadSecret(d.SmarthostPasswordFile); err != nil {
			p.errorf("delivery.smarthost_password_file", "cannot read: %v", err)
		}
	}
	if d.Resolver != "" {
		if err := checkHostPort(d.Resolver); err != nil {
			p.errorf("delivery.resolver", "%q: %v", d.Resolver, err)
		}
	}
	if d.MXPort < 1 || d.MXPort > 65535 {
		p.errorf("delivery.mx_port", "must be a port from 1 to 65535, not %d", d.MXPort)
	}
	if d.RetryFor.Duration <= 0 {
		p.errorf("delivery.retry_for", "must be a positive duration such as \"120h\"")
	}
	if d.Timeout.Duration <= 0 {
		p.errorf("delivery.timeout", "must be a positive duration such as \"2m\"")
	}
	if d.Concurrency < 1 || d.Concurrency > 1000 {
		p.errorf("delivery.concurrency", "must be from 1 to 1000, not %d", d.Concurrency)
	}
	p.checkDeliveryLease()
	if pol.MaxAttachments < 0 {
		p.errorf("policy.max_attachments", "must not be negative")
	}
	for _, x := range []struct {
		key string
		n   int
	}{{"policy.max_depth", pol.MaxDepth}, {"policy.max_headers", pol.MaxHeaders}, {"policy.max_header_bytes", pol.MaxHeaderBytes}} {
		if x.n <= 0 {
			p.errorf(x.key, "must be a positive number, not %d", x.n)
		}
	}
	rules := policy.DefaultRules().Amend(pol.Allow, pol.Block)
	rules.Allow, rules.Block = pol.Allow, pol.Block // only the configured entries are the file's to explain
	if err := rules.Validate(); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			key := "policy.allow"
			if strings.Contains(e, "block") {
				key = "policy.block"
			}
			p.errorf(key, "%s", strings.TrimPrefix(e, "policy: "))
		}
	}
	if pol.Clamd != "" {
		network, addr, _ := strings.Cut(pol.Clamd, ":")
		switch {
		case network == "unix" && strings.HasPrefix(addr, "/"):
		case network == "tcp" && checkHostPort(addr) == nil:
		default:
			p.errorf("policy.clamd", "%q: want \"unix:/path/to/clamd.ctl\" or \"tcp:host:port\"", pol.Clamd)
		}
	}
	if pol.ClamdTimeout.Duration <= 0 {
		p.errorf("policy.clamd_timeout", "must be a positive duration such as \"30s\"")
	}
	lim := p.cfg.Limits
	for _, x := range []struct {
		key string
		n   int
	}{{"limits.connections_per_ip", lim.ConnectionsPerIP}, {"limits.connections_per_listener", lim.ConnectionsPerListener},
		{"limits.messages_per_sender_per_hour", lim.MessagesPerSenderPerHour},
		{"limits.login_lock_after", lim.LoginLockAfter}, {"limits.commands_per_connection", lim.CommandsPerConnection},
		{"limits.auto_mail_per_address_per_day", lim.AutoMailPerAddressPerDay},
		{"limits.submission_recipients_per_message", lim.SubmissionRecipientsPerMessage},
		{"limits.submission_recipients_per_hour", lim.SubmissionRecipientsPerHour},
		{"limits.personal_folders_per_agent", lim.PersonalFoldersPerAgent}} {
		if x.n < 0 {
			p.errorf(x.key, "must be 0 (off) or positive, not %d", x.n)
		}
	}
	// Below smtp.max_message_bytes a message of the largest size allowed
	// would be deferred for ever, its sender retrying until it gives up.
	if n := int64(lim.InflightMessageBytes); n != 0 && n < p.cfg.SMTP.MaxMessageBytes {
		p.errorf("limits.inflight_message_bytes", "must be 0 (off) or at least smtp.max_message_bytes (%d), not %d: a message of the largest size could never be taken",
			p.cfg.SMTP.MaxMessageBytes, n)
	}
	if lim.AutoMailBouncePause.Duration < 0 {
		p.errorf("limits.auto_mail_bounce_pause", "must be \"0s\" (off) or a positive duration such as \"720h\"")
	}
	if lim.LoginLockFor.Duration <= 0 {
		p.errorf("limits.login_lock_for", "must be a positive duration such as \"15m\"")
	}
	if lim.TLSHandshakeTimeout.Duration <= 0 {
		p.errorf("limits.tls_handshake_timeout", "must be a positive duration such as \"30s\"")
	}
	if lim.HTTPIdleTimeout.Duration <= 0 {
		p.errorf("limits.http_idle_timeout", "must be a positive duration such as \"2m\"")
	}
	in := p.cfg.Inbound
	if in.Resolver != "" {
		if err := checkHostPort(in.Resolver); err != nil {
			p.errorf("inbound.resolver", "%q: %v", in.Resolver, err)
		}
	}
	if in.DNSTimeout.Duration <= 0 {
		p.errorf("inbound.dns_timeout", "must be a positive duration such as \"5s\"")
	}
	if pol.MaxAttachmentBytes <= 0 {
		p.errorf("policy.max_attachment_bytes", "must be a positive number of bytes")
	}
}

// MinPresenceTimeout is the shortest presence_timeout allowed.
const MinPresenceTimeout = time.Minute

// checkAssignment checks the keys of auto-assignment and presence (SPEC
// §6) and parses the queues' business hours.
func (p *parser) checkAssignment() {
	c := p.cfg
	if d := c.PresenceTimeout.Duration; d < MinPresenceTimeout {
		p.errorf("presence_timeout", "must be at least 1m, not %q (IDLE clients stay silent for up to 29 minutes: the default 31m keeps them present)", d)
	}
	top, err := time.LoadLocation(c.Timezone)
	if err != nil {
		top = time.UTC // reported as timezone
	}
	for i := range c.Queue {
		q := &c.Queue[i]
		key := fmt.Sprintf("queue[%d]", i)
		if q.DailyCap < 0 {
			p.errorf(key+".daily_cap", "must be 0 (no cap) or a positive number of sessions, not %d", q.DailyCap)
		}
		for _, x := range []struct {
			name string
			d    time.Duration
		}{{"offer_timeout", q.OfferTimeout.Duration}, {"kpi_wait_alarm", q.KPIWaitAlarm.Duration}} {
			if x.d < 0 {
				p.errorf(key+"."+x.name, "must be \"0s\" (off) or a positive duration such as \"30m\", not %q", x.d)
			}
		}
		p.checkHours(key, q, top)
		p.checkServiceLevel(i, key, q)
	}
	for i, a := range c.Agent {
		if a.MaxActive < 0 {
			p.errorf(fmt.Sprintf("agent[%d].max_active", i), "must be 0 (no cap) or a positive number of sessions, not %d", a.MaxActive)
		}
	}
}

// MaxSessionDays bounds every [sessions] threshold (SPEC §4: 1-1000 days).
const MaxSessionDays = 1000

func (p *parser) checkSessions() {
	s := p.cfg.Sessions
	for _, x := range []struct {
		key string
		n   int
	}{
		{"sessions.active_to_paused_days", s.ActiveToPausedDays},
		{"sessions.paused_to_closed_days", s.PausedToClosedDays},
		{"sessions.resolved_to_closed_days", s.ResolvedToClosedDays},
		{"sessions.reopen_window_days", s.ReopenWindowDays},
	} {
		if x.n < 0 || x.n > MaxSessionDays {
			p.errorf(x.key, "must be 0 (off) or a number of days from 1 to %d, not %d", MaxSessionDays, x.n)
		}
	}
}

// Template limits keep the Templates folder small and its names readable.
const (
	maxTemplateName = 200
	maxTemplateBody = 256 << 10
)

func (p *parser) checkTemplates() {
	if len(p.cfg.Template) > 0 && len(p.cfg.Queue) == 0 {
		p.errorf("template", "templates need at least one [[queue]]")
	}
	names := map[string]bool{}
	for i := range p.cfg.Template {
		t := &p.cfg.Template[i]
		key := fmt.Sprintf("template[%d]", i)
		switch {
		case strings.TrimSpace(t.Name) == "":
			p.errorf(key+".name", "required: every template needs a name")
		case len(t.Name) > maxTemplateName || strings.ContainsFunc(t.Name, isControl):
			p.errorf(key+".name", "%q: at most %d characters, no control characters", t.Name, maxTemplateName)
		case names[strings.ToLower(t.Queue)+"\x00"+strings.ToLower(t.Name)]:
			p.errorf(key+".name", "template %q is defined twice for the same queue", t.Name)
		}
		names[strings.ToLower(t.Queue)+"\x00"+strings.ToLower(t.Name)] = true
		if t.Queue != "" {
			if q := p.cfg.QueueByName(t.Queue); q == nil {
				p.errorf(key+".queue", "unknown queue %q (leave it out for a template of every queue)", t.Queue)
			} else {
				t.Queue = q.Name
			}
		}
		if strings.ContainsAny(t.Subject, "\r\n") || strings.ContainsFunc(t.Subject, isControl) {
			p.errorf(key+".subject", "must be one line without control characters")
		}
		if len(t.Body) > maxTemplateBody {
			p.errorf(key+".body", "longer than %d bytes", maxTemplateBody)
		}
	}
}

func (p *parser) checkGlobal() {
	c := p.cfg
	if strings.TrimSpace(c.DataDir) == "" {
		p.errorf("data_dir", "required: the directory for the mail store")
	}
	if err := checkDomainName(strings.ToLower(c.Hostname)); err != nil {
		if p.md.IsDefined("hostname") {
			p.errorf("hostname", "%q is not a valid host name: %v", c.Hostname, err)
		} else if c.Hostname != "" {
			p.errorf("hostname", "not set, and the OS host name %q is not a valid host name (%v): set hostname", c.Hostname, err)
		}
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		p.errorf("timezone", "unknown time zone %q (want an IANA name such as \"Europe/Rome\" or \"UTC\")", c.Timezone)
	}
}

func (p *parser) checkListeners() {
	for _, l := range p.cfg.Listen.Enabled() {
		if err := checkHostPort(l.Addr); err != nil {
			p.errorf("listen."+l.Name, "%q: %v", l.Addr, err)
		}
	}
	for _, proxy := range p.cfg.Listen.HTTPTrustedProxies {
		if _, err := parsePrefix(proxy); err != nil {
			p.errorf("listen.http_trusted_proxies", "%v", err)
		}
	}
}

// checkHostPort accepts "host:port", "[v6]:port" and ":port" (all addresses).
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, e.g. \"0.0.0.0:25\" (%v)", err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func (p *parser) checkTLS() {
	t := p.cfg.TLS
	switch {
	case t.Cert != "" && t.Key == "":
		p.errorf("tls.key", "required when tls.cert is set")
	case t.Cert == "" && t.Key != "":
		p.errorf("tls.cert", "required when tls.key is set")
	case t.Cert != "":
		if _, err := tls.LoadX509KeyPair(t.Cert, t.Key); err != nil {
			p.errorf("tls.cert", "cannot load certificate %q with key %q: %v", t.Cert, t.Key, err)
		}
	}
	for _, l := range []Listener{{"submissions", p.cfg.Listen.Submissions}, {"imaps", p.cfg.Listen.IMAPS}} {
		if l.Addr != "" && (t.Cert == "" || t.Key == "") {
			p.errorf("listen."+l.Name, "implicit TLS needs a certificate: set tls.cert and tls.key, or set this listener to \"\"")
		}
	}
	if t.InsecureAuth {
		p.checkInsecureAuth()
	}
}

// checkInsecureAuth allows plaintext AUTH only when no one but this host can
// connect: every mail listener must bind a loopback address.
func (p *parser) checkInsecureAuth() {
	var open []string
	for _, l := range p.cfg.Listen.Enabled() {
		if l.Name != "http" && !isLoopback(l.Addr) {
			open = append(open, fmt.Sprintf("listen.%s = %q", l.Name, l.Addr))
		}
	}
	if len(open) > 0 {
		p.errorf("tls.insecure_auth", "AUTH in plaintext is only for loopback tests, but %s: bind every listener to 127.0.0.1 or ::1, or turn insecure_auth off",
			strings.Join(open, ", "))
	}
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p *parser) checkLimits() {
	c := p.cfg
	positive := func(key string, v int64) {
		if v <= 0 {
			p.errorf(key, "must be a positive number, not %d", v)
		}
	}
	positive("smtp.max_message_bytes", c.SMTP.MaxMessageBytes)
	positive("smtp.max_recipients", int64(c.SMTP.MaxRecipients))
	positive("imap.max_append_bytes", c.IMAP.MaxAppendBytes)
	// 0 would let badger fill the disk, and a full disk kills it (SIGBUS
	// in its memory-mapped files): the reserve can be made small, not off.
	positive("store.min_free_space", int64(c.Store.MinFreeSpace))
	if n := c.SMTP.MaxLineLength; n < 1000 {
		// RFC 5321 4.5.3.1.6: a server must accept text lines of 1000 octets.
		p.errorf("smtp.max_line_length", "must be at least 1000 (RFC 5321 requires lines of 1000 octets), not %d", n)
	}
	durations := []struct {
		key string
		d   time.Duration
	}{{"smtp.read_timeout", c.SMTP.ReadTimeout.Duration}, {"smtp.write_timeout", c.SMTP.WriteTimeout.Duration}}
	for _, x := range durations {
		if x.d <= 0 {
			p.errorf(x.key, "must be a positive duration such as \"30s\" or \"10m\", not %q", x.d)
		}
	}
}

func (p *parser) checkDomains() {
	if len(p.cfg.Domain) == 0 {
		p.errorf("domain", "at least one [[domain]] is required: the mail domain mxdesk receives mail for")
	}
	seen := map[string]bool{}
	for i, d := range p.cfg.Domain {
		key := fmt.Sprintf("domain[%d].name", i)
		switch err := checkDomainName(d.Name); {
		case err != nil:
			p.errorf(key, "%q is not a valid domain name: %v", d.Name, err)
		case seen[d.Name]:
			p.errorf(key, "domain %q is listed twice", d.Name)
		}
		seen[d.Name] = true
	}
}

// checkDomainName accepts an ASCII host name (IDNs in their xn-- form), in
// lower case, without a trailing dot.
func checkDomainName(name string) error {
	if name == "" {
		return fmt.Errorf("empty")
	}
	if len(name) > 253 {
		return fmt.Errorf("longer than 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if err := checkLabel(label); err != nil {
			return err
		}
	}
	return nil
}

func checkLabel(l string) error {
	switch {
	case l == "":
		return fmt.Errorf("empty label")
	case len(l) > 63:
		return fmt.Errorf("label %q longer than 63 characters", l)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("character %q not allowed (letters, digits, '-' and '.' only)", r)
		}
	}
	return nil
}

func (p *parser) checkQueues(addrs map[string]string) {
	names := map[string]bool{}
	for i, q := range p.cfg.Queue {
		key := fmt.Sprintf("queue[%d]", i)
		if err := checkQueueName(q.Name); err != nil {
			p.errorf(key+".name", "%v", err)
		} else if names[strings.ToLower(q.Name)] {
			p.errorf(key+".name", "queue %q is defined twice (names are case-insensitive)", q.Name)
		}
		names[strings.ToLower(q.Name)] = true
		if len(q.Addresses) == 0 {
			p.errorf(key+".addresses", "a queue needs at least one address")
		}
		for j, a := range q.Addresses {
			p.checkAddress(fmt.Sprintf("%s.addresses[%d]", key, j), a, addrs)
		}
	}
	if pm := p.cfg.Postmaster; pm != "" {
		if _, ok := p.cfg.QueueByAddress(pm); !ok {
			p.errorf("postmaster", "%q is no queue's address: name one of the addresses of a [[queue]] (mail to postmaster@ your domains goes there)", pm)
		}
	}
	if f := p.cfg.FallbackQueue; f != "" && p.cfg.QueueByName(f) == nil {
		p.errorf("fallback_queue", "no queue %q: name one of the [[queue]] tables (the open sessions of a removed queue go there)", f)
	}
}

// checkQueueName keeps names usable as the IMAP folder "Queues/<name>".
func checkQueueName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("required: every queue needs a name")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%q has leading or trailing spaces", name)
	case strings.ContainsAny(name, "/*%"):
		return fmt.Errorf("%q contains '/', '*' or '%%': the name is an IMAP folder and these are its hierarchy separator and wildcards", name)
	case strings.ContainsFunc(name, isControl):
		return fmt.Errorf("%q contains a control character", name)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func (p *parser) checkSendOnly(addrs map[string]string) {
	for i, a := range p.cfg.SendOnly {
		p.checkAddress(fmt.Sprintf("send_only[%d].address", i), a.Address, addrs)
	}
}

// checkAddress checks one queue or send-only address (already lower case)
// and that no other key claimed it.
func (p *parser) checkAddress(key, addr string, seen map[string]string) {
	if err := checkAddrSyntax(addr); err != nil {
		p.errorf(key, "%q: %v", addr, err)
		return
	}
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if !p.cfg.IsLocalDomain(domain) {
		p.errorf(key, "%q is outside the configured domains (domain.name)", addr)
	}
	if prev, dup := seen[addr]; dup {
		p.errorf(key, "%q is already used by %s: an address belongs to one queue or send_only", addr, prev)
		return
	}
	seen[addr] = key
}

// checkAddrSyntax accepts local@domain with a dot-atom local part (RFC 5322
// 3.2.3) and no '+', which mxdesk keeps for session reply tokens.
func checkAddrSyntax(addr string) error {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return fmt.Errorf("not an address: want local@domain")
	}
	local, domain := addr[:at], addr[at+1:]
	if strings.Contains(local, "+") {
		return fmt.Errorf("'+' is not allowed in the local part: plus-addressing is reserved for session reply tokens")
	}
	if err := checkLocalPart(local); err != nil {
		return err
	}
	if err := checkDomainName(domain); err != nil {
		return fmt.Errorf("bad domain: %v", err)
	}
	return nil
}

const atext = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"

func checkLocalPart(local string) error {
	switch {
	case local == "":
		return fmt.Errorf("empty local part")
	case len(local) > 64:
		return fmt.Errorf("local part longer than 64 characters")
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return fmt.Errorf("misplaced '.' in the local part")
	}
	for _, r := range local {
		if r != '.' && !strings.ContainsRune(atext, r) {
			return fmt.Errorf("character %q not allowed in the local part", r)
		}
	}
	return nil
}

func (p *parser) checkAgents() {
	logins := map[string]bool{}
	for i := range p.cfg.Agent {
		a := &p.cfg.Agent[i]
		key := fmt.Sprintf("agent[%d]", i)
		if err := checkLogin(a.Login); err != nil {
			p.errorf(key+".login", "%v", err)
		} else if logins[Canonical(a.Login)] {
			p.errorf(key+".login", "login %q is used twice (logins are case-insensitive)", a.Login)
		}
		logins[Canonical(a.Login)] = true
		switch a.Role {
		case RoleAgent, RoleSupervisor, RoleAdmin:
		default:
			p.errorf(key+".role", "%q is not a role: want agent, supervisor or admin", a.Role)
		}
		p.checkPasswordHash(key+".password_hash", a.PasswordHash)
		p.checkAgentQueues(key+".queues", a)
	}
}

// checkLogin keeps logins typable in IMAP LOGIN and usable as the supervisor
// folder "Agents/<login>".
func checkLogin(login string) error {
	switch {
	case login == "":
		return fmt.Errorf("required: every agent needs a login")
	case strings.ContainsFunc(login, func(r rune) bool { return r == ' ' || r == '/' || isControl(r) }):
		return fmt.Errorf("%q contains a space, '/' or a control character", login)
	}
	return nil
}

func (p *parser) checkPasswordHash(key, hash string) {
	if hash == "" {
		p.errorf(key, "required: a bcrypt or argon2id hash (make one with: mxdesk hash-password)")
		return
	}
	if err := passwd.Check(hash); err != nil {
		p.errorf(key, "%v (make one with: mxdesk hash-password)", err)
	}
}

// checkAgentQueues resolves the agent's queue names case-insensitively and
// rewrites them to the queue's own spelling.
func (p *parser) checkAgentQueues(key string, a *Agent) {
	seen := map[string]bool{}
	for j, name := range a.Queues {
		q := p.cfg.QueueByName(name)
		switch {
		case q == nil:
			p.errorf(key, "unknown queue %q", name)
		case seen[q.Name]:
			p.errorf(fmt.Sprintf("%s[%d]", key, j), "queue %q is listed twice", name)
		default:
			a.Queues[j] = q.Name
		}
		if q != nil {
			seen[q.Name] = true
		}
	}
}
