package msgauth

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// dnsServer is a real DNS server on loopback (UDP and TCP on one port)
// answering from its table. A name with no record at all is NXDOMAIN, a
// known name without the asked type is an empty NOERROR answer, and a name
// in drop gets no answer ever, as from a dead server.
type dnsServer struct {
	addr string

	mu   sync.Mutex
	rrs  map[string][]dns.RR // by lower-case FQDN
	drop map[string]bool
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	d := &dnsServer{rrs: map[string][]dns.RR{}, drop: map[string]bool{}}
	pc, ln := listenUDPTCP(t)
	d.addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: d}, {Listener: ln, Handler: d}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return d
}

// listenUDPTCP binds a UDP and a TCP socket on the same loopback port.
func listenUDPTCP(t *testing.T) (net.PacketConn, net.Listener) {
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		if try == 10 {
			t.Fatal(err)
		}
	}
}

// silentDNS returns the address of a DNS server that never answers: a UDP
// socket nobody reads and a TCP listener nobody accepts on.
func silentDNS(t *testing.T) string {
	pc, ln := listenUDPTCP(t)
	t.Cleanup(func() { pc.Close(); ln.Close() })
	return pc.LocalAddr().String()
}

// add publishes records in zone-file syntax, e.g.
// `example.com. TXT "v=spf1 -all"` or `example.com. MX 10 mx.example.com.`.
func (d *dnsServer) add(t *testing.T, records ...string) {
	t.Helper()
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("record %q: %v", s, err)
		}
		d.put(rr)
	}
}

// addTXT publishes one TXT record of any length, split into character
// strings of at most 255 octets (RFC 1035 3.3.14) as DKIM keys need.
func (d *dnsServer) addTXT(name, value string) {
	var parts []string
	for len(value) > 255 {
		parts, value = append(parts, value[:255]), value[255:]
	}
	d.put(&dns.TXT{
		Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
		Txt: append(parts, value),
	})
}

func (d *dnsServer) put(rr dns.RR) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := strings.ToLower(rr.Header().Name)
	d.rrs[name] = append(d.rrs[name], rr)
}

// dropQueries makes queries for name go unanswered.
func (d *dnsServer) dropQueries(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.drop[strings.ToLower(dns.Fqdn(name))] = true
}

func (d *dnsServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	d.mu.Lock()
	rrs, known, drop := d.rrs[name], d.rrs[name] != nil, d.drop[name]
	d.mu.Unlock()
	if drop {
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if !known {
		m.Rcode = dns.RcodeNameError
	}
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype {
			m.Answer = append(m.Answer, rr)
		}
	}
	w.WriteMsg(m)
}
