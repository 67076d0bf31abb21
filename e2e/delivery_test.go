package e2e

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"
)

// Delivery crash test parameters: deliveryMessages are submitted, the
// smarthost accepts deliveryAcceptFirst of them and holds the next one
// mid-transaction (body read, no reply) while mxdesk is killed.
const (
	deliveryMessages    = 12
	deliveryAcceptFirst = 4
)

// TestDeliveryCrash kills mxdesk with SIGKILL while it is delivering: in
// the middle of a transaction with the smarthost, with mail still queued.
// After the restart every submitted message reaches the smarthost; the
// ones the smarthost had confirmed (250) are not sent again; the one cut
// off is sent again, as at-least-once delivery must; every one carries a
// DKIM signature that verifies against the record `mxdesk dkim-keygen`
// printed. Delivery runs one at a time (concurrency = 1), so when the
// smarthost sees a transaction begin, the previous one's outcome is
// committed: which messages may come twice is known exactly.
func TestDeliveryCrash(t *testing.T) {
	sink := startSmarthost(t, deliveryAcceptFirst)
	env, txt := newDeliveryEnv(t, sink.addr)
	sink.dkimTXT = txt
	srv := startProc(t, env.dir, []string{"submission", "http"}, "serve", "--config", env.configPath)

	var ids []string
	for i := range deliveryMessages {
		ids = append(ids, fmt.Sprintf("out-%d@e2e.test", i))
	}
	submitAll(t, srv.addr("submission"), ids)
	held := sink.waitHeld(t)
	srv.kill()
	sink.release()
	t.Logf("killed while the smarthost held %s; %d confirmed before", held, len(sink.confirmedIDs()))

	srv = startProc(t, env.dir, []string{"submission", "http"}, "serve", "--config", env.configPath)
	sink.waitConfirmed(t, ids)
	srv.stop()

	received := sink.receivedIDs()
	for _, id := range ids {
		want := 1
		if id == held {
			want = 2 // cut off before the 250: sent again
		}
		if n := received[id]; n != want {
			t.Errorf("%s reached the smarthost %d times, want %d", id, n, want)
		}
	}
	if bad := sink.badSignatures(); len(bad) > 0 {
		t.Errorf("DKIM did not verify: %v", bad)
	}
}

// newDeliveryEnv writes a configuration with the submission port, a DKIM
// key made by `mxdesk dkim-keygen`, and the smarthost at sinkAddr; it
// returns the env and the published TXT value of the key.
func newDeliveryEnv(t *testing.T, sinkAddr string) (*testEnv, string) {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "dkim.pem")
	out, err := exec.Command(mxdeskBin, "dkim-keygen", "--domain", "example.test", "--selector", "e2e", "--key", keyFile).CombinedOutput()
	if err != nil {
		t.Fatalf("dkim-keygen: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^e2e\._domainkey\.example\.test\. IN TXT (.*)$`).FindSubmatch(out)
	if line == nil {
		t.Fatalf("no TXT record in the dkim-keygen output:\n%s", out)
	}
	txt := strings.Join(regexp.MustCompile(`"([^"]*)"`).FindAllString(string(line[1]), -1), "")
	txt = strings.ReplaceAll(txt, `"`, "")

	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{dir: dir, configPath: filepath.Join(dir, "mxdesk.toml")}
	cfg := fmt.Sprintf(deliveryConfig, filepath.Join(dir, "data"), keyFile, string(hash), sinkAddr)
	if err := os.WriteFile(env.configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return env, txt
}

const deliveryConfig = `hostname = "mx.example.test"
data_dir = %q

[listen]
smtp       = ""
submission = "127.0.0.1:0"
imap       = ""
http       = "127.0.0.1:0"

[tls]
insecure_auth = true

[inbound]
resolver = "127.0.0.1:1"   # nothing answers: DNS checks fail fast

[limits]
messages_per_sender_per_hour = 0   # the load tests send thousands from one sender
commands_per_connection = 0        # ... over few connections

[store]
sync = true

[[domain]]
name = "example.test"
dkim_selector = "e2e"
dkim_key = %q

[[queue]]
name = "Support"
addresses = ["support@example.test"]

[[agent]]
login = "alice@example.test"
name = "Alice Rossi"
password_hash = %q
queues = ["Support"]

[delivery]
smarthost = %q
smarthost_tls = "none"
concurrency = 1
timeout = "30s"
`

// submitAll sends one new message per id as alice through the submission
// port; each is queued durably once acknowledged.
func submitAll(t *testing.T, addr string, ids []string) {
	t.Helper()
	c, err := dialSMTP(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", testLogin, testPassword)); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	for _, id := range ids {
		msg := "From: Alice <" + testLogin + ">\r\nTo: customer@remote.test\r\nSubject: reply " + id + "\r\n" +
			"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + id + ">\r\n\r\nHello from " + id + ".\r\n"
		if err := c.SendMail(testLogin, []string{"customer@remote.test"}, strings.NewReader(msg)); err != nil {
			t.Fatalf("submit %s: %v", id, err)
		}
	}
	c.Quit()
}

// smarthost is a plain SMTP server on loopback standing in for the relay:
// it accepts the first acceptFirst messages, holds the next one without
// answering until release, then accepts everything.
type smarthost struct {
	addr        string
	acceptFirst int
	dkimTXT     string

	held     chan string   // the Message-ID being held
	released chan struct{} // closed by release
	progress chan struct{} // a message was confirmed

	mu        sync.Mutex
	confirmed map[string]int // Message-ID -> 250s sent
	received  map[string]int // Message-ID -> bodies read
	holding   bool
	bad       []string // Message-IDs whose DKIM signature failed
}

func startSmarthost(t *testing.T, acceptFirst int) *smarthost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smarthost{
		addr: ln.Addr().String(), acceptFirst: acceptFirst,
		held: make(chan string, 1), released: make(chan struct{}), progress: make(chan struct{}, 1),
		confirmed: map[string]int{}, received: map[string]int{},
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smarthostSession{s}, nil }))
	srv.ErrorLog = log.New(io.Discard, "", 0) // the kill resets a connection
	go srv.Serve(ln)
	t.Cleanup(func() {
		s.release()
		srv.Close()
	})
	return s
}

// disarm makes the smarthost accept everything from now on, holding
// nothing.
func (s *smarthost) disarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holding = true
}

func (s *smarthost) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.released:
	default:
		close(s.released)
	}
}

// data records a message and decides its reply: nil is 250.
func (s *smarthost) data(raw []byte) error {
	id := messageID(raw)
	verified := s.verify(raw)
	s.mu.Lock()
	s.received[id]++
	if !verified {
		s.bad = append(s.bad, id)
	}
	hold := !s.holding && len(s.confirmed) == s.acceptFirst
	if hold {
		s.holding = true
	}
	s.mu.Unlock()
	if hold {
		s.held <- id
		<-s.released
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "gone"}
	}
	s.mu.Lock()
	s.confirmed[id]++
	s.mu.Unlock()
	select {
	case s.progress <- struct{}{}:
	default:
	}
	return nil
}

func (s *smarthost) verify(raw []byte) bool {
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if name != "e2e._domainkey.example.test" {
				return nil, fmt.Errorf("no TXT record for %s", name)
			}
			return []string{s.dkimTXT}, nil
		},
		MaxVerifications: 3,
	})
	return err == nil && len(verifs) == 1 && verifs[0].Err == nil && verifs[0].Domain == "example.test"
}

func (s *smarthost) waitHeld(t *testing.T) string {
	t.Helper()
	select {
	case id := <-s.held:
		return id
	case <-time.After(loadTimeout):
		t.Fatalf("the smarthost got %d messages and held none within %v", len(s.confirmedIDs()), loadTimeout)
		return ""
	}
}

// waitConfirmed waits until every id has been confirmed.
func (s *smarthost) waitConfirmed(t *testing.T, ids []string) {
	t.Helper()
	deadline := time.After(loadTimeout)
	for {
		confirmed := s.confirmedIDs()
		missing := 0
		for _, id := range ids {
			if confirmed[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		select {
		case <-s.progress:
		case <-deadline:
			t.Fatalf("%d of %d messages never reached the smarthost after the restart", missing, len(ids))
		}
	}
}

func (s *smarthost) confirmedIDs() map[string]int { return s.snapshot(s.confirmed) }
func (s *smarthost) receivedIDs() map[string]int  { return s.snapshot(s.received) }

func (s *smarthost) snapshot(m map[string]int) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *smarthost) badSignatures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bad...)
}

type smarthostSession struct{ s *smarthost }

func (*smarthostSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*smarthostSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*smarthostSession) Reset()                               {}
func (*smarthostSession) Logout() error                        { return nil }
func (ss *smarthostSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return ss.s.data(raw)
}

func messageID(raw []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return strings.Trim(strings.TrimSpace(msg.Header.Get("Message-ID")), "<>")
}
