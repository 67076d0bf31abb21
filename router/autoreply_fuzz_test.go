package router

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzFirstName: the greeting name from any From header is one short,
// valid, printable word without angle brackets or quotes.
func FuzzFirstName(f *testing.F) {
	for _, s := range []string{
		"Carla Rossi|carla@customer.test",
		"Rossi, Carla|carla@customer.test",
		"|carla.rossi+shop@customer.test",
		"\"<b>x</b>\"|x@y",
		",|@",
		"Ünïcödé Name|u@x",
		"\x00\r\n|a\x01b@c",
		"carla@customer.test|carla@customer.test",
		strings.Repeat("é", 100) + "|x@y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, addr, _ := strings.Cut(in, "|")
		got := firstName(name, addr)
		if len(got) > maxFirstName {
			t.Errorf("firstName(%q, %q) = %q: longer than %d", name, addr, got, maxFirstName)
		}
		if utf8.ValidString(name) && utf8.ValidString(addr) && !utf8.ValidString(got) {
			t.Errorf("firstName(%q, %q) = %q: invalid UTF-8", name, addr, got)
		}
		if strings.ContainsFunc(got, unicode.IsControl) {
			t.Errorf("firstName(%q, %q) = %q: control character", name, addr, got)
		}
		if s := firstName(name, addr); s != got {
			t.Errorf("not deterministic")
		}
	})
}

// FuzzIsDaemon: isDaemon takes any address and ignores ASCII case.
func FuzzIsDaemon(f *testing.F) {
	for _, s := range []string{"MAILER-DAEMON@x", "no-reply@x", "owner-list@x", "list-request@x", "", "@", "carla@customer.test"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		ascii := !strings.ContainsFunc(addr, func(r rune) bool { return r > unicode.MaxASCII })
		if ascii && isDaemon(addr) != isDaemon(strings.ToUpper(addr)) {
			t.Errorf("isDaemon(%q) depends on case", addr)
		}
	})
}
