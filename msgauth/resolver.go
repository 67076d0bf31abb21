package msgauth

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"
)

// lookuper is what the checks need from DNS. It matches
// blitiri.com.ar/go/spf's DNSResolver, so one value serves SPF, DKIM and
// DMARC; tests and fuzz targets may substitute their own.
type lookuper interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// resolver bounds every lookup by a timeout and reports errors the way the
// libraries expect them: a *net.DNSError that is either IsNotFound (the
// name or the record does not exist) or Temporary (anything else: timeout,
// SERVFAIL, unreachable server, cancelled context). That keeps "DNS
// failed" apart from "no record" in SPF (RFC 7208 2.6.6 temperror vs 4.3
// none), DKIM (RFC 6376 6.1.2) and DMARC (RFC 7489 6.6.3).
type resolver struct {
	r       *net.Resolver
	timeout time.Duration
}

// newResolver returns the system's resolver, or Go's own sending every
// query to server ("host:port").
func newResolver(server string, timeout time.Duration) *resolver {
	if server == "" {
		return &resolver{r: net.DefaultResolver, timeout: timeout}
	}
	d := net.Dialer{Timeout: timeout}
	return &resolver{timeout: timeout, r: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, server)
		},
	}}
}

func (r *resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	txts, err := r.r.LookupTXT(ctx, rooted(name))
	return txts, dnsError(name, err)
}

func (r *resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	mxs, err := r.r.LookupMX(ctx, rooted(name))
	return mxs, dnsError(name, err)
}

func (r *resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ips, err := r.r.LookupIPAddr(ctx, rooted(host))
	return ips, dnsError(host, err)
}

func (r *resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	names, err := r.r.LookupAddr(ctx, addr)
	return names, dnsError(addr, err)
}

// rooted makes name absolute so that no search domain of resolv.conf is
// tried after it.
func rooted(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// dnsError normalizes err (see resolver). The libraries test the concrete
// type (err.(*net.DNSError)), so the result is never wrapped.
func dnsError(name string, err error) error {
	if err == nil {
		return nil
	}
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	timeout := errors.Is(err, context.DeadlineExceeded) || (de != nil && de.IsTimeout)
	msg := err.Error()
	if de != nil {
		msg = de.Err
	}
	return &net.DNSError{Err: msg, Name: name, IsTemporary: true, IsTimeout: timeout}
}
