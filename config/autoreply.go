package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mxdesk/policy"
)

// AutoReply is a queue's automatic answer to customers (SPEC §8). It is
// off by default; every trigger is on once it is enabled.
type AutoReply struct {
	Enabled bool `toml:"enabled"`
	// From is the sender: one of the queue's addresses (default: its
	// first) or a [[send_only]] address.
	From string `toml:"from"`
	// FromName is the display name of From: @{queue}, @{company}
	// (default "@{queue}").
	FromName string `toml:"from_name"`
	// Body is the plain text; BodyHTML the formatted version (at least
	// one of them). Both take the tags of AutoReplyTags.
	Body     string `toml:"body"`
	BodyHTML string `toml:"body_html"`
	// InlineImages are image files shown inside BodyHTML, which refers to
	// each as "cid:<file name without directory>".
	InlineImages []string `toml:"inline_images"`
	// Attachments are files attached to every auto-reply.
	Attachments []string `toml:"attachments"`
	// MinInterval: at most one auto-reply per sender address per queue in
	// this time (default 24h).
	MinInterval Duration `toml:"min_interval"`
	// IdleDays: a customer message to an Active session without activity
	// for this many days triggers an auto-reply (default 15).
	IdleDays int `toml:"idle_days"`
	// The triggers (each default true): a new session, a reply that
	// reopens a Closed session, a reply to a Paused session, a reply to an
	// Active session idle for IdleDays.
	OnNew    bool `toml:"on_new"`
	OnReopen bool `toml:"on_reopen"`
	OnPaused bool `toml:"on_paused"`
	OnIdle   bool `toml:"on_idle"`

	files []AutoReplyFile // read by Parse
}

// AutoReplyFile is an inline image or attachment of an auto-reply, read
// when the configuration was loaded.
type AutoReplyFile struct {
	Name        string // file name without directory (the cid: of an inline image)
	ContentType string // as sniffed
	Inline      bool
	Data        []byte
}

// Files returns the inline images, then the attachments, as read by
// Parse.
func (a *AutoReply) Files() []AutoReplyFile { return a.files }

// AutoReplyTags are the tags of auto-reply bodies.
var AutoReplyTags = []string{"consumer", "agent", "date", "time", "queue", "company", "next_working_date", "ticket_id"}

// Auto-reply defaults and limits (SPEC §8).
const (
	DefaultAutoReplyInterval = 24 * time.Hour
	DefaultAutoReplyIdleDays = 15
	DefaultAutoReplyFromName = "@{queue}"
	MaxAutoReplyFiles        = 10       // inline images, and attachments, each
	MaxAutoReplyFileBytes    = 25 << 20 // inline images, and attachments, each in total
)

// defaultAutoReply fills the absent keys of the i-th queue's auto_reply.
func (p *parser) defaultAutoReply(i int, a *AutoReply) {
	has := func(key string) bool {
		var elem any
		switch q := p.raw["queue"].(type) {
		case []map[string]any:
			if i < len(q) {
				elem = q[i]
			}
		case []any:
			if i < len(q) {
				elem = q[i]
			}
		}
		m, _ := elem.(map[string]any)
		ar, _ := m["auto_reply"].(map[string]any)
		_, ok := ar[key]
		return ok
	}
	if !has("min_interval") {
		a.MinInterval.Duration = DefaultAutoReplyInterval
	}
	if !has("idle_days") {
		a.IdleDays = DefaultAutoReplyIdleDays
	}
	if !has("from_name") {
		a.FromName = DefaultAutoReplyFromName
	}
	for key, dst := range map[string]*bool{"on_new": &a.OnNew, "on_reopen": &a.OnReopen, "on_paused": &a.OnPaused, "on_idle": &a.OnIdle} {
		if !has(key) {
			*dst = true
		}
	}
}

// checkAutoReplies checks every queue's auto_reply and reads its files.
func (p *parser) checkAutoReplies() {
	rules := policy.DefaultRules().Amend(p.cfg.Policy.Allow, p.cfg.Policy.Block)
	for i := range p.cfg.Queue {
		q := &p.cfg.Queue[i]
		a, key := &q.AutoReply, fmt.Sprintf("queue[%d].auto_reply", i)
		p.checkTags(key+".body", a.Body, AutoReplyTags...)
		p.checkTags(key+".body_html", a.BodyHTML, AutoReplyTags...)
		p.checkTags(key+".from_name", a.FromName, "queue", "company")
		if strings.ContainsAny(a.FromName, "\r\n") {
			p.errorf(key+".from_name", "must be one line")
		}
		switch {
		case a.From == "" && len(q.Addresses) > 0:
			a.From = q.Addresses[0]
		case a.From == "":
		case p.cfg.IsSendOnly(a.From):
		default:
			if owner, ok := p.cfg.QueueByAddress(a.From); !ok || owner != q {
				p.errorf(key+".from", "%q: want one of the queue's addresses or a [[send_only]] address", a.From)
			}
		}
		if a.MinInterval.Duration <= 0 {
			p.errorf(key+".min_interval", "must be a positive duration such as \"24h\" (at most one auto-reply per sender in that time)")
		}
		if a.IdleDays < 1 || a.IdleDays > MaxSessionDays {
			p.errorf(key+".idle_days", "must be a number of days from 1 to %d, not %d", MaxSessionDays, a.IdleDays)
		}
		if a.Enabled && strings.TrimSpace(a.Body) == "" && strings.TrimSpace(a.BodyHTML) == "" {
			p.errorf(key+".body", "required when auto_reply is enabled (or body_html)")
		}
		if len(a.InlineImages) > 0 && a.BodyHTML == "" {
			p.errorf(key+".inline_images", "need body_html, which shows them as cid:<file name>")
		}
		a.files = nil
		p.readAutoReplyFiles(key+".inline_images", a, a.InlineImages, true, rules)
		p.readAutoReplyFiles(key+".attachments", a, a.Attachments, false, rules)
	}
}

// readAutoReplyFiles reads and checks one list of files: at most
// MaxAutoReplyFiles of at most MaxAutoReplyFileBytes together, each of a
// type the content policy allows (SPEC §9), inline ones images.
func (p *parser) readAutoReplyFiles(key string, a *AutoReply, paths []string, inline bool, rules policy.Rules) {
	if len(paths) > MaxAutoReplyFiles {
		p.errorf(key, "%d files: at most %d", len(paths), MaxAutoReplyFiles)
		return
	}
	var total int64
	names := map[string]bool{}
	for j, path := range paths {
		k := fmt.Sprintf("%s[%d]", key, j)
		if !filepath.IsAbs(path) && p.file != "" {
			path = filepath.Join(filepath.Dir(p.file), path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			p.errorf(k, "cannot read: %v", err)
			continue
		}
		total += int64(len(data))
		name := filepath.Base(path)
		mt, blocked := rules.CheckFile(name, data)
		switch {
		case blocked != "":
			p.errorf(k, "%s: type %s is blocked by the content policy ([policy] allow/block)", name, blocked)
		case inline && !strings.HasPrefix(mt, "image/"):
			p.errorf(k, "%s is %s, not an image", name, mt)
		case names[name]:
			p.errorf(k, "%s: another file has the same name", name)
		}
		names[name] = true
		a.files = append(a.files, AutoReplyFile{Name: name, ContentType: mt, Inline: inline, Data: data})
	}
	if total > MaxAutoReplyFileBytes {
		p.errorf(key, "%d bytes in total: at most %d (25 MB)", total, MaxAutoReplyFileBytes)
	}
}
