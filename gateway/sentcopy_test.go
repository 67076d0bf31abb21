package gateway_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mxdesk/gateway"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/testutil/dovecottest"
)

// sentCopyLines are the [[account]] lines of a test: replies leave
// through up, logged in with u's own password file (so that a wrong
// password_file breaks only IMAP), and are copied to "Sent".
func sentCopyLines(u *dovecottest.User, up *upstreamSMTP) string {
	return fmt.Sprintf("smtp = %q\nsmtp_tls = \"none\"\nsmtp_login = %q\nsmtp_password_file = %q\nsent_folder = \"Sent\"",
		up.addr, u.Login, u.PasswordFile)
}

// replyThroughAccount sends alice's reply with Message-ID <id@desk.test>
// to carla's q1 and waits until the account's SMTP got it.
func replyThroughAccount(t *testing.T, a *accountEnv, up *upstreamSMTP, id string) {
	t.Helper()
	c := dialSMTP(t, a.g.Addr("submission"))
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
		t.Fatal(err)
	}
	reply := "From: alice@example.test\r\nTo: carla@customer.test\r\nSubject: Re: where is my order\r\n" +
		"In-Reply-To: <q1@customer.test>\r\nMessage-ID: <" + id + "@desk.test>\r\n\r\nIt left today.\r\n"
	if err := c.SendMail("alice@example.test", []string{"carla@customer.test"}, strings.NewReader(reply)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.got:
	case <-time.After(30 * time.Second):
		t.Fatal("the reply did not reach the account's SMTP")
	}
}

// waitSentCopies polls the store until n copies wait for sent_folder.
func waitSentCopies(t *testing.T, g *gateway.Gateway, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var copies []store.SentCopy
		err := g.Router().View(func(rd store.Reader) (err error) {
			copies, err = rd.SentCopies("help@upstream.test", 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(copies) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d copies wait for sent_folder after 20s, want %d: %+v", len(copies), n, copies)
		}
		<-tick.C
	}
}

// sentMessageIDs lists the Message-IDs in the upstream Sent folder, with
// "+seen" after those flagged \Seen.
func sentMessageIDs(t *testing.T, c *imapclient.Client) []string {
	t.Helper()
	sel, err := c.Select("Sent", nil).Wait()
	if err != nil || sel.NumMessages == 0 {
		if err != nil {
			t.Fatal(err)
		}
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, sel.NumMessages)
	msgs, err := c.Fetch(all, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		id := m.Envelope.MessageID
		if slices.Contains(m.Flags, imap.FlagSeen) {
			id += "+seen"
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// TestAccountReplyCopiedToUpstreamSent: with sent_folder, an agent's
// reply that left through the account's SMTP is appended once, \Seen, to
// the upstream Sent folder, and its record is gone.
func TestAccountReplyCopiedToUpstreamSent(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	up := startUpstreamSMTP(t, u.Login, u.Password)
	a := startAccountUser(t, u, "INBOX", sentCopyLines(u, up))
	if err := a.upstream.Create("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("q1", "carla@customer.test", "where is my order"))
	a.waitImport(t, "q1")

	replyThroughAccount(t, a, up, "r1")
	waitUpstream(t, a.upstream, "Sent", func(msgs []*imapclient.FetchMessageBuffer) bool { return len(msgs) >= 1 })
	waitSentCopies(t, a.g, 0)
	if got := sentMessageIDs(t, a.upstream); !slices.Equal(got, []string{"r1@desk.test+seen"}) {
		t.Errorf("upstream Sent holds %q, want the reply once, \\Seen", got)
	}
}

// TestAccountSentCopyWaitsForIMAP: a reply sent while the account's IMAP
// login fails is copied once the reload fixes it, exactly once; a copy
// already in the folder (a crash after the APPEND) is not appended again.
func TestAccountSentCopyWaitsForIMAP(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	up := startUpstreamSMTP(t, u.Login, u.Password)
	a := startAccountUser(t, u, "INBOX", sentCopyLines(u, up))
	if err := a.upstream.Create("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("q1", "carla@customer.test", "where is my order"))
	a.waitImport(t, "q1")

	wrong := t.TempDir() + "/wrong"
	writeFile(t, wrong, "not-the-password\n")
	a.write(t, accountTable(u, "INBOX", wrong, sentCopyLines(u, up)))
	if _, err := a.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	waitAccount(t, a.g, "invalid", "login failed")

	replyThroughAccount(t, a, up, "r1")
	replyThroughAccount(t, a, up, "r2")
	waitSentCopies(t, a.g, 2)
	// r2 made it upstream before a crash that kept its record.
	a.u.Append(t, a.upstream, "Sent", "From: help@upstream.test\r\nTo: carla@customer.test\r\n"+
		"Subject: Re: where is my order\r\nMessage-ID: <r2@desk.test>\r\n\r\nIt left today.\r\n")

	a.write(t, accountTable(u, "INBOX", u.PasswordFile, sentCopyLines(u, up)))
	if _, err := a.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	waitAccount(t, a.g, "valid", "")
	waitSentCopies(t, a.g, 0)
	if got := sentMessageIDs(t, a.upstream); !slices.Equal(got, []string{"r1@desk.test+seen", "r2@desk.test"}) {
		t.Errorf("upstream Sent holds %q, want r1 copied (\\Seen) and r2 once", got)
	}
}

// TestAccountAutoReplyCopiedToUpstreamSent: the queue's auto-reply, sent
// through the account's SMTP, is copied to sent_folder too.
func TestAccountAutoReplyCopiedToUpstreamSent(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	up := startUpstreamSMTP(t, u.Login, u.Password)
	a := startAccountUser(t, u, "INBOX", sentCopyLines(u, up),
		"[queue.auto_reply]\nenabled = true\nbody = \"Hello @{consumer}, your ticket is @{ticket_id}.\"")
	if err := a.upstream.Create("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("ar1", "carla@customer.test", "hello"))
	a.waitImport(t, "ar1")
	select {
	case <-up.got:
	case <-time.After(30 * time.Second):
		t.Fatal("the auto-reply did not reach the account's SMTP")
	}
	waitUpstream(t, a.upstream, "Sent", func(msgs []*imapclient.FetchMessageBuffer) bool { return len(msgs) >= 1 })
	waitSentCopies(t, a.g, 0)
	got := sentMessageIDs(t, a.upstream)
	if len(got) != 1 || !strings.HasSuffix(got[0], "+seen") {
		t.Errorf("upstream Sent holds %q, want the auto-reply once, \\Seen", got)
	}
}
