package gateway_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// Thunderbird's clientConfig 1.1 as the test reads it: every element the
// format defines for what mxdesk describes, and Other to catch anything
// else (Thunderbird ignores unknown elements, so an unknown one is a typo
// it would silently skip).
type clientConfig struct {
	XMLName   xml.Name        `xml:"clientConfig"`
	Version   string          `xml:"version,attr"`
	Providers []emailProvider `xml:"emailProvider"`
	Other     []anyElement    `xml:",any"`
}

type emailProvider struct {
	ID               string         `xml:"id,attr"`
	Domains          []string       `xml:"domain"`
	DisplayName      []string       `xml:"displayName"`
	DisplayShortName []string       `xml:"displayShortName"`
	Incoming         []serverConfig `xml:"incomingServer"`
	Outgoing         []serverConfig `xml:"outgoingServer"`
	Other            []anyElement   `xml:",any"`
}

type serverConfig struct {
	Type           string       `xml:"type,attr"`
	Hostname       []string     `xml:"hostname"`
	Port           []string     `xml:"port"`
	SocketType     []string     `xml:"socketType"`
	Authentication []string     `xml:"authentication"`
	Username       []string     `xml:"username"`
	Other          []anyElement `xml:",any"`
}

type anyElement struct {
	XMLName xml.Name
}

// Values Thunderbird accepts (its config-file format, version 1.1).
var (
	tbSocketTypes = []string{"plain", "SSL", "STARTTLS"}
	tbAuthMethods = []string{"password-cleartext", "password-encrypted", "NTLM", "GSSAPI", "client-IP-address", "TLS-client-cert", "OAuth2", "none"}
)

// server is what a client is told about one server.
type server struct {
	typ, host string
	port      int
	socket    string
}

// parseClientConfig reads an autoconfig answer strictly and fails on
// anything Thunderbird would not take.
func parseClientConfig(t *testing.T, body []byte) (emailProvider, []server) {
	t.Helper()
	var cc clientConfig
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	if err := dec.Decode(&cc); err != nil {
		t.Fatalf("not XML Thunderbird reads: %v\n%s", err, body)
	}
	if cc.Version != "1.1" || len(cc.Providers) != 1 || len(cc.Other) > 0 {
		t.Fatalf("clientConfig version %q, %d emailProvider, unknown %v", cc.Version, len(cc.Providers), cc.Other)
	}
	p := cc.Providers[0]
	if p.ID == "" || len(p.Domains) == 0 || len(p.DisplayName) != 1 || p.DisplayName[0] == "" || len(p.DisplayShortName) > 1 || len(p.Other) > 0 {
		t.Fatalf("emailProvider: id %q, domains %v, displayName %v, displayShortName %v, unknown %v", p.ID, p.Domains, p.DisplayName, p.DisplayShortName, p.Other)
	}
	var out []server
	for _, s := range p.Incoming {
		out = append(out, checkServer(t, s, "imap", "pop3"))
	}
	for _, s := range p.Outgoing {
		out = append(out, checkServer(t, s, "smtp"))
	}
	return p, out
}

func checkServer(t *testing.T, s serverConfig, types ...string) server {
	t.Helper()
	one := func(name string, v []string) string {
		if len(v) != 1 || strings.TrimSpace(v[0]) == "" {
			t.Fatalf("%s server: want one non-empty <%s>, have %q", s.Type, name, v)
		}
		return v[0]
	}
	if !slices.Contains(types, s.Type) {
		t.Fatalf("server type %q, want one of %v", s.Type, types)
	}
	if len(s.Other) > 0 {
		t.Fatalf("%s server: unknown elements %v", s.Type, s.Other)
	}
	out := server{typ: s.Type, host: one("hostname", s.Hostname), socket: one("socketType", s.SocketType)}
	port, err := strconv.Atoi(one("port", s.Port))
	if err != nil || port < 1 || port > 65535 {
		t.Fatalf("%s server: port %q", s.Type, s.Port)
	}
	out.port = port
	if !slices.Contains(tbSocketTypes, out.socket) {
		t.Fatalf("%s server: socketType %q, want one of %v", s.Type, out.socket, tbSocketTypes)
	}
	if auth := one("authentication", s.Authentication); auth != "password-cleartext" || !slices.Contains(tbAuthMethods, auth) {
		t.Fatalf("%s server: authentication %q, want password-cleartext", s.Type, auth)
	}
	if u := one("username", s.Username); u != "%EMAILADDRESS%" {
		t.Fatalf("%s server: username %q, want %%EMAILADDRESS%%", s.Type, u)
	}
	return out
}

// listenerServer is what the running gateway's listener name should be
// described as.
func listenerServer(t *testing.T, g *gateway.Gateway, name, typ, socket string) server {
	t.Helper()
	host, port, err := net.SplitHostPort(g.Addr(name))
	if err != nil {
		t.Fatalf("listener %s: %v", name, err)
	}
	p, _ := strconv.Atoi(port)
	return server{typ: typ, host: host, port: p, socket: socket}
}

// tlsGateway runs every agent-facing listener with a certificate, and a
// second domain.
func tlsGateway(t *testing.T) *gateway.Gateway {
	t.Helper()
	cfg := testutil.Config(t, "[[domain]]\nname = \"example.org\"\n")
	cfg.Company = "Example Inc."
	cfg.TLS.Cert, cfg.TLS.Key = testutil.TLSFiles(t, t.TempDir())
	cfg.Listen.IMAPS, cfg.Listen.Submission, cfg.Listen.Submissions = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	return startGatewayCfg(t, cfg)
}

func httpDo(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestAutoconfigThunderbird: both autoconfig URLs describe the running
// listeners in the format Thunderbird reads, implicit TLS first.
func TestAutoconfigThunderbird(t *testing.T) {
	g := tlsGateway(t)
	want := []server{
		listenerServer(t, g, "imaps", "imap", "SSL"), listenerServer(t, g, "imap", "imap", "STARTTLS"),
		listenerServer(t, g, "submissions", "smtp", "SSL"), listenerServer(t, g, "submission", "smtp", "STARTTLS"),
	}
	for _, path := range []string{"/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"} {
		resp, body := httpDo(t, "GET", "http://"+g.Addr("http")+path+"?emailaddress=alice%40EXAMPLE.org", "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
			t.Fatalf("GET %s: %s %q", path, resp.Status, resp.Header.Get("Content-Type"))
		}
		p, servers := parseClientConfig(t, body)
		if p.ID != "example.org" || !slices.Equal(p.Domains, []string{"example.test", "example.org"}) || p.DisplayName[0] != "Example Inc." {
			t.Errorf("GET %s: provider %q, domains %v, displayName %v", path, p.ID, p.Domains, p.DisplayName)
		}
		if !slices.Equal(servers, want) {
			t.Errorf("GET %s: servers\n%v\nwant\n%v", path, servers, want)
		}
	}
}

func TestAutoconfigPlainAndForeignDomain(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayCfg(t, cfg)
	base := "http://" + g.Addr("http") + "/mail/config-v1.1.xml"

	resp, body := httpDo(t, "GET", base, "")
	if resp.StatusCode != 200 {
		t.Fatalf("without emailaddress: %s", resp.Status)
	}
	p, servers := parseClientConfig(t, body)
	want := []server{listenerServer(t, g, "imap", "imap", "plain"), listenerServer(t, g, "submission", "smtp", "plain")}
	if p.ID != "example.test" || p.DisplayName[0] != "mx.example.test" || !slices.Equal(servers, want) {
		t.Errorf("without TLS: provider %q %v, servers %v, want %v", p.ID, p.DisplayName, servers, want)
	}

	for _, addr := range []string{"someone@gmail.example", "no-at-sign"} {
		resp, _ := httpDo(t, "GET", base+"?emailaddress="+addr, "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("emailaddress=%s: %s, want 404 so the client looks elsewhere", addr, resp.Status)
		}
	}
}

// The Outlook autodiscover response, read as the test expects it.
type adDocument struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
		Account *struct {
			AccountType string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a AccountType"`
			Action      string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Action"`
			Protocol    []struct {
				Type, Server, DomainRequired, LoginName, SPA, SSL, Encryption, AuthRequired string
				Port                                                                        int
			} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Protocol"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Account"`
		Error *struct {
			ErrorCode int
			Message   string
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Error"`
	}
}

func autodiscoverRequest(address, schema string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%s</EMailAddress>
    <AcceptableResponseSchema>%s</AcceptableResponseSchema>
  </Request>
</Autodiscover>`, address, schema)
}

const outlookSchema = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

func postAutodiscover(t *testing.T, g *gateway.Gateway, path, body string) adDocument {
	t.Helper()
	resp, b := httpDo(t, "POST", "http://"+g.Addr("http")+path, body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s: %s", path, resp.Status, b)
	}
	var doc adDocument
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("POST %s: %v\n%s", path, err, b)
	}
	return doc
}

func TestAutodiscoverOutlook(t *testing.T) {
	g := tlsGateway(t)
	imaps, submissions := listenerServer(t, g, "imaps", "", ""), listenerServer(t, g, "submissions", "", "")
	for _, path := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"} {
		doc := postAutodiscover(t, g, path, autodiscoverRequest("alice@example.test", outlookSchema))
		a := doc.Response.Account
		if a == nil || a.AccountType != "email" || a.Action != "settings" || len(a.Protocol) != 2 {
			t.Fatalf("POST %s: account %+v, error %+v", path, a, doc.Response.Error)
		}
		for i, want := range []struct {
			typ  string
			port int
		}{{"IMAP", imaps.port}, {"SMTP", submissions.port}} {
			p := a.Protocol[i]
			if p.Type != want.typ || p.Server != "127.0.0.1" || p.Port != want.port || p.SSL != "on" || p.Encryption != "SSL" ||
				p.LoginName != "alice@example.test" || p.SPA != "off" || p.AuthRequired != "on" || p.DomainRequired != "off" {
				t.Errorf("POST %s: protocol %d: %+v, want %s on port %d with SSL", path, i, p, want.typ, want.port)
			}
		}
	}
}

func TestAutodiscoverPlainListeners(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayCfg(t, cfg)
	doc := postAutodiscover(t, g, "/autodiscover/autodiscover.xml", autodiscoverRequest("bob@example.test", outlookSchema))
	a := doc.Response.Account
	if a == nil || len(a.Protocol) != 2 {
		t.Fatalf("account %+v", a)
	}
	for _, p := range a.Protocol {
		if p.SSL != "off" || p.Encryption != "None" {
			t.Errorf("%s without a certificate: SSL %q Encryption %q, want off and None", p.Type, p.SSL, p.Encryption)
		}
	}
}

func TestAutodiscoverRefusals(t *testing.T) {
	cfg := testutil.Config(t, "")
	g := startGatewayCfg(t, cfg)
	url := "http://" + g.Addr("http") + "/autodiscover/autodiscover.xml"
	for _, tc := range []struct{ name, body string }{
		{"foreign domain", autodiscoverRequest("someone@elsewhere.example", outlookSchema)},
		{"ActiveSync schema", autodiscoverRequest("alice@example.test", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006")},
		{"no address", autodiscoverRequest("", outlookSchema)},
	} {
		doc := postAutodiscover(t, g, "/autodiscover/autodiscover.xml", tc.body)
		if doc.Response.Account != nil || doc.Response.Error == nil || doc.Response.Error.ErrorCode != 600 {
			t.Errorf("%s: %+v, want error 600", tc.name, doc.Response)
		}
	}
	for _, tc := range []struct {
		name, method, body string
		status             int
	}{
		{"GET", "GET", "", http.StatusMethodNotAllowed},
		{"not XML", "POST", "hello", http.StatusBadRequest},
		{"too large", "POST", autodiscoverRequest(strings.Repeat("a", 20<<10)+"@example.test", outlookSchema), http.StatusRequestEntityTooLarge},
	} {
		resp, body := httpDo(t, tc.method, url, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s, want %d: %s", tc.name, resp.Status, tc.status, body)
		}
	}
}
