package gateway

// Client set-up (SPEC §13): Thunderbird's autoconfig and Outlook's
// autodiscover (the "POX" XML protocol) on the HTTP listener, so that an
// agent types only an address and a password. Both describe the IMAP and
// submission listeners that are on: the host name is `hostname` (or the
// loopback address a listener is bound to, which only that machine can
// reach anyway), the ports those of [listen], and the TLS mode implicit
// TLS for imaps/submissions, STARTTLS for imap/submission with a
// certificate, plain without one.

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Thunderbird's autoconfig paths: autoconfig.<domain>/mail/config-v1.1.xml
// and <domain>/.well-known/autoconfig/mail/config-v1.1.xml.
// Outlook asks /autodiscover/autodiscover.xml (written either way).
var (
	autoconfigPaths   = []string{"/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"}
	autodiscoverPaths = []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"}
)

// maxAutodiscoverBody bounds an autodiscover request: it is a few lines.
const maxAutodiscoverBody = 16 << 10

// Socket types, as Thunderbird names them.
const (
	socketSSL      = "SSL" // implicit TLS
	socketSTARTTLS = "STARTTLS"
	socketPlain    = "plain"
)

// clientServer is a listener as a mail client should be told of it.
type clientServer struct {
	proto  string // "imap" or "smtp"
	host   string
	port   int
	socket string // socketSSL, socketSTARTTLS or socketPlain
}

// clientServers lists the IMAP and submission listeners that are on,
// implicit TLS first (what Thunderbird prefers, and what Outlook takes
// when it reads only the first of a kind).
func (g *Gateway) clientServers() []clientServer {
	plainOrTLS := socketPlain
	if g.tls != nil {
		plainOrTLS = socketSTARTTLS
	}
	var out []clientServer
	for _, l := range []struct{ name, proto, socket string }{
		{"imaps", "imap", socketSSL}, {"imap", "imap", plainOrTLS},
		{"submissions", "smtp", socketSSL}, {"submission", "smtp", plainOrTLS},
	} {
		if s, ok := g.clientServer(l.name); ok {
			s.proto, s.socket = l.proto, l.socket
			out = append(out, s)
		}
	}
	return out
}

// clientServer is the host and port of listener name, its bound address
// once started (port 0 in tests), else the configured one.
func (g *Gateway) clientServer(name string) (clientServer, bool) {
	addr := g.Addr(name)
	if addr == "" {
		for _, l := range g.config().Listen.Enabled() {
			if l.Name == name {
				addr = l.Addr
			}
		}
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return clientServer{}, false
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port == 0 { // 0: not bound yet, no port to name
		return clientServer{}, false
	}
	s := clientServer{host: g.config().Hostname, port: port}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		s.host = host // the demo on loopback: hostname would not reach it
	}
	return s, true
}

// ourDomain tells whether address is in one of the configured domains,
// and returns that domain. An empty address asks for no domain in
// particular (ok, domain "").
func (g *Gateway) ourDomain(address string) (domain string, ok bool) {
	if address == "" {
		return "", true
	}
	i := strings.LastIndexByte(address, '@')
	if i < 0 {
		return "", false
	}
	domain = strings.ToLower(strings.TrimSuffix(address[i+1:], "."))
	return domain, g.config().IsLocalDomain(domain)
}

func registerAutoconfig(mux *http.ServeMux, g *Gateway) {
	for _, p := range autoconfigPaths {
		mux.HandleFunc("GET "+p, g.autoconfig)
	}
	for _, p := range autodiscoverPaths {
		mux.HandleFunc("POST "+p, g.autodiscover)
		// Outlook POSTs; a GET is someone trying the URL by hand.
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", "POST")
			http.Error(w, "autodiscover takes a POST with an Outlook autodiscover request", http.StatusMethodNotAllowed)
		})
	}
}

// Thunderbird's clientConfig format, version 1.1.
type tbClientConfig struct {
	XMLName  xml.Name   `xml:"clientConfig"`
	Version  string     `xml:"version,attr"`
	Provider tbProvider `xml:"emailProvider"`
}

type tbProvider struct {
	ID               string     `xml:"id,attr"`
	Domains          []string   `xml:"domain"`
	DisplayName      string     `xml:"displayName"`
	DisplayShortName string     `xml:"displayShortName"`
	Incoming         []tbServer `xml:"incomingServer"`
	Outgoing         []tbServer `xml:"outgoingServer"`
}

type tbServer struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Authentication string `xml:"authentication"`
	Username       string `xml:"username"`
}

// autoconfig answers Thunderbird (GET ...config-v1.1.xml?emailaddress=):
// every configured domain, the provider ID the address's domain (or the
// first configured one). An address in a domain mxdesk does not serve gets
// 404, so that the client goes on to its other sources.
func (g *Gateway) autoconfig(w http.ResponseWriter, req *http.Request) {
	domain, ok := g.ourDomain(req.URL.Query().Get("emailaddress"))
	if !ok {
		http.Error(w, "not a domain of this server", http.StatusNotFound)
		return
	}
	p := tbProvider{DisplayName: g.config().Company, DisplayShortName: g.config().Company}
	if p.DisplayName == "" {
		p.DisplayName, p.DisplayShortName = g.config().Hostname, g.config().Hostname
	}
	for _, d := range g.config().Domain {
		p.Domains = append(p.Domains, strings.ToLower(d.Name))
	}
	p.ID = domain
	if p.ID == "" && len(p.Domains) > 0 {
		p.ID = p.Domains[0]
	}
	for _, s := range g.clientServers() {
		ts := tbServer{Type: s.proto, Hostname: s.host, Port: s.port, SocketType: s.socket,
			Authentication: "password-cleartext", Username: "%EMAILADDRESS%"}
		if s.proto == "imap" {
			p.Incoming = append(p.Incoming, ts)
		} else {
			p.Outgoing = append(p.Outgoing, ts)
		}
	}
	writeXML(w, tbClientConfig{Version: "1.1", Provider: p})
}

// Outlook's autodiscover (POX): the request, and the response in the
// "outlook" schema (its namespaces are in the XMLName tags).
const adOutlookNS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

type adRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string
		AcceptableResponseSchema string
	}
}

type adDocument struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response adResponse
}

type adResponse struct {
	XMLName xml.Name   `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
	Account *adAccount `xml:",omitempty"`
	Error   *adError   `xml:",omitempty"`
}

type adAccount struct {
	AccountType string
	Action      string
	Protocol    []adProtocol
}

type adProtocol struct {
	Type           string
	Server         string
	Port           int
	DomainRequired string
	LoginName      string
	SPA            string
	SSL            string
	Encryption     string
	AuthRequired   string
}

type adError struct {
	ErrorCode int
	Message   string
}

// autodiscover answers Outlook (POST /autodiscover/autodiscover.xml):
// the first IMAP and the first submission listener, logging in with the
// address asked about. An address mxdesk does not serve, or a request for
// another response schema (Exchange ActiveSync), gets autodiscover's
// error 600 "Invalid Request"; a body that is not an autodiscover request
// gets 400.
func (g *Gateway) autodiscover(w http.ResponseWriter, req *http.Request) {
	var ad adRequest
	err := xml.NewDecoder(http.MaxBytesReader(w, req.Body, maxAutodiscoverBody)).Decode(&ad)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil: // io.EOF: no element at all
		http.Error(w, "not an autodiscover request: "+err.Error(), http.StatusBadRequest)
		return
	}
	address := strings.TrimSpace(ad.Request.EMailAddress)
	if schema := strings.TrimSpace(ad.Request.AcceptableResponseSchema); schema != "" && schema != adOutlookNS {
		writeXML(w, adDocument{Response: adResponse{Error: &adError{600, "Invalid Request: only the Outlook response schema is served"}}})
		return
	}
	if _, ok := g.ourDomain(address); !ok || address == "" {
		writeXML(w, adDocument{Response: adResponse{Error: &adError{600, fmt.Sprintf("Invalid Request: %q is not an address of this server", address)}}})
		return
	}
	acct := &adAccount{AccountType: "email", Action: "settings"}
	seen := map[string]bool{}
	for _, s := range g.clientServers() {
		if seen[s.proto] {
			continue
		}
		seen[s.proto] = true
		acct.Protocol = append(acct.Protocol, adServer(s, address))
	}
	writeXML(w, adDocument{Response: adResponse{Account: acct}})
}

func adServer(s clientServer, login string) adProtocol {
	p := adProtocol{Type: strings.ToUpper(s.proto), Server: s.host, Port: s.port, DomainRequired: "off",
		LoginName: login, SPA: "off", SSL: "on", AuthRequired: "on"}
	switch s.socket {
	case socketSSL:
		p.Encryption = "SSL"
	case socketSTARTTLS:
		p.Encryption = "TLS"
	default:
		p.SSL, p.Encryption = "off", "None"
	}
	return p
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	enc.Encode(v) // an error here is the client gone
}
