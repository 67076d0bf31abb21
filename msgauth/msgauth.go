// Package msgauth authenticates the sender of an inbound message (SPEC §2
// step 3): SPF on the envelope sender (RFC 7208, blitiri.com.ar/go/spf),
// DKIM signatures (RFC 6376, go-msgauth/dkim) and DMARC on the From
// domain (RFC 7489: record lookup by go-msgauth/dmarc; organizational
// domain, alignment and policy here). The verdicts come back as data and
// as our Authentication-Results header field (RFC 8601); what to do with
// a DMARC failure is the caller's decision.
//
// Every DNS query goes to one resolver, is bounded by Options.Timeout and
// the caller's context, and a DNS failure is a temperror, never a fail.
//
// Use, in the SMTP DATA handler:
//
//	res := checker.Check(ctx, msgauth.Input{IP: ip, Helo: helo, MailFrom: from, Message: raw})
//	raw = msgauth.StripAuthResultsRaw(raw, hostname) // after Check: DKIM sees the message as sent
//	// prepend res.AuthResults (and Received) to raw;
//	// refuse or quarantine when res.DMARC.Result == "fail", by res.DMARC.Policy
package msgauth

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"mxdesk/panics"
)

// Options configure a Checker.
type Options struct {
	Resolver string           // DNS server "host:port"; "" = the system's resolver
	Timeout  time.Duration    // per DNS lookup; 0 = 5s
	Hostname string           // our authserv-id in Authentication-Results; "" = os.Hostname
	Now      func() time.Time // clock for DKIM expiry (x=); nil = time.Now
	Logger   *slog.Logger     // where a check's recovered panic is logged; nil = slog.Default

	// MaxDKIMBytes bounds the message size DKIM verification reads and
	// hashes; signatures of a larger message get "policy". 0 = 64 MiB.
	MaxDKIMBytes int64
}

// Checker runs the checks. It is safe for concurrent use.
type Checker struct {
	dns     lookuper
	timeout time.Duration
	host    string
	now     func() time.Time
	maxDKIM int64
	log     *slog.Logger
}

// New returns a Checker for o.
func New(o Options) *Checker {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxDKIMBytes <= 0 {
		o.MaxDKIMBytes = defaultMaxDKIMBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Checker{dns: newResolver(o.Resolver, o.Timeout), timeout: o.Timeout,
		host: o.Hostname, now: o.Now, maxDKIM: o.MaxDKIMBytes, log: o.Logger}
}

// Input is what the SMTP session knows about a message.
type Input struct {
	IP       net.IP // the client's address
	Helo     string // its HELO/EHLO name
	MailFrom string // envelope sender; "" = null reverse-path
	Message  []byte // the raw message as received, before we add any field
}

// Result holds the verdicts. Result values are those of RFC 8601 2.7.
type Result struct {
	// AuthResults is the complete Authentication-Results field, name
	// included, folded and ending in CRLF, ready to prepend to the message.
	AuthResults string
	SPF         string // none, neutral, pass, fail, softfail, temperror, permerror
	DKIM        []DKIMResult
	DMARC       DMARCResult
}

// DKIMResult is the verdict on one DKIM-Signature field.
type DKIMResult struct {
	Domain   string // d=
	Selector string // s=
	Result   string // pass, fail, policy, temperror, permerror
	Reason   string // why it did not pass; "" on pass
}

// DMARCResult is the DMARC verdict on the From domain.
type DMARCResult struct {
	Result string // pass, fail, none, temperror, permerror
	// Policy is what the domain asks for a failing message: the record's
	// p=, or sp= for a subdomain under its organizational domain's record,
	// lowered one step when pct<100. "none" without a usable record.
	Policy string
	Domain string // the From domain; "" when there is no single one
	// Reason explains the verdict in one line, e.g. "SPF softfail for
	// bounce.example.com, no aligned DKIM signature". It holds no control
	// characters, so it may go into an SMTP reply.
	Reason string
}

// Check authenticates one message. SPF, DKIM and the DMARC record lookup
// run concurrently; Check returns when all three are done, which ctx and
// Options.Timeout bound.
func (c *Checker) Check(ctx context.Context, in Input) Result {
	fields, _ := splitHeader(in.Message)
	from, fromErr := fromDomain(fields)

	var (
		wg   sync.WaitGroup
		spfO spfOutcome
		sigs []DKIMResult
		pol  policyRecord
	)
	wg.Go(func() {
		defer c.recoverAs("spf", func(msg string) { spfO = spfOutcome{result: "temperror", mailFrom: in.MailFrom, helo: in.Helo} })
		spfO = c.checkSPF(ctx, in)
	})
	wg.Go(func() {
		defer c.recoverAs("dkim", func(msg string) { sigs = []DKIMResult{{Result: "temperror", Reason: msg}} })
		sigs = c.checkDKIM(ctx, in.Message, fields)
	})
	if fromErr == nil {
		wg.Go(func() {
			defer c.recoverAs("dmarc", func(msg string) { pol = policyRecord{failed: "temperror", why: msg} })
			pol = c.lookupPolicy(ctx, from)
		})
	}
	wg.Wait()

	d := evaluate(from, fromErr, pol, spfO, sigs)
	return Result{
		AuthResults: formatAuthResults(c.host, spfO, sigs, d),
		SPF:         spfO.result,
		DKIM:        sigs,
		DMARC:       d,
	}
}

// recoverAs turns a panic in check into a temperror through set, so a
// library bug shows on one message instead of bringing the server down.
func (c *Checker) recoverAs(check string, set func(msg string)) {
	if v := recover(); v != nil {
		panics.Recovered(c.log, panics.MsgAuth, "panic in a sender authentication check", v, "check", check)
		set(clean(fmt.Sprintf("internal error: %v", v)))
	}
}
