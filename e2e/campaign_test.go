package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"
)

// Campaign crash test parameters: campaignRows recipients at
// campaignRate; the server is killed once campaignKillAfter of them
// reached the smarthost.
const (
	campaignRows      = 400
	campaignRate      = "40/s"
	campaignKillAfter = 100
)

// TestCampaignCrash kills mxdesk with SIGKILL while a campaign sends.
// After the restart the campaign goes on: every row is sent, none twice.
// Each row's message has its own Message-ID (campaign, row, session), so
// a row sent twice would reach its recipient under two Message-IDs; the
// same Message-ID twice is the delivery queue's at-least-once resend of
// a transaction the kill cut off, which is allowed and logged.
func TestCampaignCrash(t *testing.T) {
	sink := startCampaignSink(t)
	env := newEnv(t)
	appendCampaignConfig(t, env, sink.addr)
	list := filepath.Join(env.dir, "customers.csv")
	var csv strings.Builder
	csv.WriteString("email,name\n")
	for i := range campaignRows {
		fmt.Fprintf(&csv, "c%d@customer.test,Customer %d\n", i, i)
	}
	if err := os.WriteFile(list, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := env.start(t)
	status, out, errOut := runMxdesk(t, "campaign", "create", "--config", env.configPath, "--queue", "Support", "--list", list,
		"--template", "welcome", "--window", "Mon-Sun 00:00-24:00", "--rate", campaignRate)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id := lines[len(lines)-1]
	if status != 0 || strings.Trim(id, "0123456789") != "" {
		t.Fatalf("campaign create: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	sink.waitRecipients(t, campaignKillAfter)
	srv.kill()
	t.Logf("killed after %d recipients got their message", sink.recipients())

	srv = env.start(t)
	sink.waitRecipients(t, campaignRows)
	status, out, errOut = runMxdesk(t, "campaign", "show", id, "--config", env.configPath)
	if status != 0 || !strings.Contains(out, fmt.Sprintf("sent:         %d", campaignRows)) || !strings.Contains(out, "queued:       0") {
		t.Errorf("campaign show: status %d\n%s%s", status, out, errOut)
	}
	srv.stop()
	twice, resent := sink.duplicates()
	if len(twice) > 0 {
		t.Errorf("%d recipients got two different campaign messages: %v", len(twice), twice[:min(len(twice), 10)])
	}
	t.Logf("%d messages sent again by the delivery queue (same Message-ID, cut off by the kill)", resent)
	checkStoreConsistent(t, env)
}

// appendCampaignConfig adds the smarthost, the campaign keys and the
// welcome template to env's configuration.
func appendCampaignConfig(t *testing.T, env *testEnv, sink string) {
	t.Helper()
	secret := filepath.Join(env.dir, "campaign.secret")
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	if err := os.WriteFile(secret, []byte("whsec_"+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(env.configPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, `
[delivery]
smarthost = %q
smarthost_tls = "none"

[campaign]
link_base_url = "https://desk.example.test"
secret_file = %q

[[template]]
name = "welcome"
subject = "Welcome ${name}"
body = "Hello ${name}."
`, sink, secret)
}

// campaignSink is a smarthost that records the Message-IDs each
// recipient got.
type campaignSink struct {
	addr    string
	mu      sync.Mutex
	got     map[string][]string // recipient -> Message-IDs, in arrival order
	changed chan struct{}
}

func startCampaignSink(t *testing.T) *campaignSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &campaignSink{addr: ln.Addr().String(), got: map[string][]string{}, changed: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &campaignSinkSession{s: s}, nil }))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *campaignSink) recipients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// waitRecipients waits, woken by each message, until n recipients got one.
func (s *campaignSink) waitRecipients(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(loadTimeout)
	for s.recipients() < n {
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("%d of %d recipients got their message", s.recipients(), n)
		}
	}
}

// duplicates lists the recipients that got two different Message-IDs,
// and counts the messages that came again with the same one.
func (s *campaignSink) duplicates() (twice []string, resent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rcpt, ids := range s.got {
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				resent++
			}
			seen[id] = true
		}
		if len(seen) > 1 {
			twice = append(twice, rcpt)
		}
	}
	return twice, resent
}

type campaignSinkSession struct {
	s     *campaignSink
	rcpts []string
}

func (*campaignSinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *campaignSinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.rcpts = append(ss.rcpts, to)
	return nil
}
func (ss *campaignSinkSession) Reset()     { ss.rcpts = nil }
func (*campaignSinkSession) Logout() error { return nil }
func (ss *campaignSinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	for _, rc := range ss.rcpts {
		ss.s.got[rc] = append(ss.s.got[rc], h.Get("Message-Id"))
	}
	ss.s.mu.Unlock()
	select {
	case ss.s.changed <- struct{}{}:
	default:
	}
	return nil
}
