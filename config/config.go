// Package config is mxdesk's configuration: the TOML file of SPEC §14, its
// defaults and its validation. It is a leaf package: every other package
// takes the parts it needs from a *Config and nothing here imports them.
package config

import (
	"regexp"
	"time"
)

// Config is one mxdesk deployment, as read from its TOML file.
type Config struct {
	Hostname string `toml:"hostname"` // EHLO name and banner
	DataDir  string `toml:"data_dir"`
	Company  string `toml:"company"`
	Timezone string `toml:"timezone"`

	Listen Listen   `toml:"listen"`
	TLS    TLS      `toml:"tls"`
	SMTP   SMTP     `toml:"smtp"`
	IMAP   IMAP     `toml:"imap"`
	Store  Store    `toml:"store"`
	Log    Log      `toml:"log"` // what serve logs and how (log.go)
	Domain []Domain `toml:"domain"`
	Queue  []Queue  `toml:"queue"`
	Agent  []Agent  `toml:"agent"`
	// Sessions holds the automatic lifecycle transitions (SPEC §4).
	Sessions Sessions `toml:"sessions"`
	// Template lists the canned responses agents see in Templates.
	Template []Template `toml:"template"`
	// Delivery is how outgoing mail leaves (SPEC §7).
	Delivery Delivery `toml:"delivery"`
	// Policy holds the content rules (SPEC §9).
	Policy Policy `toml:"policy"`
	// Inbound configures sender authentication.
	Inbound Inbound `toml:"inbound"`
	// Limits are the abuse limits (SPEC §10).
	Limits Limits `toml:"limits"`
	// Route lists the routing rules, tried in order before the queue of
	// the address applies.
	Route []Route `toml:"route"`
	// PresenceTimeout: an IMAP connection silent for longer than this
	// does not make its agent present (default 31m: IDLE clients renew
	// every 29 minutes, RFC 2177).
	PresenceTimeout Duration `toml:"presence_timeout"`
	// SendOnly lists send-only addresses (SPEC §1), one [[send_only]]
	// table each: they never accept mail; auto-replies may come from them.
	SendOnly []SendOnly `toml:"send_only"`
	// FallbackQueue is where the open sessions of a queue removed from
	// the configuration go (default: the first queue).
	FallbackQueue string `toml:"fallback_queue"`
	// Postmaster is the queue address that mail to postmaster@ of every
	// domain goes to (RFC 5321 4.5.1), unless a queue has that address
	// itself (default: the first queue's first address).
	Postmaster string `toml:"postmaster"`
	// CRM is the CRM feed (SPEC §11, crm.go).
	CRM CRM `toml:"crm"`
	// API is the public HTTP API (api.go).
	API API `toml:"api"`
	// Campaign holds the outbound campaigns' settings (campaign.go).
	Campaign Campaign `toml:"campaign"`
	// Archive is retention and the archive to object storage (SPEC §12,
	// archive.go).
	Archive Archive `toml:"archive"`
	// Account lists the upstream mailboxes that feed queues (issue 17,
	// account.go).
	Account []Account `toml:"account"`
	// Team lists the named groups of agents a queue can take whole
	// (issue 19, routing.go).
	Team []Team `toml:"team"`

	// path is the file this was loaded from, for messages.
	path string
	// loc is Timezone, loaded once by Parse.
	loc *time.Location
}

// Listen holds the listener addresses; an empty string turns a listener off.
type Listen struct {
	SMTP        string `toml:"smtp"`
	Submission  string `toml:"submission"`
	Submissions string `toml:"submissions"`
	IMAP        string `toml:"imap"`
	IMAPS       string `toml:"imaps"`
	HTTP        string `toml:"http"`
	// HTTPTrustedProxies are the addresses (IPs or CIDR prefixes) of
	// reverse proxies whose X-Forwarded-For names the client of an HTTP
	// request; from any other peer the header is ignored.
	HTTPTrustedProxies []string `toml:"http_trusted_proxies"`
}

// TLS configures certificates for STARTTLS and implicit TLS listeners.
type TLS struct {
	Cert         string `toml:"cert"`
	Key          string `toml:"key"`
	InsecureAuth bool   `toml:"insecure_auth"`
}

// SMTP holds the limits of the inbound MX.
type SMTP struct {
	MaxMessageBytes int64    `toml:"max_message_bytes"` // default 25 MiB
	MaxRecipients   int      `toml:"max_recipients"`    // default 100
	ReadTimeout     Duration `toml:"read_timeout"`      // default 10m
	WriteTimeout    Duration `toml:"write_timeout"`     // default 1m
	MaxLineLength   int      `toml:"max_line_length"`   // default 4000
}

// IMAP holds the limits of the agents' IMAP server.
type IMAP struct {
	MaxAppendBytes int64 `toml:"max_append_bytes"` // default: smtp.max_message_bytes

	// ExpungedKept is how many expunged UIDs each mailbox remembers for
	// QRESYNC (condstore.go; default 10000).
	ExpungedKept int `toml:"expunged_kept"`
}

// Store tunes the embedded database.
type Store struct {
	// Sync makes every commit wait for fsync (default true). Turning it off
	// breaks the promise that 250 means stored; only for throwaway demos.
	Sync *bool `toml:"sync"`
	// MinFreeSpace is the reserve of free space on data_dir's filesystem:
	// below it new messages are refused with a temporary error until
	// space returns (default 512MB).
	MinFreeSpace Size `toml:"min_free_space"`

	// Backend, DSN and PasswordFile choose where the store lives
	// (store.go): "badger" (default, in data_dir) or "postgres" (issue 22,
	// in progress).
	Backend      string `toml:"backend"`
	DSN          string `toml:"dsn"`
	PasswordFile string `toml:"password_file"`

	// FeedPoll, ChangesKeptFor and ChangesKeptRows tune the change feed
	// across nodes on PostgreSQL (feed.go).
	FeedPoll        Duration `toml:"feed_poll"`
	ChangesKeptFor  Duration `toml:"changes_kept_for"`
	ChangesKeptRows int      `toml:"changes_kept_rows"`
}

// Domain is a mail domain mxdesk is the MX for.
type Domain struct {
	Name string `toml:"name"`
	// DKIMSelector and DKIMKey (a PEM file: RSA or Ed25519 private key)
	// sign the mail sent from this domain; both or neither.
	DKIMSelector string `toml:"dkim_selector"`
	DKIMKey      string `toml:"dkim_key"`
	// RetentionDays overrides archive.retention_days for the queue
	// addresses of this domain (0: the [archive] default; archive.go).
	RetentionDays int `toml:"retention_days"`
}

// Queue is a named inbox with one or more addresses.
type Queue struct {
	Name       string   `toml:"name"`
	Addresses  []string `toml:"addresses"`
	AutoAssign bool     `toml:"auto_assign"`
	// AllowPersonalQueue lets agents park this queue's sessions in Later.
	AllowPersonalQueue bool `toml:"allow_personal_queue"`
	// AllowTransferToQueue lets agents move this queue's sessions into
	// another queue (default true).
	AllowTransferToQueue bool `toml:"allow_transfer_to_queue"`
	// AllowTransferToAgent lets agents forward a session to another agent.
	AllowTransferToAgent bool `toml:"allow_transfer_to_agent"`
	// FromName is the display name of replies: @{agent}, @{queue},
	// @{company} (default "@{agent} via @{queue}").
	FromName string `toml:"from_name"`
	// SubjectSessionID adds [S-XXXXX] to the subject of the first reply.
	SubjectSessionID bool `toml:"subject_session_id"`
	// AllowSubjectEdit keeps the agent's subject (excludes SubjectSessionID).
	AllowSubjectEdit bool `toml:"allow_subject_edit"`
	// Signature is appended to replies: @{agent}, @{company}, @{alias}.
	Signature string `toml:"signature"`
	// StaleReply: "hold" (default), "warn" or "off" — what happens to a
	// reply written before the customer's newest message.
	StaleReply string `toml:"stale_reply"`

	// Assignment (SPEC §6), used when AutoAssign is on.
	DailyCap          int      `toml:"daily_cap"`           // auto-assigned sessions per agent per local day, 0 = none
	BusinessHoursOnly bool     `toml:"business_hours_only"` // assign only while Hours say open
	LoggedInOnly      bool     `toml:"logged_in_only"`      // default true: only agents with a live IMAP connection
	OfferTimeout      Duration `toml:"offer_timeout"`       // default 30m: unread offers go to the next agent; 0 = off
	// KPIWaitAlarm: sessions waiting unassigned longer than this are
	// counted as alarms (0 = off).
	KPIWaitAlarm Duration `toml:"kpi_wait_alarm"`
	// Service level and real-time thresholds (config/servicelevel.go).
	ServiceLevel       float64  `toml:"service_level"`
	ServiceLevelWithin Duration `toml:"service_level_within"`
	AlarmWaiting       int      `toml:"alarm_waiting"`
	AlarmOldest        Duration `toml:"alarm_oldest"`
	Hours              Hours    `toml:"hours"`
	// AutoReply is the queue's automatic answer (SPEC §8), off by default.
	AutoReply AutoReply `toml:"auto_reply"`

	// Wrapup are the queue's wrap-up codes ([[queue.wrapup]], wrapup.go)
	// and WrapupRequired the moves that need one ("resolve", "transfer").
	Wrapup         []Wrapup `toml:"wrapup"`
	WrapupRequired []string `toml:"wrapup_required"`

	// Teams, strategy and switches (issue 19, routing.go).
	Teams    []string `toml:"teams"`    // every member of these [[team]]s serves the queue
	Strategy string   `toml:"strategy"` // who auto-assignment picks: least_active (default), round_robin, longest_idle, skills
	Enabled  bool     `toml:"enabled"`  // default true; false: readable, no mail in, no assignment
	Receive  bool     `toml:"receive"`  // default true; false: replies to its sessions only

	// Rating is the queue's satisfaction rating links (rating.go), off
	// by default.
	Rating Rating `toml:"rating"`
}

// SendOnly is a send-only address (SPEC §1).
type SendOnly struct {
	Address string `toml:"address"`
}

// Hours is a queue's weekly schedule (SPEC §6).
type Hours struct {
	// Timezone of the schedule (default: the top-level timezone).
	Timezone string `toml:"timezone"`
	// Mon..Sun: "09:00-17:00", several ranges separated by commas
	// ("09:00-12:00, 13:00-17:00"), or "" for closed.
	Mon string `toml:"mon"`
	Tue string `toml:"tue"`
	Wed string `toml:"wed"`
	Thu string `toml:"thu"`
	Fri string `toml:"fri"`
	Sat string `toml:"sat"`
	Sun string `toml:"sun"`
	// Holidays are closed dates, "2026-12-25".
	Holidays []string `toml:"holidays"`

	loc      *time.Location
	spans    [7][]span    // by time.Weekday, minutes since midnight
	holidays map[int]bool // closed dates, as dateKey
}

// span is an open interval of one day, in minutes since midnight.
type span struct{ from, to int }

// Route is a routing rule (SPEC §6): inbound mail that matches every
// pattern given goes to Queue, or to the spam handling of its queue.
type Route struct {
	From    string `toml:"from"`    // regular expression on the sender address
	Domain  string `toml:"domain"`  // regular expression on the sender's domain
	Subject string `toml:"subject"` // regular expression on the subject
	Header  string `toml:"header"`  // a header field name, with HeaderPattern
	// HeaderPattern is a regular expression on the value of Header.
	HeaderPattern string `toml:"header_pattern"`
	Queue         string `toml:"queue"` // target queue ("" keeps the addressed one)
	Spam          bool   `toml:"spam"`  // to the queue's Spam folder, unassigned

	compiled []*regexp.Regexp // From, Domain, Subject, HeaderPattern (nil when not given)
}

// Stale reply modes.
const (
	StaleHold = "hold"
	StaleWarn = "warn"
	StaleOff  = "off"
)

// Delivery configures outbound delivery.
type Delivery struct {
	// Smarthost ("host:port") relays all outgoing mail; empty: deliver
	// to each recipient domain's MX.
	Smarthost             string `toml:"smarthost"`
	SmarthostUser         string `toml:"smarthost_user"`
	SmarthostPasswordFile string `toml:"smarthost_password_file"`
	// SmarthostTLS: "starttls" (default, required), "implicit" or "none"
	// (loopback only).
	SmarthostTLS string `toml:"smarthost_tls"`
	// RetryFor is how long temporary failures are retried (default 120h).
	RetryFor Duration `toml:"retry_for"`
	// Resolver is the DNS server ("host:port") for MX lookups; empty:
	// the system's.
	Resolver string `toml:"resolver"`
	// MXPort is the port of remote MXes (default 25; tests change it).
	MXPort int `toml:"mx_port"`
	// Timeout bounds each connection and SMTP command (default 2m).
	Timeout Duration `toml:"timeout"`
	// Concurrency is how many deliveries run at once (default 8).
	Concurrency int `toml:"concurrency"`
	// Lease is how long a node holds a queued message it is sending
	// when several nodes share the store (default 15m; duty.go).
	Lease Duration `toml:"lease"`
}

// Smarthost TLS modes.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
	TLSNone     = "none"
)

// Policy holds the content rules of SPEC §9.
type Policy struct {
	MaxAttachments     int   `toml:"max_attachments"`      // default 10
	MaxAttachmentBytes int64 `toml:"max_attachment_bytes"` // default 25 MiB, all attachments together
	// Allow and Block change the default attachment type lists (type
	// names such as "zip", MIME types, or families such as "image/*").
	Allow []string `toml:"allow"`
	Block []string `toml:"block"`
	// Limits on the structure of inbound messages.
	MaxDepth       int `toml:"max_depth"`        // MIME nesting, default 20
	MaxHeaders     int `toml:"max_headers"`      // header fields per part, default 1000
	MaxHeaderBytes int `toml:"max_header_bytes"` // header bytes per part, default 64 KiB
	// Clamd is the antivirus: "unix:/run/clamav/clamd.ctl" or
	// "tcp:host:port"; empty: no scanning.
	Clamd        string   `toml:"clamd"`
	ClamdTimeout Duration `toml:"clamd_timeout"` // default 30s
}

// Limits are the rate limits against abuse (SPEC §10); 0 turns one off.
type Limits struct {
	ConnectionsPerIP         int      `toml:"connections_per_ip"`           // default 100, every mail listener together; IPv6 per /64
	ConnectionsPerListener   int      `toml:"connections_per_listener"`     // default 1000, each mail listener on its own
	MessagesPerSenderPerHour int      `toml:"messages_per_sender_per_hour"` // MX, default 200
	LoginLockAfter           int      `toml:"login_lock_after"`             // failed logins per address or account, default 10
	LoginLockFor             Duration `toml:"login_lock_for"`               // default 15m
	CommandsPerConnection    int      `toml:"commands_per_connection"`      // SMTP, default 1000
	// TLSHandshakeTimeout bounds the TLS handshake of the implicit TLS
	// listeners (submissions, imaps), from the TCP connect (default 30s).
	TLSHandshakeTimeout Duration `toml:"tls_handshake_timeout"`
	// HTTPIdleTimeout closes an HTTP keep-alive connection idle for this
	// long (default 2m).
	HTTPIdleTimeout Duration `toml:"http_idle_timeout"`
	// AutoMailPerAddressPerDay caps automatic mail (auto-replies) to one
	// address per day of the top-level time zone, whatever the queue
	// (default 10).
	AutoMailPerAddressPerDay int `toml:"auto_mail_per_address_per_day"`
	// AutoMailBouncePause: an address whose mail bounced permanently gets
	// no automatic mail for this long (default 720h = 30 days).
	AutoMailBouncePause Duration `toml:"auto_mail_bounce_pause"`
	// SubmissionRecipientsPerMessage and SubmissionRecipientsPerHour cap
	// what one agent sends through submission: recipients of one message
	// (default 50) and recipients within any hour (default 500).
	SubmissionRecipientsPerMessage int `toml:"submission_recipients_per_message"`
	SubmissionRecipientsPerHour    int `toml:"submission_recipients_per_hour"`
	// InflightMessageBytes caps the message bytes the MX and submission
	// hold in memory at once, all connections together (default 256MiB);
	// 0: no cap.
	InflightMessageBytes Size `toml:"inflight_message_bytes"`
	// PersonalFoldersPerAgent caps the folders one agent creates over
	// IMAP, desk folders not counted (default 1000); 0: no cap.
	PersonalFoldersPerAgent int `toml:"personal_folders_per_agent"`
	// SpoolThreshold is the size past which a message body arriving by
	// DATA or BDAT goes to a file in data_dir/spool instead of memory
	// (default 1MiB); 0: every body stays in memory.
	SpoolThreshold Size `toml:"spool_threshold"`
}

// Inbound configures sender authentication (SPEC §2 step 3).
type Inbound struct {
	// DMARCReject refuses mail failing DMARC with p=reject (default true).
	DMARCReject bool `toml:"dmarc_reject"`
	// DMARCQuarantine files mail failing DMARC with p=quarantine as spam
	// (default true).
	DMARCQuarantine bool `toml:"dmarc_quarantine"`
	// Resolver is the DNS server ("host:port") for SPF, DKIM and DMARC;
	// empty: the system's.
	Resolver string `toml:"resolver"`
	// DNSTimeout bounds each lookup (default 5s).
	DNSTimeout Duration `toml:"dns_timeout"`
}

// Sessions sets the automatic status transitions, in days (0 = off).
type Sessions struct {
	ActiveToPausedDays   int `toml:"active_to_paused_days"`   // default 30
	PausedToClosedDays   int `toml:"paused_to_closed_days"`   // default 60
	ResolvedToClosedDays int `toml:"resolved_to_closed_days"` // default 30
	// ReopenWindowDays: a reply this soon after closing reopens the
	// session; later (or with 0) it starts a new, linked one.
	ReopenWindowDays int `toml:"reopen_window_days"` // default 30
}

// Template is a canned response shown read-only in the agents' Templates
// folder.
type Template struct {
	Name    string `toml:"name"`
	Queue   string `toml:"queue"` // "" = every queue
	Subject string `toml:"subject"`
	Body    string `toml:"body"`
	// BodyHTML is the formatted version of Body, used by campaigns
	// (campaign.go): their messages carry both.
	BodyHTML string `toml:"body_html"`
}

// Agent is a person who logs in to IMAP and submission.
type Agent struct {
	Login        string   `toml:"login"`
	Name         string   `toml:"name"`
	PasswordHash string   `toml:"password_hash"`
	Queues       []string `toml:"queues"`
	Role         string   `toml:"role"` // agent | supervisor | admin
	// MaxActive caps the agent's concurrent active sessions for
	// auto-assignment (0 = none).
	MaxActive int `toml:"max_active"`
	// AutoAssign: the agent takes auto-assigned sessions of their queues
	// (default true for agents, false for supervisors and admins).
	AutoAssign bool `toml:"auto_assign"`
	// Skills is the agent's level per queue (0..10) for queues with
	// strategy "skills" (routing.go).
	Skills map[string]int `toml:"skills"`
}

// Duration is a time.Duration written as "10m", "30s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }
