package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Account is an upstream mailbox whose mail feeds a queue (the connector,
// issue 17): mxdesk pulls its folder over IMAP and sends the queue's
// replies through its SMTP. The keys address, queue, imap, imap_tls,
// login, password_file, folder, smtp and smtp_tls are fixed: tests
// outside the project rely on them.
type Account struct {
	Address      string `toml:"address"`
	Queue        string `toml:"queue"`
	IMAP         string `toml:"imap"`     // host:port
	IMAPTLS      string `toml:"imap_tls"` // "implicit" (default), "starttls", "none" (loopback only)
	Login        string `toml:"login"`
	PasswordFile string `toml:"password_file"`
	Folder       string `toml:"folder"` // default "INBOX"
	SMTP         string `toml:"smtp"`   // host:port; empty: replies leave as [delivery] says
	SMTPTLS      string `toml:"smtp_tls"`
	// SMTPLogin and SMTPPasswordFile authenticate to smtp (default: login
	// and password_file).
	SMTPLogin        string `toml:"smtp_login"`
	SMTPPasswordFile string `toml:"smtp_password_file"`
	// PollInterval is the wait between two looks at the folder when the
	// server has no IDLE, and the longest IDLE (default 1m).
	PollInterval Duration `toml:"poll_interval"`
	// Timeout bounds connecting and each server answer (default 1m).
	Timeout Duration `toml:"timeout"`
	// AfterImport is what happens upstream to an imported message:
	// "keep" (default), "seen" (flag \Seen) or "move:<folder>".
	AfterImport string `toml:"after_import"`
	// DeleteAfterDays, if above 0, removes upstream the imported messages
	// older than that many days (UID EXPUNGE, only with UIDPLUS).
	DeleteAfterDays int `toml:"delete_after_days"`
	// Since is the day ("2006-01-02") the first import starts from; empty:
	// from the first contact on, older mail stays upstream.
	Since string `toml:"since"`
	// AuthenticationResults is the authserv-id of the upstream server
	// ("mx.google.com"): the topmost Authentication-Results field it
	// added is trusted for the DMARC result. Empty: none is trusted.
	AuthenticationResults string `toml:"authentication_results"`
	// SentFolder, if set, is the upstream folder a copy (\Seen) of each
	// reply sent through smtp is appended to; empty: no copy.
	SentFolder string `toml:"sent_folder"`
}

// Account TLS modes (imap_tls, smtp_tls).
const (
	AccountTLSImplicit = "implicit"
	AccountTLSStartTLS = "starttls"
	AccountTLSNone     = "none"
)

// Account defaults.
const (
	DefaultAccountFolder       = "INBOX"
	DefaultAccountPollInterval = time.Minute
	DefaultAccountTimeout      = time.Minute
	AfterImportKeep            = "keep"
	AfterImportSeen            = "seen"
	afterImportMove            = "move:"
)

// MoveFolder is the folder of after_import = "move:<folder>", or "".
func (a *Account) MoveFolder() string {
	f, _ := strings.CutPrefix(a.AfterImport, afterImportMove)
	if f == a.AfterImport {
		return ""
	}
	return f
}

// SinceTime is the day of since, at midnight in the configured timezone
// (zero when since is empty).
func (a *Account) SinceTime(loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t, _ := time.ParseInLocation(time.DateOnly, a.Since, loc)
	return t
}

// SMTPCredentials are the login and password file for smtp.
func (a *Account) SMTPCredentials() (login, passwordFile string) {
	login, passwordFile = a.SMTPLogin, a.SMTPPasswordFile
	if login == "" {
		login = a.Login
	}
	if passwordFile == "" {
		passwordFile = a.PasswordFile
	}
	return login, passwordFile
}

// AccountByQueue is the account that feeds the queue named name, if any.
func (c *Config) AccountByQueue(name string) *Account {
	for i := range c.Account {
		if strings.EqualFold(c.Account[i].Queue, name) {
			return &c.Account[i]
		}
	}
	return nil
}

func (p *parser) defaultAccounts() {
	for i := range p.cfg.Account {
		a := &p.cfg.Account[i]
		a.Address = Canonical(strings.TrimSpace(a.Address))
		if a.IMAPTLS == "" {
			a.IMAPTLS = AccountTLSImplicit
		}
		if a.SMTPTLS == "" {
			a.SMTPTLS = AccountTLSImplicit
		}
		if a.Folder == "" {
			a.Folder = DefaultAccountFolder
		}
		if a.PollInterval.Duration == 0 {
			a.PollInterval.Duration = DefaultAccountPollInterval
		}
		if a.Timeout.Duration == 0 {
			a.Timeout.Duration = DefaultAccountTimeout
		}
		if a.AfterImport == "" {
			a.AfterImport = AfterImportKeep
		}
	}
}

// checkAccounts checks every [[account]]; each message names its key.
func (p *parser) checkAccounts() {
	seen := map[string]string{}
	for i := range p.cfg.Account {
		a := &p.cfg.Account[i]
		key := fmt.Sprintf("account[%d]", i)
		if err := checkAccountAddress(a.Address); err != nil {
			p.errorf(key+".address", "%q: %v", a.Address, err)
		} else if prev, dup := seen[a.Address]; dup {
			p.errorf(key+".address", "%q is already the address of %s", a.Address, prev)
		}
		seen[a.Address] = key
		if p.cfg.QueueByName(a.Queue) == nil {
			p.errorf(key+".queue", "no queue %q: name one of the [[queue]] tables (the account's mail goes there)", a.Queue)
		}
		p.checkAccountServer(key+".imap", a.IMAP, key+".imap_tls", a.IMAPTLS, true)
		p.checkAccountServer(key+".smtp", a.SMTP, key+".smtp_tls", a.SMTPTLS, false)
		if a.Login == "" {
			p.errorf(key+".login", "required: the user name of the upstream account")
		}
		p.checkPasswordFile(key+".password_file", a.PasswordFile, true)
		p.checkPasswordFile(key+".smtp_password_file", a.SMTPPasswordFile, false)
		p.checkAccountTimes(key, a)
		if a.SentFolder != "" && a.SMTP == "" {
			p.errorf(key+".sent_folder", "%q: needs smtp (only replies sent through the account's SMTP are copied)", a.SentFolder)
		}
		if a.AfterImport != AfterImportKeep && a.AfterImport != AfterImportSeen && strings.TrimSpace(a.MoveFolder()) == "" {
			p.errorf(key+".after_import", "%q: want \"keep\", \"seen\" or \"move:<folder>\"", a.AfterImport)
		}
		if strings.ContainsFunc(a.AuthenticationResults, func(r rune) bool { return isControl(r) || r == ' ' || r == ';' }) {
			p.errorf(key+".authentication_results", "%q: want the upstream server's authserv-id, e.g. \"mx.google.com\"", a.AuthenticationResults)
		}
		if strings.ContainsFunc(a.Folder+a.AfterImport, isControl) {
			p.errorf(key+".folder", "the folder names contain a control character")
		}
	}
}

// checkAccountAddress accepts an address of any domain: the account lives
// upstream, not in mxdesk's domains.
func checkAccountAddress(addr string) error {
	if addr == "" {
		return fmt.Errorf("required: the address of the upstream mailbox")
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " <>\",;") {
		return fmt.Errorf("want local@domain")
	}
	return nil
}

// checkAccountServer checks a host:port key and its TLS mode: plaintext
// only to loopback, where no one can read the password on the way.
func (p *parser) checkAccountServer(addrKey, addr, tlsKey, mode string, required bool) {
	switch {
	case addr == "" && required:
		p.errorf(addrKey, "required: host:port of the upstream server, e.g. \"outlook.office365.com:993\"")
	case addr != "":
		if err := checkHostPort(addr); err != nil {
			p.errorf(addrKey, "%q: %v", addr, err)
		}
	}
	switch mode {
	case AccountTLSImplicit, AccountTLSStartTLS:
	case AccountTLSNone:
		if addr != "" && !isLoopback(addr) {
			p.errorf(tlsKey, "\"none\" sends the password in clear: only for a server on loopback, not %q", addr)
		}
	default:
		p.errorf(tlsKey, "%q: want \"implicit\", \"starttls\" or \"none\"", mode)
	}
}

// checkPasswordFile checks that a password file can be read.
func (p *parser) checkPasswordFile(key, path string, required bool) {
	if path == "" {
		if required {
			p.errorf(key, "required: a file holding the account's password (or app password)")
		}
		return
	}
	if _, err := os.ReadFile(path); err != nil {
		p.errorf(key, "cannot read %q: %v", path, err)
	}
}

func (p *parser) checkAccountTimes(key string, a *Account) {
	if a.PollInterval.Duration < time.Second {
		p.errorf(key+".poll_interval", "%s: want at least 1s", a.PollInterval.Duration)
	}
	if a.Timeout.Duration < time.Second {
		p.errorf(key+".timeout", "%s: want at least 1s", a.Timeout.Duration)
	}
	if a.DeleteAfterDays < 0 {
		p.errorf(key+".delete_after_days", "%d: want a number of days, or 0 to never delete", a.DeleteAfterDays)
	}
	if a.Since != "" {
		if _, err := time.Parse(time.DateOnly, a.Since); err != nil {
			p.errorf(key+".since", "%q: want a day, e.g. \"2026-01-31\"", a.Since)
		}
	}
}
