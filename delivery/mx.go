package delivery

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"
)

// newResolver returns the resolver for MX and address lookups: the
// system's, or Go's own sending every query to server ("host:port").
func newResolver(server string, timeout time.Duration) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	d := net.Dialer{Timeout: timeout}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, server)
		},
	}
}

// mxHosts returns the hosts that receive mail for domain, most preferred
// first (RFC 5321 5.1): its MX hosts, or the domain itself when it has no
// MX. A failure applies to every recipient of the domain: permanent for a
// null MX (RFC 7505) or a domain with neither MX nor address, temporary
// when DNS fails.
func (w *Worker) mxHosts(ctx context.Context, domain string) ([]string, *result) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	mxs, err := w.dns.LookupMX(ctx, rooted(domain))
	var hosts []string
	for _, mx := range mxs { // sorted by preference, shuffled within one
		if mx.Host != "." {
			hosts = append(hosts, strings.TrimSuffix(mx.Host, "."))
		}
	}
	switch {
	case len(hosts) > 0:
		return hosts, nil
	case len(mxs) > 0:
		f := localError("", "5.1.10", "%s accepts no mail (null MX)", domain)
		return nil, &f
	case isNotFound(err):
		// No MX: the domain's own address records (implicit MX).
		if _, err := w.lookupIP(ctx, domain); err != nil {
			status := "4.4.3"
			if isNotFound(err) {
				status = "5.1.2"
			}
			f := localError("", status, "%s has no MX and no address: %v", domain, err)
			return nil, &f
		}
		return []string{domain}, nil
	default:
		f := localError("", "4.4.3", "MX lookup for %s: %v", domain, err)
		return nil, &f
	}
}

// lookupIP returns the addresses of host (IPv4 and IPv6).
func (w *Worker) lookupIP(ctx context.Context, host string) ([]string, error) {
	if ip := net.ParseIP(host); ip != nil { // MX records may hold one
		return []string{ip.String()}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	addrs, err := w.dns.LookupIPAddr(ctx, rooted(host))
	if err == nil && len(addrs) == 0 {
		err = &net.DNSError{Err: "no address", Name: host, IsNotFound: true}
	}
	if err != nil {
		return nil, &lookupError{host: host, err: err}
	}
	ips := make([]string, len(addrs))
	for i, a := range addrs {
		ips[i] = a.IP.String()
	}
	return ips, nil
}

type lookupError struct {
	host string
	err  error
}

func (e *lookupError) Error() string { return "address of " + e.host + ": " + e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// rooted makes a name absolute, so no search domain is tried.
func rooted(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}
