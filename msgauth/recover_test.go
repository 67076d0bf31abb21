package msgauth

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"mxdesk/panics"
)

// panickyDNS panics in every TXT lookup, as a library bug on a strange
// record would.
type panickyDNS struct{ fakeDNS }

func (panickyDNS) LookupTXT(context.Context, string) ([]string, error) {
	panic(panics.Deliberate("TXT parser bug"))
}

// TestCheckPanicIsCounted: a panic in a check becomes that check's
// temperror for this one message, and is counted and logged with its
// stack like every recovered panic.
func TestCheckPanicIsCounted(t *testing.T) {
	var logged bytes.Buffer
	c := &Checker{dns: panickyDNS{}, timeout: time.Second, host: testHost, now: time.Now, maxDKIM: 1 << 20,
		log: slog.New(slog.NewTextHandler(&logged, nil))}
	before := panics.Counts()[panics.MsgAuth]
	res := c.Check(context.Background(), Input{IP: net.ParseIP(ipGood), Helo: "mta.example.com", MailFrom: "a@example.com",
		Message: []byte(fuzzHeaders[0])})
	if res.SPF != "temperror" || res.DMARC.Result != "temperror" {
		t.Errorf("SPF %q, DMARC %+v after panics, want temperror", res.SPF, res.DMARC)
	}
	// SPF and the DMARC record lookup both read TXT records.
	if got := panics.Counts()[panics.MsgAuth] - before; got != 2 {
		t.Errorf("%d panics counted, want 2 (spf, dmarc)", got)
	}
	for _, want := range []string{"level=ERROR", "where=msgauth", "check=spf", "check=dmarc", "TXT parser bug", "stack="} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
}
