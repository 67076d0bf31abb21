package delivery

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

// send delivers raw (signed now) to targets: through the smarthost in one
// transaction, or to each recipient domain's MX. After every transaction
// but the last, the recipients it delivered are committed at once; those
// of the last transaction are returned in last for the caller's commit.
// err is a failed commit, after which nothing more was sent.
func (w *Worker) send(ctx context.Context, ob store.Outbound, raw []byte, targets []string) (results []result, last []string, err error) {
	sig, err := w.sign(raw)
	if err != nil {
		f := localError("", "5.3.0", "DKIM signing failed: %v", err)
		return failAll(targets, f), nil, nil
	}
	msg := outgoing{sig: sig, raw: raw}
	if acct := w.account(ob.Queue); acct != nil && acct.SMTP != "" {
		results = w.viaAccount(ctx, acct, ob.From, targets, msg)
		return results, delivered(results), nil
	}
	if w.cfg.Delivery.Smarthost != "" {
		results = w.viaSmarthost(ctx, ob.From, targets, msg)
		return results, delivered(results), nil
	}
	groups := byDomain(targets)
	for i, g := range groups {
		res := w.toDomain(ctx, g.domain, ob.From, g.rcpts, msg)
		results = append(results, res...)
		last = delivered(res)
		if i == len(groups)-1 || len(last) == 0 {
			continue
		}
		if _, err := w.record(ctx, ob.ID, router.OutboundProgress{Done: last}); err != nil {
			for _, rest := range groups[i+1:] {
				results = append(results, failAll(rest.rcpts, localError("", "4.3.0", "not attempted: %v", err))...)
			}
			return results, last, err
		}
		last = nil
	}
	return results, last, nil
}

func delivered(results []result) []string {
	var out []string
	for _, r := range results {
		if r.ok() {
			out = append(out, r.rcpt)
		}
	}
	return out
}

// outgoing is what goes after DATA: the DKIM-Signature field, if any,
// then the message as stored.
type outgoing struct {
	sig []byte
	raw []byte
}

func (m outgoing) size() int { return len(m.sig) + len(m.raw) }

// viaSmarthost sends everything through [delivery] smarthost. A session
// that can't be set up (connection, TLS, AUTH) is a temporary failure
// whatever its reply code: it is the configuration's or the smarthost's
// problem, not the recipients'.
func (w *Worker) viaSmarthost(ctx context.Context, from string, rcpts []string, msg outgoing) []result {
	d := w.cfg.Delivery
	return w.viaRelay(ctx, "smarthost", d.Smarthost, d.SmarthostTLS, w.auth, from, rcpts, msg)
}

// viaAccount sends a reply of an [[account]]'s queue through the
// account's SMTP, logged in as the account; failures are temporary, as
// with the smarthost.
func (w *Worker) viaAccount(ctx context.Context, a *config.Account, from string, rcpts []string, msg outgoing) []result {
	login, passwordFile := a.SMTPCredentials()
	password, err := config.ReadSecret(passwordFile)
	if err != nil {
		return failAll(rcpts, localError("", "4.4.1", "account %s: smtp_password_file: %v", a.Address, err))
	}
	auth := func() sasl.Client { return sasl.NewPlainClient("", login, password) }
	return w.viaRelay(ctx, "account "+a.Address+" smtp", a.SMTP, a.SMTPTLS, auth, from, rcpts, msg)
}

// viaRelay sends everything through one relay (what names it in errors)
// in its TLS mode ("implicit", "none", else STARTTLS required).
func (w *Worker) viaRelay(ctx context.Context, what, addr, mode string, auth func() sasl.Client, from string, rcpts []string, msg outgoing) []result {
	host, _, _ := net.SplitHostPort(addr)
	t := target{addr: addr, host: host, auth: auth}
	switch mode {
	case config.TLSImplicit:
		t.mode = tlsImplicit
	case config.TLSNone:
		t.mode = tlsOff
	default:
		t.mode = tlsRequired
	}
	c, err := w.open(ctx, t)
	if err != nil {
		return failAll(rcpts, localError("", "4.4.1", "%s %s: %v", what, addr, err))
	}
	defer c.close()
	return c.transact(from, rcpts, msg)
}

// domainGroup is the recipients of one domain: one transaction.
type domainGroup struct {
	domain string
	rcpts  []string
}

// byDomain groups recipients by lower-case domain, in order of first
// appearance.
func byDomain(rcpts []string) []domainGroup {
	var groups []domainGroup
	for _, rcpt := range rcpts {
		domain := strings.ToLower(rcpt[strings.LastIndexByte(rcpt, '@')+1:])
		i := slices.IndexFunc(groups, func(g domainGroup) bool { return g.domain == domain })
		if i < 0 {
			groups = append(groups, domainGroup{domain: domain})
			i = len(groups) - 1
		}
		groups[i].rcpts = append(groups[i].rcpts, rcpt)
	}
	return groups
}

// toDomain delivers to domain's MX hosts in preference order (RFC 5321
// 5.1), each of their addresses in turn, until one lets us start a mail
// transaction; that transaction's replies are the results.
func (w *Worker) toDomain(ctx context.Context, domain, from string, rcpts []string, msg outgoing) []result {
	hosts, fail := w.mxHosts(ctx, domain)
	if fail != nil {
		return failAll(rcpts, *fail)
	}
	port := strconv.Itoa(w.cfg.Delivery.MXPort)
	var tried []string
	for _, host := range hosts {
		ips, err := w.lookupIP(ctx, host)
		if err != nil {
			tried = append(tried, err.Error())
			continue
		}
		for _, ip := range ips {
			t := target{addr: net.JoinHostPort(ip, port), host: host, mode: tlsOpportunistic}
			c, err := w.open(ctx, t)
			if errors.Is(err, errTLS) {
				w.log.Info("delivery: TLS failed, going on in clear text", "host", host, "ip", ip, "err", err)
				t.mode = tlsOff
				c, err = w.open(ctx, t)
			}
			if err != nil {
				tried = append(tried, host+" ["+ip+"]: "+err.Error())
				if ctx.Err() != nil {
					break
				}
				continue
			}
			defer c.close()
			return c.transact(from, rcpts, msg)
		}
	}
	return failAll(rcpts, localError("", "4.4.1", "no MX of %s took the message: %s", domain, strings.Join(tried, "; ")))
}

// transact runs one mail transaction for rcpts and returns each one's
// result: the RCPT reply if it was refused, else the reply to the data.
func (c *conn) transact(from string, rcpts []string, msg outgoing) []result {
	utf8 := !isASCII(from) || slices.ContainsFunc(rcpts, func(s string) bool { return !isASCII(s) })
	if ok, _ := c.Extension("SMTPUTF8"); utf8 && !ok {
		return failAll(rcpts, result{remote: c.remote, tls: c.tls, status: "5.6.7", perm: true,
			text: "the server does not support SMTPUTF8, which these addresses need"})
	}
	if err := c.Mail(from, &smtp.MailOptions{Size: int64(msg.size()), UTF8: utf8}); err != nil {
		return c.replyAll(rcpts, err)
	}
	out := make([]result, 0, len(rcpts))
	var accepted []string
	for i, rcpt := range rcpts {
		err := c.Rcpt(rcpt, nil)
		if err == nil {
			accepted = append(accepted, rcpt)
			continue
		}
		if !isReply(err) { // the connection broke: the rest got nothing
			return append(out, c.replyAll(append(accepted, rcpts[i:]...), err)...)
		}
		out = append(out, c.reply(rcpt, 0, "", err))
	}
	if len(accepted) == 0 {
		c.Quit()
		return out
	}
	text, err := c.data(msg)
	for _, rcpt := range accepted {
		out = append(out, c.reply(rcpt, 250, text, err))
	}
	if err == nil || isReply(err) {
		c.Quit()
	}
	return out
}

// data sends the message and returns the server's final reply text.
func (c *conn) data(msg outgoing) (string, error) {
	wc, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := wc.Write(msg.sig); err != nil {
		wc.Close()
		return "", err
	}
	if _, err := wc.Write(msg.raw); err != nil {
		wc.Close()
		return "", err
	}
	resp, err := wc.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

func isReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
