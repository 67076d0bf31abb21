package imapserver_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mxdesk/imapserver"
	"mxdesk/testutil"
)

func TestLogin(t *testing.T) {
	h := newHarness(t)
	c := h.dial()
	wantCode(t, c.Login(alice, "wrong").Wait(), imap.StatusResponseTypeNo, imap.ResponseCodeAuthenticationFailed)
	wantCode(t, c.Login("mallory@example.test", testutil.Password).Wait(), imap.StatusResponseTypeNo, imap.ResponseCodeAuthenticationFailed)
	if err := c.Login("ALICE@example.test", testutil.Password).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticatePlain(t *testing.T) {
	h := newHarness(t)
	c := h.dial()
	if err := c.Authenticate(sasl.NewPlainClient("", bob, "wrong")); err == nil {
		t.Fatal("AUTHENTICATE with a wrong password succeeded")
	}
	if err := c.Authenticate(sasl.NewPlainClient("", bob, testutil.Password)); err != nil {
		t.Fatalf("AUTHENTICATE PLAIN: %v", err)
	}
	c.selectBox("Queues/Billing")
}

// Failed logins are limited per connection (SPEC §10).
func TestLoginFailuresDropConnection(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	for i := 1; i <= 3; i++ {
		rc.send("a" + string(rune('0'+i)) + " LOGIN alice@example.test wrong\r\n")
	}
	var got []string
	for {
		rc.c.SetReadDeadline(timeFromNow())
		l, err := rc.br.ReadString('\n')
		if err != nil {
			break
		}
		got = append(got, strings.TrimSpace(l))
	}
	if len(got) != 3 || !strings.HasPrefix(got[0], "a1 NO [AUTHENTICATIONFAILED]") || got[2] != "* BYE Too many failed logins" {
		t.Fatalf("responses = %q, want a BYE and the connection closed", got)
	}
	h.login(alice) // the server still serves
}

func TestAuthNeedsTLS(t *testing.T) {
	h := newHarnessOpts(t, imapserver.Options{})
	c := h.dial()
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapLoginDisabled) || caps.Has(imap.AuthCap("PLAIN")) {
		t.Errorf("caps without TLS = %v, want LOGINDISABLED and no AUTH=PLAIN", caps)
	}
	wantCode(t, c.Login(alice, testutil.Password).Wait(), imap.StatusResponseTypeNo, imap.ResponseCodePrivacyRequired)
	if err := c.Authenticate(sasl.NewPlainClient("", alice, testutil.Password)); err == nil {
		t.Fatal("AUTHENTICATE without TLS succeeded")
	}
}

func TestStartTLS(t *testing.T) {
	serverTLS, clientTLS := testutil.TLS(t)
	h := newHarnessOpts(t, imapserver.Options{TLSConfig: serverTLS})
	c, err := imapclient.DialStartTLS(h.addr, &imapclient.Options{TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(alice, testutil.Password).Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestCapabilities(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []imap.Cap{
		imap.CapIMAP4rev1, imap.CapIdle, imap.CapMove, imap.CapUIDPlus, imap.CapNamespace,
		imap.CapSpecialUse, imap.CapListExtended, imap.CapListStatus, imap.CapChildren,
		imap.CapUnselect, imap.CapESearch, imap.CapLiteralPlus, imap.CapStatusSize, imap.CapBinary,
		imap.CapID, imap.CapMultiAppend, imap.CapSort, imap.CapESort, "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT",
		"APPENDLIMIT=26214400", imap.CapIMAP4rev2, imap.CapSearchRes,
	} {
		if _, ok := caps[want]; !ok {
			t.Errorf("capability %s missing from %v", want, caps)
		}
	}
	for _, not := range []imap.Cap{imap.CapQuota, imap.CapLiteralMinus} {
		if _, ok := caps[not]; ok {
			t.Errorf("%s advertised", not)
		}
	}
}
