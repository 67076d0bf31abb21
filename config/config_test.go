package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testHash is a well-formed bcrypt hash; validation never computes it.
const testHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

// base is a valid configuration that the cases below break one way each.
var base = strings.ReplaceAll(`hostname = "mx.example.test"
data_dir = "/var/lib/mxdesk"
company = "Example Inc."
timezone = "Europe/Rome"
# [[send_only]] is at the end

[listen]
smtp = "0.0.0.0:25"

[[domain]]
name = "example.test"

[[domain]]
name = "example.org"

[[queue]]
name = "Support"
addresses = ["support@example.test", "help@example.org"]
auto_assign = true

[[queue]]
name = "Billing"
addresses = ["billing@example.test"]

[[agent]]
login = "alice@example.test"
name = "Alice Rossi"
password_hash = "HASH"
queues = ["Support"]

[[agent]]
login = "bob@example.test"
password_hash = "HASH"
queues = ["Billing", "Support"]
role = "supervisor"

[[send_only]]
address = "noreply@example.test"
`, "HASH", testHash)

// edit returns base with each old string replaced by the new one after it.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := base
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("test bug: %q not in the base config", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func parse(t *testing.T, doc string) (*Config, ValidationErrors) {
	t.Helper()
	c, err := Parse([]byte(doc), "test.toml")
	if err == nil {
		return c, nil
	}
	var ve ValidationErrors
	if !errors.As(err, &ve) {
		t.Fatalf("Parse error %T is not ValidationErrors: %v", err, err)
	}
	return nil, ve
}

func TestBaseIsValid(t *testing.T) {
	if _, errs := parse(t, base); errs != nil {
		t.Fatalf("base config: %v", errs)
	}
}

func TestValidation(t *testing.T) {
	cert, key := writeCert(t)
	tests := []struct {
		name  string
		edits []string
		key   string // FieldError.Key wanted
		msg   string // substring of FieldError.Msg wanted
	}{
		// Keys.
		{"unknown top-level key", []string{`company =`, "colour = 1\ncompany ="}, "colour", `unknown key "colour"`},
		{"unknown key in second agent", []string{`role = "supervisor"`, "role = \"supervisor\"\npasword = \"x\""}, "agent[1].pasword", "unknown key"},
		{"unknown table", []string{"[listen]", "[lisen]"}, "lisen", "unknown key"},
		{"key with wrong case", []string{"hostname =", "Hostname ="}, "Hostname", `did you mean "hostname"`},
		{"syntax error", []string{`company = "Example Inc."`, `company = "Example Inc.`}, "company", "strings cannot contain newlines"},
		{"wrong type", []string{`[listen]`, "[smtp]\nmax_recipients = \"ten\"\n[listen]"}, "smtp.max_recipients", "incompatible types"},
		{"bad duration", []string{`[listen]`, "[smtp]\nread_timeout = \"ten\"\n[listen]"}, "smtp.read_timeout", "invalid duration"},
		{"bad trusted proxy", []string{`[listen]`, "[listen]\nhttp_trusted_proxies = [\"127.0.0.1\", \"proxy.example.test\"]"}, "listen.http_trusted_proxies", `"proxy.example.test" is neither an IP address nor a CIDR prefix`},
		{"postmaster not a queue address", []string{`company =`, "postmaster = \"pm@example.test\"\ncompany ="}, "postmaster", `"pm@example.test" is no queue's address`},
		{"negative recipients per hour", []string{`[listen]`, "[limits]\nsubmission_recipients_per_hour = -1\n[listen]"}, "limits.submission_recipients_per_hour", "must be 0 (off) or positive"},
		{"negative personal folders", []string{`[listen]`, "[limits]\npersonal_folders_per_agent = -1\n[listen]"}, "limits.personal_folders_per_agent", "must be 0 (off) or positive"},

		// Top level.
		{"data_dir missing", []string{`data_dir = "/var/lib/mxdesk"`, ""}, "data_dir", "required"},
		{"data_dir empty", []string{`data_dir = "/var/lib/mxdesk"`, `data_dir = ""`}, "data_dir", "required"},
		{"hostname empty", []string{`hostname = "mx.example.test"`, `hostname = ""`}, "hostname", "not a valid host name"},
		{"hostname invalid", []string{`hostname = "mx.example.test"`, `hostname = "mx_1.example.test"`}, "hostname", "not a valid host name"},
		{"timezone unknown", []string{"Europe/Rome", "Europe/Atlantis"}, "timezone", "unknown time zone"},

		// Domains.
		{"no domain", []string{"[[domain]]\nname = \"example.test\"\n\n[[domain]]\nname = \"example.org\"\n", ""}, "domain", "at least one"},
		{"domain invalid", []string{`name = "example.org"`, `name = "exa mple.org"`}, "domain[1].name", "not a valid domain"},
		{"domain empty", []string{`name = "example.org"`, `name = ""`}, "domain[1].name", "not a valid domain"},
		{"domain twice", []string{`name = "example.org"`, `name = "Example.TEST"`}, "domain[1].name", "listed twice"},

		// Queues.
		{"queue name empty", []string{`name = "Billing"`, `name = ""`}, "queue[1].name", "required"},
		{"queue name twice", []string{`name = "Billing"`, `name = "SUPPORT"`}, "queue[1].name", "defined twice"},
		{"queue name with slash", []string{`name = "Billing"`, `name = "Billing/EU"`}, "queue[1].name", "'/'"},
		{"queue without addresses", []string{`addresses = ["billing@example.test"]`, `addresses = []`}, "queue[1].addresses", "at least one address"},
		{"queue addresses absent", []string{`addresses = ["billing@example.test"]`, ``}, "queue[1].addresses", "at least one address"},
		{"address syntax", []string{`"help@example.org"`, `"help.example.org"`}, "queue[0].addresses[1]", "not an address"},
		{"address local part", []string{`"help@example.org"`, `"he..lp@example.org"`}, "queue[0].addresses[1]", "'.'"},
		{"address plus", []string{`"help@example.org"`, `"help+x@example.org"`}, "queue[0].addresses[1]", "plus-addressing is reserved"},
		{"address outside domains", []string{`"help@example.org"`, `"x@other.test"`}, "queue[0].addresses[1]", `"x@other.test" is outside the configured domains (domain.name)`},
		{"address subdomain", []string{`"help@example.org"`, `"x@eu.example.org"`}, "queue[0].addresses[1]", "outside the configured domains"},
		{"address in two queues", []string{`"billing@example.test"`, `"Support@Example.test"`}, "queue[1].addresses[0]", "already used by queue[0].addresses[0]"},
		{"send_only syntax", []string{`"noreply@example.test"`, `"noreply"`}, "send_only[0].address", "not an address"},
		{"send_only outside domains", []string{`"noreply@example.test"`, `"noreply@other.test"`}, "send_only[0].address", "outside the configured domains"},
		{"send_only plus", []string{`"noreply@example.test"`, `"no+reply@example.test"`}, "send_only[0].address", "plus-addressing"},
		{"send_only is a queue address", []string{`"noreply@example.test"`, `"BILLING@example.test"`}, "send_only[0].address", "already used by queue[1].addresses[0]"},

		// Agents.
		{"login empty", []string{`login = "alice@example.test"`, `login = ""`}, "agent[0].login", "required"},
		{"login missing", []string{`login = "alice@example.test"`, ``}, "agent[0].login", "required"},
		{"login twice", []string{`login = "bob@example.test"`, `login = "Alice@Example.test"`}, "agent[1].login", "used twice"},
		{"unknown queue", []string{`queues = ["Support"]`, `queues = ["Support", "Sales"]`}, "agent[0].queues", `unknown queue "Sales"`},
		{"queue listed twice", []string{`queues = ["Support"]`, `queues = ["Support", "support"]`}, "agent[0].queues[1]", "listed twice"},
		{"bad role", []string{`role = "supervisor"`, `role = "boss"`}, "agent[1].role", "not a role"},
		{"subject options exclude", []string{`auto_assign = true`, "auto_assign = true\nsubject_session_id = true\nallow_subject_edit = true"}, "queue[0].allow_subject_edit", "excludes subject_session_id"},
		{"stale reply mode", []string{`auto_assign = true`, "auto_assign = true\nstale_reply = \"never\""}, "queue[0].stale_reply", `want "hold", "warn" or "off"`},
		{"unknown signature tag", []string{`auto_assign = true`, "auto_assign = true\nsignature = \"@{agent} @{phone}\""}, "queue[0].signature", "unknown tag @{phone}"},
		{"dkim selector without key", []string{`name = "example.org"`, "name = \"example.org\"\ndkim_selector = \"s1\""}, "domain[1].dkim_key", "required when dkim_selector is set"},
		{"dkim key missing file", []string{`name = "example.org"`, "name = \"example.org\"\ndkim_selector = \"s1\"\ndkim_key = \"/nonexistent.pem\""}, "domain[1].dkim_key", "no such file"},
		{"smarthost tls none remote", []string{`[listen]`, "[delivery]\nsmarthost = \"relay.example.net:25\"\nsmarthost_tls = \"none\"\n[listen]"}, "delivery.smarthost_tls", "only for a smarthost on loopback"},
		{"smarthost user without password", []string{`[listen]`, "[delivery]\nsmarthost_user = \"u\"\n[listen]"}, "delivery.smarthost_user", "go together"},
		{"policy unknown type", []string{`[listen]`, "[policy]\nblock = [\"exe\", \"nosuchtype\"]\n[listen]"}, "policy.block", "nosuchtype"},
		{"sessions days too many", []string{`[listen]`, "[sessions]\npaused_to_closed_days = 1001\n[listen]"}, "sessions.paused_to_closed_days", "0 (off) or a number of days from 1 to 1000"},
		{"sessions days negative", []string{`[listen]`, "[sessions]\nreopen_window_days = -1\n[listen]"}, "sessions.reopen_window_days", "not -1"},
		{"template unknown queue", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[template]]\nname = \"t\"\nqueue = \"Sales\""}, "template[0].queue", `unknown queue "Sales"`},
		{"template without name", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[template]]\nbody = \"x\""}, "template[0].name", "required"},
		{"template twice", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[template]]\nname = \"t\"\n[[template]]\nname = \"T\""}, "template[1].name", "defined twice"},
		{"empty role", []string{`role = "supervisor"`, `role = ""`}, "agent[1].role", "not a role"},
		{"password_hash missing", []string{"password_hash = \"" + testHash + "\"\nqueues = [\"Support\"]", `queues = ["Support"]`}, "agent[0].password_hash", "required"},
		{"password_hash plaintext", []string{"password_hash = \"" + testHash + "\"\nqueues = [\"Support\"]", "password_hash = \"hunter2\"\nqueues = [\"Support\"]"}, "agent[0].password_hash", "not a bcrypt"},
		{"password_hash truncated", []string{"password_hash = \"" + testHash + "\"\nqueues = [\"Support\"]", "password_hash = \"" + testHash[:40] + "\"\nqueues = [\"Support\"]"}, "agent[0].password_hash", "malformed bcrypt"},

		// Assignment and presence.
		{"fallback_queue unknown", []string{`company =`, "fallback_queue = \"Sales\"\ncompany ="}, "fallback_queue", `no queue "Sales"`},
		{"presence_timeout too short", []string{`company =`, "presence_timeout = \"30s\"\ncompany ="}, "presence_timeout", "at least 1m"},
		{"presence_timeout zero", []string{`company =`, "presence_timeout = \"0s\"\ncompany ="}, "presence_timeout", `not "0s"`},
		{"daily_cap negative", []string{`auto_assign = true`, "auto_assign = true\ndaily_cap = -1"}, "queue[0].daily_cap", "not -1"},
		{"offer_timeout negative", []string{`auto_assign = true`, "auto_assign = true\noffer_timeout = \"-5m\""}, "queue[0].offer_timeout", `not "-5m0s"`},
		{"kpi_wait_alarm negative", []string{`auto_assign = true`, "auto_assign = true\nkpi_wait_alarm = \"-1h\""}, "queue[0].kpi_wait_alarm", "positive duration"},
		{"max_active negative", []string{`role = "supervisor"`, "role = \"supervisor\"\nmax_active = -2"}, "agent[1].max_active", "not -2"},
		{"business_hours_only without hours", []string{`auto_assign = true`, "auto_assign = true\nbusiness_hours_only = true"}, "queue[0].business_hours_only", "no day of [queue.hours] has a range"},
		{"business_hours_only with closed days only", []string{`auto_assign = true`, "auto_assign = true\nbusiness_hours_only = true\n[queue.hours]\nmon = \"\"\nholidays = [\"2026-12-25\"]"}, "queue[0].business_hours_only", "counts as always open"},
		{"hours timezone unknown", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\ntimezone = \"Mars/Olympus\""}, "queue[0].hours.timezone", `unknown time zone "Mars/Olympus"`},
		{"hours bad time", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nmon = \"9-17\""}, "queue[0].hours.mon", `"9" is not a time: want HH:MM`},
		{"hours past midnight", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\ntue = \"09:00-25:00\""}, "queue[0].hours.tue", `"25:00" is not a time`},
		{"hours end before start", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nfri = \"22:00-06:00\""}, "queue[0].hours.fri", "cannot cross midnight"},
		{"hours overlap", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nwed = \"09:00-13:00, 12:00-17:00\""}, "queue[0].hours.wed", "must be in order and not overlap"},
		{"hours out of order", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nsun = \"13:00-17:00, 09:00-12:00\""}, "queue[0].hours.sun", "in order"},
		{"hours stray comma", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nsat = \"09:00-12:00,\""}, "queue[0].hours.sat", "empty range"},
		{"hours in second queue", []string{`addresses = ["billing@example.test"]`, "addresses = [\"billing@example.test\"]\nhours = { thu = \"9\" }"}, "queue[1].hours.thu", "not a range"},
		{"holiday not a date", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nmon = \"09:00-17:00\"\nholidays = [\"2026-12-25\", \"25/12/2026\"]"}, "queue[0].hours.holidays[1]", "want YYYY-MM-DD"},
		{"holiday impossible date", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nholidays = [\"2026-02-30\"]"}, "queue[0].hours.holidays[0]", "not a date"},
		{"hours unknown key", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nmonday = \"09:00-17:00\""}, "queue[0].hours.monday", "unknown key"},

		// Routes.
		{"route without pattern", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nqueue = \"Billing\""}, "route[0]", "at least one pattern"},
		{"route without action", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nfrom = \"x\"\nspam = false"}, "route[0]", "needs an action"},
		{"route unknown queue", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\ndomain = \"x\"\nqueue = \"Sales\""}, "route[0].queue", `unknown queue "Sales"`},
		{"route bad regexp", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nfrom = \"x\"\nspam = true\n[[route]]\nsubject = \"(invoice\"\nspam = true"}, "route[1].subject", "missing closing ): `(invoice`"},
		{"route perl syntax", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nfrom = '^(?!noreply)'\nspam = true"}, "route[0].from", "not a valid regular expression (Go RE2 syntax)"},
		{"route pattern too long", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\ndomain = \"" + strings.Repeat("a", 1001) + "\"\nspam = true"}, "route[0].domain", "longer than 1000"},
		{"route header without pattern", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nheader = \"X-Spam\"\nspam = true"}, "route[0].header_pattern", "required when header is set"},
		{"route pattern without header", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nheader_pattern = \"yes\"\nspam = true"}, "route[0].header", "required when header_pattern is set"},
		{"route bad header name", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nheader = \"X-Spam: yes\"\nheader_pattern = \"yes\"\nspam = true"}, "route[0].header", "not a header field name"},
		{"route bad header regexp", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nheader = \"X-Spam\"\nheader_pattern = \"[yes\"\nspam = true"}, "route[0].header_pattern", "missing closing ]"},
		{"route unknown key", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nsender = \"x\"\nspam = true"}, "route[0].sender", "unknown key"},

		// Listeners.
		{"listener without port", []string{`smtp = "0.0.0.0:25"`, `smtp = "0.0.0.0"`}, "listen.smtp", "want host:port"},
		{"listener port too big", []string{`smtp = "0.0.0.0:25"`, `smtp = "0.0.0.0:65536"`}, "listen.smtp", "0 to 65535"},
		{"listener port by name", []string{`smtp = "0.0.0.0:25"`, `smtp = "0.0.0.0:smtp"`}, "listen.smtp", "0 to 65535"},
		{"listener http", []string{`smtp = "0.0.0.0:25"`, `http = "localhost"`}, "listen.http", "want host:port"},
		{"listener imap default port", []string{`smtp = "0.0.0.0:25"`, `imap = ":-1"`}, "listen.imap", "0 to 65535"},

		// TLS.
		{"cert without key", []string{"[listen]", "[tls]\ncert = \"" + cert + "\"\n[listen]"}, "tls.key", "required when tls.cert"},
		{"key without cert", []string{"[listen]", "[tls]\nkey = \"" + key + "\"\n[listen]"}, "tls.cert", "required when tls.key"},
		{"cert does not load", []string{"[listen]", "[tls]\ncert = \"" + key + "\"\nkey = \"" + key + "\"\n[listen]"}, "tls.cert", "cannot load certificate"},
		{"cert missing file", []string{"[listen]", "[tls]\ncert = \"/nonexistent.pem\"\nkey = \"" + key + "\"\n[listen]"}, "tls.cert", "no such file"},
		{"submissions without cert", []string{`smtp = "0.0.0.0:25"`, "smtp = \"0.0.0.0:25\"\nsubmissions = \"0.0.0.0:465\""}, "listen.submissions", "implicit TLS needs a certificate"},
		{"imaps without cert", []string{`smtp = "0.0.0.0:25"`, "smtp = \"0.0.0.0:25\"\nimaps = \"0.0.0.0:993\""}, "listen.imaps", "implicit TLS needs a certificate"},
		{"insecure_auth on public listener", []string{"[listen]", "[tls]\ninsecure_auth = true\n[listen]", `smtp = "0.0.0.0:25"`, "smtp = \"127.0.0.1:25\"\nsubmission = \"0.0.0.0:587\"\nimap = \"[::1]:143\""}, "tls.insecure_auth", `AUTH in plaintext is only for loopback tests, but listen.submission = "0.0.0.0:587"`},
		{"insecure_auth on default listeners", []string{"[listen]", "[tls]\ninsecure_auth = true\n[listen]"}, "tls.insecure_auth", "only for loopback"},
		{"insecure_auth on all interfaces", []string{"[listen]", "[tls]\ninsecure_auth = true\n[listen]", `smtp = "0.0.0.0:25"`, "smtp = \":25\"\nsubmission = \"\"\nimap = \"\""}, "tls.insecure_auth", `listen.smtp = ":25"`},

		// Limits.
		{"max_message_bytes zero", []string{"[listen]", "[smtp]\nmax_message_bytes = 0\n[listen]"}, "smtp.max_message_bytes", "positive"},
		{"max_recipients negative", []string{"[listen]", "[smtp]\nmax_recipients = -1\n[listen]"}, "smtp.max_recipients", "positive"},
		{"min_free_space not a size", []string{"[listen]", "[store]\nmin_free_space = \"lots\"\n[listen]"}, "store.min_free_space", `"lots" is not a size such as "512MB"`},
		{"min_free_space zero", []string{"[listen]", "[store]\nmin_free_space = \"0MB\"\n[listen]"}, "store.min_free_space", "must be a positive number"},
		{"min_free_space negative", []string{"[listen]", "[store]\nmin_free_space = -1\n[listen]"}, "store.min_free_space", "can't be negative"},
		{"max_line_length too small", []string{"[listen]", "[smtp]\nmax_line_length = 80\n[listen]"}, "smtp.max_line_length", "at least 1000"},
		{"max_append_bytes zero", []string{"[listen]", "[imap]\nmax_append_bytes = 0\n[listen]"}, "imap.max_append_bytes", "positive"},
		{"read_timeout zero", []string{"[listen]", "[smtp]\nread_timeout = \"0s\"\n[listen]"}, "smtp.read_timeout", "positive duration"},
		{"write_timeout negative", []string{"[listen]", "[smtp]\nwrite_timeout = \"-1m\"\n[listen]"}, "smtp.write_timeout", "positive duration"},
		{"tls_handshake_timeout zero", []string{"[listen]", "[limits]\ntls_handshake_timeout = \"0s\"\n[listen]"}, "limits.tls_handshake_timeout", "positive duration"},
		{"http_idle_timeout negative", []string{"[listen]", "[limits]\nhttp_idle_timeout = \"-1s\"\n[listen]"}, "limits.http_idle_timeout", "positive duration"},
		{"connections_per_listener negative", []string{"[listen]", "[limits]\nconnections_per_listener = -1\n[listen]"}, "limits.connections_per_listener", "0 (off) or positive"},
		{"inflight_message_bytes negative", []string{"[listen]", "[limits]\ninflight_message_bytes = -1\n[listen]"}, "limits.inflight_message_bytes", "can't be negative"},
		{"inflight_message_bytes below the largest message", []string{"[listen]", "[limits]\ninflight_message_bytes = \"10MiB\"\n[listen]"}, "limits.inflight_message_bytes",
			"must be 0 (off) or at least smtp.max_message_bytes (26214400), not 10485760"},
		{"spool_threshold above the in-memory cap", []string{"[listen]", "[limits]\nspool_threshold = \"300MiB\"\n[listen]"}, "limits.spool_threshold",
			"must be 0 (off) or at most limits.inflight_message_bytes (268435456), not 314572800"},
		{"spool_threshold not a size", []string{"[listen]", "[limits]\nspool_threshold = \"big\"\n[listen]"}, "limits.spool_threshold", `"big" is not a size`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parse(t, edit(t, tt.edits...))
			if errs == nil {
				t.Fatalf("no error, want %s: ...%s...", tt.key, tt.msg)
			}
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					if !strings.Contains(errs.Error(), tt.key+": ") {
						t.Errorf("Error() does not name the key %q:\n%v", tt.key, errs)
					}
					return
				}
			}
			t.Errorf("want an error with key %q containing %q, got:\n%v", tt.key, tt.msg, errs)
		})
	}
}

func TestValidCases(t *testing.T) {
	cert, key := writeCert(t)
	tests := []struct {
		name  string
		edits []string
	}{
		{"insecure_auth on loopback", []string{"[listen]", "[tls]\ninsecure_auth = true\n[listen]",
			`smtp = "0.0.0.0:25"`, "smtp = \"127.0.0.1:2525\"\nsubmission = \"localhost:2587\"\nimap = \"[::1]:1143\"\nhttp = \"0.0.0.0:8080\""}},
		{"insecure_auth with listeners off", []string{"[listen]", "[tls]\ninsecure_auth = true\n[listen]",
			`smtp = "0.0.0.0:25"`, "smtp = \"127.0.0.2:25\"\nsubmission = \"\"\nimap = \"\""}},
		{"tls with implicit listeners", []string{"[listen]", "[tls]\ncert = \"" + cert + "\"\nkey = \"" + key + "\"\n[listen]",
			`smtp = "0.0.0.0:25"`, "smtp = \"0.0.0.0:25\"\nsubmissions = \"0.0.0.0:465\"\nimaps = \"[::]:993\""}},
		{"port zero", []string{`smtp = "0.0.0.0:25"`, `smtp = "127.0.0.1:0"`}},
		{"argon2id hash", []string{"password_hash = \"" + testHash + "\"\nqueues = [\"Support\"]",
			"password_hash = \"$argon2id$v=19$m=65536,t=1,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43) + "\"\nqueues = [\"Support\"]"}},
		{"agent without queues", []string{`queues = ["Support"]`, ``}},
		{"no send_only", []string{"[[send_only]]\naddress = \"noreply@example.test\"\n", ``}},
		{"inline tables", []string{"[listen]\nsmtp = \"0.0.0.0:25\"", `listen = { smtp = "0.0.0.0:25", imap = "" }`}},
		{"business hours", []string{`auto_assign = true`, "auto_assign = true\nbusiness_hours_only = true\ndaily_cap = 20\noffer_timeout = \"0s\"\nkpi_wait_alarm = \"4h\"\n[queue.hours]\ntimezone = \"America/New_York\"\nmon = \"09:00-12:00, 13:00-17:00\"\nsat = \"00:00-24:00\"\nholidays = [\"2026-12-25\"]"}},
		{"hours as inline table", []string{`addresses = ["billing@example.test"]`, "addresses = [\"billing@example.test\"]\nhours = { mon = \"9:00-17:00\", holidays = [] }"}},
		{"hours without business_hours_only", []string{`auto_assign = true`, "auto_assign = true\n[queue.hours]\nholidays = [\"2026-12-25\"]"}},
		{"route spam only", []string{`role = "supervisor"`, "role = \"supervisor\"\n[[route]]\nsubject = '(?-i)^SPAM:'\nspam = true"}},
		{"route to queue and spam", []string{`role = "supervisor"`, "role = \"supervisor\"\nmax_active = 5\nauto_assign = true\n[[route]]\nfrom = '@spam\\.test$'\nqueue = \"support\"\nspam = true"}},
		{"presence_timeout one minute", []string{`company =`, "presence_timeout = \"1m\"\ncompany ="}},
		{"inflight_message_bytes off", []string{"[listen]", "[limits]\ninflight_message_bytes = 0\n[listen]"}},
		{"inflight_message_bytes one message", []string{"[listen]", "[limits]\ninflight_message_bytes = \"25MiB\"\n[listen]"}},
		{"spool_threshold off", []string{"[listen]", "[limits]\nspool_threshold = 0\n[listen]"}},
		{"spool_threshold with no in-memory cap", []string{"[listen]", "[limits]\ninflight_message_bytes = 0\nspool_threshold = \"1GiB\"\n[listen]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, errs := parse(t, edit(t, tt.edits...)); errs != nil {
				t.Errorf("unexpected errors:\n%v", errs)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	doc := strings.ReplaceAll(`data_dir = "d"
[[domain]]
name = "example.test"
[[queue]]
name = "Q"
addresses = ["q@example.test"]
[[agent]]
login = "a"
password_hash = "HASH"
[[agent]]
login = "s"
password_hash = "HASH"
role = "supervisor"
[[agent]]
login = "r"
password_hash = "HASH"
role = "admin"
`, "HASH", testHash)
	c, errs := parse(t, doc)
	if errs != nil {
		t.Fatal(errs)
	}
	host, _ := os.Hostname()
	checks := []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Hostname, host},
		{"listen.smtp", c.Listen.SMTP, "0.0.0.0:25"},
		{"listen.submission", c.Listen.Submission, "0.0.0.0:587"},
		{"listen.submissions", c.Listen.Submissions, ""},
		{"listen.imap", c.Listen.IMAP, "0.0.0.0:143"},
		{"listen.imaps", c.Listen.IMAPS, ""},
		{"listen.http", c.Listen.HTTP, "127.0.0.1:8080"},
		{"smtp.max_message_bytes", c.SMTP.MaxMessageBytes, int64(26214400)},
		{"smtp.max_recipients", c.SMTP.MaxRecipients, 100},
		{"smtp.read_timeout", c.SMTP.ReadTimeout.Duration, 10 * time.Minute},
		{"smtp.write_timeout", c.SMTP.WriteTimeout.Duration, time.Minute},
		{"smtp.max_line_length", c.SMTP.MaxLineLength, 4000},
		{"store.min_free_space", c.Store.MinFreeSpace, Size(512e6)},
		{"imap.max_append_bytes", c.IMAP.MaxAppendBytes, int64(26214400)},
		{"limits.connections_per_listener", c.Limits.ConnectionsPerListener, 1000},
		{"limits.inflight_message_bytes", c.Limits.InflightMessageBytes, Size(256 << 20)},
		{"limits.personal_folders_per_agent", c.Limits.PersonalFoldersPerAgent, 1000},
		{"limits.spool_threshold", c.Limits.SpoolThreshold, Size(1 << 20)},
		{"limits.tls_handshake_timeout", c.Limits.TLSHandshakeTimeout.Duration, 30 * time.Second},
		{"limits.http_idle_timeout", c.Limits.HTTPIdleTimeout.Duration, 2 * time.Minute},
		{"store.sync", c.SyncWrites(), true},
		{"agent role", c.Agent[0].Role, "agent"},
		{"agent auto_assign", c.Agent[0].AutoAssign, true},
		{"agent max_active", c.Agent[0].MaxActive, 0},
		{"supervisor auto_assign", c.Agent[1].AutoAssign, false},
		{"admin auto_assign", c.Agent[2].AutoAssign, false},
		{"presence_timeout", c.PresenceTimeout.Duration, 31 * time.Minute},
		{"queue auto_assign", c.Queue[0].AutoAssign, false},
		{"queue daily_cap", c.Queue[0].DailyCap, 0},
		{"queue business_hours_only", c.Queue[0].BusinessHoursOnly, false},
		{"queue logged_in_only", c.Queue[0].LoggedInOnly, true},
		{"queue offer_timeout", c.Queue[0].OfferTimeout.Duration, 30 * time.Minute},
		{"queue kpi_wait_alarm", c.Queue[0].KPIWaitAlarm.Duration, time.Duration(0)},
		{"queue hours.timezone", c.Queue[0].Hours.Timezone, "UTC"},
		{"queue hours location", c.Queue[0].Hours.Location(), time.UTC},
		{"queue hours open", c.Queue[0].Hours.Open(time.Now()), true},
		{"routes", len(c.Route), 0},
		{"queue transfers", c.Queue[0].AllowTransferToQueue, true},
		{"queue later", c.Queue[0].AllowPersonalQueue, false},
		{"sessions", c.Sessions, Sessions{30, 60, 30, 30}},
		{"timezone", c.Timezone, "UTC"},
		{"location", c.Location(), time.UTC},
		{"path", c.Path(), "test.toml"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestExplicitValues(t *testing.T) {
	c, errs := parse(t, edit(t, "[listen]", `[smtp]
max_message_bytes = 1000000
max_recipients = 5
read_timeout = "30s"
[imap]
max_append_bytes = 2000000
[store]
sync = false
min_free_space = "100MiB"
[listen]`))
	if errs != nil {
		t.Fatal(errs)
	}
	if c.SMTP.MaxMessageBytes != 1000000 || c.SMTP.MaxRecipients != 5 || c.SMTP.ReadTimeout.Duration != 30*time.Second {
		t.Errorf("smtp = %+v", c.SMTP)
	}
	if c.SMTP.WriteTimeout.Duration != time.Minute {
		t.Errorf("write_timeout = %v, want the default 1m", c.SMTP.WriteTimeout)
	}
	if c.IMAP.MaxAppendBytes != 2000000 {
		t.Errorf("imap.max_append_bytes = %d", c.IMAP.MaxAppendBytes)
	}
	if c.SyncWrites() {
		t.Error("SyncWrites() = true with store.sync = false")
	}
	if c.Store.MinFreeSpace != 100<<20 {
		t.Errorf("store.min_free_space = %d, want 100 MiB", c.Store.MinFreeSpace)
	}
	if c.Agent[1].Role != RoleSupervisor {
		t.Errorf("explicit role = %q", c.Agent[1].Role)
	}
	if loc := c.Location(); loc.String() != "Europe/Rome" {
		t.Errorf("Location() = %v", loc)
	}
}

func TestAssignmentValues(t *testing.T) {
	c, errs := parse(t, edit(t,
		`company =`, "presence_timeout = \"45m\"\ncompany =",
		`auto_assign = true`, `auto_assign = true
daily_cap = 25
business_hours_only = true
logged_in_only = false
offer_timeout = "0s"
kpi_wait_alarm = "4h"
[queue.hours]
mon = "09:00-17:00"`,
		`role = "supervisor"`, "role = \"supervisor\"\nauto_assign = true\nmax_active = 3",
		`queues = ["Support"]`, "queues = [\"Support\"]\nauto_assign = false"))
	if errs != nil {
		t.Fatal(errs)
	}
	q := c.Queue[0]
	if q.DailyCap != 25 || !q.BusinessHoursOnly || q.LoggedInOnly || q.OfferTimeout.Duration != 0 || q.KPIWaitAlarm.Duration != 4*time.Hour {
		t.Errorf("queue = %+v", q)
	}
	if got := q.Hours.Location().String(); got != "Europe/Rome" || q.Hours.Timezone != "Europe/Rome" {
		t.Errorf("hours zone = %s (%q), want the top-level Europe/Rome", got, q.Hours.Timezone)
	}
	if b := c.Queue[1]; !b.LoggedInOnly || b.OfferTimeout.Duration != 30*time.Minute {
		t.Errorf("second queue lost its defaults: %+v", b)
	}
	if a := c.Agent[0]; a.AutoAssign {
		t.Error("agent with auto_assign = false is auto-assigned")
	}
	if a := c.Agent[1]; !a.AutoAssign || a.MaxActive != 3 {
		t.Errorf("supervisor auto_assign = %v, max_active = %d; want true, 3", a.AutoAssign, a.MaxActive)
	}
	if c.PresenceTimeout.Duration != 45*time.Minute {
		t.Errorf("presence_timeout = %v", c.PresenceTimeout)
	}
}

// Errors in [queue.hours] and [[route]] point at their own lines.
func TestErrorLinesHoursAndRoutes(t *testing.T) {
	doc := edit(t, `auto_assign = true`, "auto_assign = true\n[queue.hours]\nmon = \"09:00-17:00\"\ntue = \"9-5\"") + // tue: line 22
		"[[route]]\nfrom = 'x'\nspam = true\n[[route]]\nspam = true\ndomain = '(x'\n" // domain: line 47
	_, errs := parse(t, doc)
	want := map[string]int{"queue[0].hours.tue": 22, "route[1].domain": 47}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		if e.Line != want[e.Key] {
			t.Errorf("%s: line %d, want %d", e.Key, e.Line, want[e.Key])
		}
	}
}

func TestAppendLimitFollowsMessageLimit(t *testing.T) {
	c, errs := parse(t, edit(t, "[listen]", "[smtp]\nmax_message_bytes = 1234567\n[listen]"))
	if errs != nil {
		t.Fatal(errs)
	}
	if c.IMAP.MaxAppendBytes != 1234567 {
		t.Errorf("imap.max_append_bytes = %d, want smtp.max_message_bytes", c.IMAP.MaxAppendBytes)
	}
}

// An absent listener gets its default; an empty one is off.
func TestListenerAbsentVsEmpty(t *testing.T) {
	c, errs := parse(t, edit(t, `smtp = "0.0.0.0:25"`, "submission = \"\"\nhttp = \"\""))
	if errs != nil {
		t.Fatal(errs)
	}
	want := Listen{SMTP: "0.0.0.0:25", IMAP: "0.0.0.0:143"}
	if !reflect.DeepEqual(c.Listen, want) {
		t.Errorf("listen = %+v, want %+v", c.Listen, want)
	}
	got := c.Listen.Enabled()
	if len(got) != 2 || got[0] != (Listener{"smtp", "0.0.0.0:25"}) || got[1] != (Listener{"imap", "0.0.0.0:143"}) {
		t.Errorf("Enabled() = %v", got)
	}
}

func TestNormalizationAndLookups(t *testing.T) {
	c, errs := parse(t, edit(t,
		`name = "example.org"`, `name = "Example.ORG"`,
		`"help@example.org"`, `"Help@Example.org"`,
		`queues = ["Billing", "Support"]`, `queues = ["billing", "SUPPORT"]`,
		`"noreply@example.test"`, `"NoReply@example.test"`))
	if errs != nil {
		t.Fatal(errs)
	}
	if c.Domain[1].Name != "example.org" || c.Queue[0].Addresses[1] != "help@example.org" || c.SendOnly[0].Address != "noreply@example.test" {
		t.Errorf("not lower-cased: domains %v, addresses %v, send_only %v", c.Domain, c.Queue[0].Addresses, c.SendOnly)
	}
	if q := c.Agent[1].Queues; q[0] != "Billing" || q[1] != "Support" {
		t.Errorf("agent queues = %v, want the queues' own spelling", q)
	}
	if q, ok := c.QueueByAddress("HELP@example.ORG"); !ok || q.Name != "Support" {
		t.Errorf("QueueByAddress(HELP@example.ORG) = %v, %v", q, ok)
	}
	for _, a := range []string{"support+s-7k3qx@example.test", "noreply@example.test", "nobody@example.test"} {
		if q, ok := c.QueueByAddress(a); ok {
			t.Errorf("QueueByAddress(%s) = %v", a, q.Name)
		}
	}
	if !c.IsSendOnly("NOREPLY@example.test") || c.IsSendOnly("support@example.test") {
		t.Error("IsSendOnly gives wrong answers")
	}
	if a, ok := c.AgentByLogin("ALICE@example.test"); !ok || a.Name != "Alice Rossi" {
		t.Errorf("AgentByLogin(ALICE@...) = %v, %v", a, ok)
	}
	if _, ok := c.AgentByLogin("carol@example.test"); ok {
		t.Error("AgentByLogin(carol) found an agent")
	}
	if !c.IsLocalDomain("EXAMPLE.test") || !c.IsLocalDomain("example.org.") || c.IsLocalDomain("eu.example.org") {
		t.Error("IsLocalDomain gives wrong answers")
	}
	// Unicode letters that fold to ASCII ones (ſ U+017F, Kelvin U+212A)
	// are other letters: only ASCII has a case.
	if _, ok := c.AgentByLogin("alice@example.te\u017ft"); ok {
		t.Error("AgentByLogin found alice under a long s")
	}
	if _, ok := c.QueueByAddress("\u017fupport@example.test"); ok {
		t.Error("QueueByAddress found Support under a long s")
	}
	if c.IsLocalDomain("example.te\u017ft") {
		t.Error("IsLocalDomain folds Unicode letters")
	}
}

func TestErrorLines(t *testing.T) {
	doc := edit(t,
		`company = "Example Inc."`, "company = \"Example Inc.\"\nlogo = \"x.png\"", // line 4
		`queues = ["Support"]`, `queues = ["Sales"]`) // line 30 after the insert
	_, errs := parse(t, strings.Replace(doc, `"billing@example.test"`, `"billing@other.test"`, 1))
	want := map[string]int{"logo": 4, "queue[1].addresses[0]": 24, "agent[0].queues": 30}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		if e.Line != want[e.Key] {
			t.Errorf("%s: line %d, want %d", e.Key, e.Line, want[e.Key])
		}
		if !strings.HasPrefix(e.Error(), "test.toml:") {
			t.Errorf("Error() = %q, want it to start with the file name", e.Error())
		}
	}
}

// A missing key points at the table that should hold it.
func TestErrorLineOfMissingKey(t *testing.T) {
	_, errs := parse(t, edit(t, "password_hash = \""+testHash+"\"\nqueues = [\"Billing\", \"Support\"]", `queues = ["Billing"]`))
	if len(errs) != 1 || errs[0].Key != "agent[1].password_hash" || errs[0].Line != 31 {
		t.Errorf("got %v, want agent[1].password_hash at the [[agent]] on line 31", errs)
	}
}

func TestSyntaxErrorLine(t *testing.T) {
	_, errs := parse(t, "data_dir = \"x\"\n\n[listen\nsmtp = \"\"\n")
	if len(errs) != 1 || errs[0].Line != 3 {
		t.Fatalf("got %v, want one error on line 3", errs)
	}
	if got := errs[0].Error(); !strings.HasPrefix(got, "test.toml:3: ") {
		t.Errorf("Error() = %q", got)
	}
}

// The list form of send_only from earlier versions says how to write it now.
func TestOldSendOnlyList(t *testing.T) {
	_, errs := parse(t, "data_dir = \"x\"\nsend_only = [\"noreply@example.test\"]\n")
	if len(errs) != 1 || errs[0].Line != 2 || !strings.Contains(errs[0].Msg, "[[send_only]] address =") {
		t.Fatalf("got %v, want one error on line 2 showing the table form", errs)
	}
}

// Text that looks like keys inside strings and comments must not move the
// line scan: the error below is on the real line of queues.
func TestErrorLineIgnoresStringsAndComments(t *testing.T) {
	doc := edit(t,
		`name = "Alice Rossi"`, "name = \"\"\"Alice,\nqueues = [x]\"\"\" # queues = 1",
		`queues = ["Support"]`, "# queues = [\"Support\"]\nqueues = [\"Sales\"]")
	_, errs := parse(t, doc)
	if len(errs) != 1 || errs[0].Key != "agent[0].queues" || errs[0].Line != 31 {
		t.Errorf("got %v, want agent[0].queues on line 31", errs)
	}
}

// In an array of inline tables the metadata does not tell the elements
// apart: errors inside it get the line of the array, never a guessed one.
func TestErrorLineInlineArray(t *testing.T) {
	doc := strings.Replace(base[:strings.Index(base, "[[agent]]")], `"Europe/Rome"`,
		"\"Europe/Rome\"\nagent = [\n  {login = \"a\", password_hash = \""+testHash+"\"},\n  {login = \"b\", pasword = \"x\"},\n]", 1)
	_, errs := parse(t, doc)
	want := map[string]int{"agent.pasword": 5, "agent[1].password_hash": 5}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		if l, ok := want[e.Key]; !ok || e.Line != l {
			t.Errorf("%s: line %d, want %v", e.Key, e.Line, want)
		}
	}
}

// Every problem is reported, one per line.
func TestAllErrorsReported(t *testing.T) {
	_, errs := parse(t, edit(t,
		`data_dir = "/var/lib/mxdesk"`, "",
		"Europe/Rome", "Nowhere",
		`role = "supervisor"`, `role = "root"`))
	if len(errs) != 3 {
		t.Fatalf("got %d errors, want 3:\n%v", len(errs), errs)
	}
	if n := strings.Count(errs.Error(), "\n"); n != 2 {
		t.Errorf("Error() has %d newlines, want 2:\n%v", n, errs)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mxdesk.toml")
	if err := os.WriteFile(path, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path() != path {
		t.Errorf("Path() = %q", c.Path())
	}
	_, err = Load(filepath.Join(dir, "missing.toml"))
	var ve ValidationErrors
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "missing.toml: cannot read") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{File: "f.toml", Line: 3, Key: "a.b", Msg: "bad"}, "f.toml:3: a.b: bad"},
		{FieldError{File: "f.toml", Key: "a.b", Msg: "bad"}, "f.toml: a.b: bad"},
		{FieldError{Line: 3, Key: "a.b", Msg: "bad"}, "line 3: a.b: bad"},
		{FieldError{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// writeCert writes a self-signed certificate and its key for localhost.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "EC PRIVATE KEY", keyDER)
	return certFile, keyFile
}

// The complete example in docs/configuration.md must stay valid.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	start := strings.Index(s, "# /etc/mxdesk/mxdesk.toml")
	if start < 0 {
		t.Fatal("docs/configuration.md: complete example not found")
	}
	end := start + strings.Index(s[start:], "```")
	cert, key := writeCert(t)
	example := strings.NewReplacer("/etc/mxdesk/fullchain.pem", cert, "/etc/mxdesk/privkey.pem", key).Replace(s[start:end])
	if _, errs := parse(t, example); errs != nil {
		t.Errorf("docs example:\n%v", errs)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"512MB": 512e6, "100MiB": 100 << 20, "1 GB": 1e9, "4kib": 4096, "2048": 2048, "7B": 7} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "12XB", "-5MB", "1.5GB", "99999999999TB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestReadCRMSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
	if secret, err := ReadCRMSecret(good); err != nil || len(secret) != 24 {
		t.Fatalf("good secret: %d bytes, %v", len(secret), err)
	}
	for name, text := range map[string]string{
		"noprefix": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"notb64":   "whsec_!!!!",
		"short":    "whsec_c2hvcnQ=",
	} {
		if _, err := ReadCRMSecret(write(name, text)); err == nil || !strings.Contains(err.Error(), "crm.secret_file") {
			t.Errorf("%s: err %v, want one naming crm.secret_file", name, err)
		}
	}
}
