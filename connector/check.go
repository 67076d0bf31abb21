package connector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
)

// Check is one step of "mxdesk account test": what was tried, and on
// failure the config key to look at and why.
type Check struct {
	Step string // "imap connect", "imap tls", "imap login", "folder", "smtp connect", …
	Key  string // the key a failure is about ("account[0].login"); "" when it passed
	Err  error
}

// CheckAccount tries both directions of the account numbered index in
// the configuration, now: IMAP connect, TLS, login and the folder opened
// read-only (EXAMINE); SMTP connect, TLS and AUTH, then QUIT without
// sending anything. Checks stop at the first failure of each direction
// (what follows it cannot be tried).
func CheckAccount(ctx context.Context, a config.Account, index int, hostname string) []Check {
	key := fmt.Sprintf("account[%d]", index)
	checks := checkIMAP(ctx, a, key)
	if a.SMTP != "" {
		checks = append(checks, checkSMTP(ctx, a, key, hostname)...)
	}
	return checks
}

// checker collects the steps of one direction.
type checker struct {
	checks []Check
}

// step records a step; it says whether it passed.
func (c *checker) step(name, key string, err error) bool {
	if err == nil {
		key = ""
	}
	c.checks = append(c.checks, Check{Step: name, Key: key, Err: err})
	return err == nil
}

func checkIMAP(ctx context.Context, a config.Account, key string) []Check {
	var c checker
	w := &worker{acct: a}
	conn, cl, err := w.dial(ctx, make(chan struct{}, 1))
	if err != nil {
		c.step("imap connect", imapDialKey(key, a, err), err)
		return c.checks
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c.step("imap connect", "", nil)
	if a.IMAPTLS != config.AccountTLSNone {
		c.step("imap tls "+a.IMAPTLS, "", nil)
	}
	password, err := config.ReadSecret(a.PasswordFile)
	if !c.step("imap password", key+".password_file", err) {
		return c.checks
	}
	if err := cl.Login(a.Login, password).Wait(); err != nil {
		c.step("imap login", key+".login/.password_file", fmt.Errorf("login failed for %q: %w", a.Login, err))
		return c.checks
	}
	c.step("imap login", "", nil)
	_, err = cl.Select(a.Folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		err = fmt.Errorf("folder %q: %w", a.Folder, err)
	}
	c.step("folder "+a.Folder, key+".folder", err)
	cl.Logout().Wait()
	return c.checks
}

// imapDialKey names the key of a failed dial: the address when no
// connection was made, else the TLS mode (the handshake or greeting
// failed).
func imapDialKey(key string, a config.Account, err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" || a.IMAPTLS == config.AccountTLSNone {
		return key + ".imap"
	}
	return key + ".imap_tls"
}

func checkSMTP(ctx context.Context, a config.Account, key, hostname string) []Check {
	var c checker
	d := net.Dialer{Timeout: a.Timeout.Duration}
	raw, err := d.DialContext(ctx, "tcp", a.SMTP)
	if !c.step("smtp connect", key+".smtp", err) {
		return c.checks
	}
	conn := &deadlineConn{Conn: raw}
	conn.setTimeout(a.Timeout.Duration)
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	defer raw.Close()
	cl, err := smtpSession(ctx, conn, a, hostname)
	if a.SMTPTLS != config.AccountTLSNone && !c.step("smtp tls "+a.SMTPTLS, key+".smtp_tls", err) {
		return c.checks
	}
	if a.SMTPTLS == config.AccountTLSNone && !c.step("smtp greeting", key+".smtp", err) {
		return c.checks
	}
	login, passwordFile := a.SMTPCredentials()
	password, err := config.ReadSecret(passwordFile)
	if !c.step("smtp password", key+".smtp_password_file", err) {
		return c.checks
	}
	if err := cl.Auth(sasl.NewPlainClient("", login, password)); err != nil {
		c.step("smtp auth", key+".smtp_login/.smtp_password_file", fmt.Errorf("AUTH PLAIN as %q: %w", login, err))
		return c.checks
	}
	c.step("smtp auth", "", nil)
	cl.Quit()
	return c.checks
}

// smtpSession opens the SMTP session up to EHLO in the account's TLS
// mode.
func smtpSession(ctx context.Context, conn net.Conn, a config.Account, hostname string) (*smtp.Client, error) {
	host, _, _ := net.SplitHostPort(a.SMTP)
	tlsCfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	var cl *smtp.Client
	switch a.SMTPTLS {
	case config.AccountTLSImplicit:
		tc := tls.Client(conn, tlsCfg)
		hctx, cancel := context.WithTimeout(ctx, a.Timeout.Duration)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			return nil, fmt.Errorf("smtp %s: TLS: %w", a.SMTP, err)
		}
		cl = smtp.NewClient(tc)
	case config.AccountTLSStartTLS:
		// go-smtp says EHLO localhost before STARTTLS: enough for a check.
		var err error
		if cl, err = smtp.NewClientStartTLS(conn, tlsCfg); err != nil {
			return nil, fmt.Errorf("smtp %s: STARTTLS: %w", a.SMTP, err)
		}
		return cl, nil
	default:
		cl = smtp.NewClient(conn)
	}
	cl.CommandTimeout, cl.SubmissionTimeout = a.Timeout.Duration, a.Timeout.Duration
	if err := cl.Hello(hostname); err != nil {
		return nil, fmt.Errorf("smtp %s: EHLO: %w", a.SMTP, err)
	}
	return cl, nil
}
