package config

import (
	"strings"
	"testing"
)

// routesOf parses base with the [[route]] tables given.
func routesOf(t *testing.T, tables string) []Route {
	t.Helper()
	c, errs := parse(t, base+"\n"+tables)
	if errs != nil {
		t.Fatalf("config with routes:\n%s\n%v", tables, errs)
	}
	return c.Route
}

// headers is a header lookup for Route.Match; field names are compared
// without regard to case, as in a message header.
func headers(kv ...string) func(string) string {
	return func(name string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if strings.EqualFold(kv[i], name) {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestRouteMatch(t *testing.T) {
	routes := routesOf(t, `
[[route]] # 0
from = '^ceo@bigcustomer\.com$'
queue = "billing"

[[route]] # 1
domain = '^(.+\.)?vip\.example$'
queue = "Billing"

[[route]] # 2
subject = '\b(viagra|lottery)\b'
spam = true

[[route]] # 3
header = "x-spam-flag"
header_pattern = '^yes$'
spam = true

[[route]] # 4: every pattern must match
domain = '^partner\.test$'
subject = '^\[urgent\]'
header = "X-Priority"
header_pattern = '^1'
queue = "Support"
spam = false

[[route]] # 5
header = "List-Id"
header_pattern = '^$'
queue = "Support"
`)
	if routes[0].Queue != "Billing" {
		t.Errorf("route queue = %q, want the queue's own spelling", routes[0].Queue)
	}
	if routes[3].Header != "X-Spam-Flag" {
		t.Errorf("route header = %q, want the canonical field name", routes[3].Header)
	}
	none := headers()
	tests := []struct {
		route   int
		sender  string
		subject string
		header  func(string) string
		want    bool
	}{
		{0, "ceo@bigcustomer.com", "hi", none, true},
		{0, "CEO@BigCustomer.com", "hi", none, true}, // case-insensitive
		{0, "xceo@bigcustomer.com", "hi", none, false},
		{0, "ceo@bigcustomer.com.evil.test", "hi", none, false},

		{1, "anna@vip.example", "", none, true},
		{1, "anna@eu.vip.example", "", none, true},
		{1, "anna@VIP.Example", "", none, true},
		{1, "anna@notvip.example", "", none, false},
		{1, "vip.example@other.test", "", none, false}, // the domain is after the last '@'
		{1, `"a@vip.example"@other.test`, "", none, false},
		{1, "vip.example", "", none, false}, // no '@': no domain
		{1, "", "", none, false},            // null sender

		{2, "x@y.test", "You won the LOTTERY!", none, true},
		{2, "x@y.test", "Lotteryville news", none, false},
		{2, "x@y.test", "", none, false},

		{3, "x@y.test", "", headers("X-Spam-Flag", "YES"), true},
		{3, "x@y.test", "", headers("X-Spam-Flag", "no"), false},
		{3, "x@y.test", "", none, false},
		{3, "x@y.test", "", nil, false}, // no header lookup: fields are empty

		{4, "bob@partner.test", "[URGENT] down", headers("X-Priority", "1 (Highest)"), true},
		{4, "bob@partner.test", "[URGENT] down", headers("X-Priority", "3"), false},
		{4, "bob@partner.test", "down [urgent]", headers("X-Priority", "1"), false},
		{4, "bob@other.test", "[urgent] down", headers("X-Priority", "1"), false},

		{5, "x@y.test", "", none, true}, // an absent field is empty
		{5, "x@y.test", "", headers("List-Id", "<news.y.test>"), false},
	}
	for _, tt := range tests {
		if got := routes[tt.route].Match(tt.sender, tt.subject, tt.header); got != tt.want {
			t.Errorf("route %d Match(%q, %q) = %v, want %v", tt.route, tt.sender, tt.subject, got, tt.want)
		}
	}
}

// A Route that did not go through Parse has no compiled patterns and
// matches nothing, rather than everything.
func TestRouteMatchUnparsed(t *testing.T) {
	r := Route{Subject: ".*", Queue: "Support"}
	if r.Match("a@b.test", "x", headers()) {
		t.Error("an unparsed route matched")
	}
}

func TestRouteOrderKept(t *testing.T) {
	routes := routesOf(t, `
[[route]]
domain = 'a\.test'
spam = true
[[route]]
domain = 'b\.test'
queue = "Support"
[[route]]
domain = 'c\.test'
queue = "Billing"
spam = true
`)
	if len(routes) != 3 || routes[0].Domain != `a\.test` || routes[1].Queue != "Support" || !routes[2].Spam || routes[2].Queue != "Billing" {
		t.Errorf("routes = %+v", routes)
	}
}

func BenchmarkRouteMatch(b *testing.B) {
	c, err := Parse([]byte(base+`
[[route]]
domain = '^(.+\.)?vip\.example$'
subject = '\b(invoice|refund)\b'
header = "X-Priority"
header_pattern = '^1'
queue = "Billing"
`), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	r := &c.Route[0]
	h := headers("X-Priority", "1 (Highest)")
	subject := "Re: your invoice " + strings.Repeat("x", 200)
	b.ReportAllocs()
	for b.Loop() {
		if !r.Match("anna@eu.vip.example", subject, h) {
			b.Fatal("no match")
		}
	}
}
