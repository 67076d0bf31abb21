package gateway_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// TestSubmittedMailIsDelivered is the outbound path through the wired
// gateway: a message an agent submits leaves through the delivery worker
// to the smarthost, which Close stops before the store.
func TestSubmittedMailIsDelivered(t *testing.T) {
	sink := startSink(t)
	cfg := testutil.Config(t, "[delivery]\nsmarthost = \""+sink.addr+"\"\nsmarthost_tls = \"none\"\n")
	cfg.Listen.Submission = "127.0.0.1:0"
	g, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			g.Close()
		}
	})

	c, err := smtp.Dial(g.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
		t.Fatal(err)
	}
	msg := "From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: out\r\nMessage-ID: <out-1@client.test>\r\n\r\nhello\r\n"
	if err := c.SendMail("alice@example.test", []string{"bob@remote.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	select {
	case got := <-sink.got:
		if !strings.Contains(got, "Message-ID: <out-1@client.test>") {
			t.Errorf("the smarthost got:\n%s", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the submitted message did not reach the smarthost")
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	closed = true
}

// sink is a plain SMTP server that accepts everything. It remembers the
// envelope recipients of each message by its Message-ID.
type sink struct {
	addr string
	got  chan string

	mu    sync.Mutex
	rcpts map[string][]string // Message-ID (without <>) -> RCPT TO
}

func startSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{addr: ln.Addr().String(), got: make(chan string, 16), rcpts: map[string][]string{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// rcptsOf returns the envelope recipients of the message with msgID.
func (s *sink) rcptsOf(msgID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcpts[msgID]
}

type sinkSession struct {
	s     *sink
	rcpts []string
}

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.rcpts = append(ss.rcpts, to)
	return nil
}
func (ss *sinkSession) Reset()     { ss.rcpts = nil }
func (*sinkSession) Logout() error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(b))); err == nil {
		ss.s.mu.Lock()
		ss.s.rcpts[strings.Trim(h.Get("Message-Id"), "<>")] = slices.Clone(ss.rcpts)
		ss.s.mu.Unlock()
	}
	ss.s.got <- string(b)
	return nil
}
