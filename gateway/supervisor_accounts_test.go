package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mxdesk/gateway"
	"mxdesk/testutil"
	"mxdesk/testutil/dovecottest"
)

// TestSupervisorShowsAccounts: the supervisor page has one row per
// upstream [[account]] with its address, queue, valid or invalid and the
// last error, escaped (a folder name is the upstream's text), in the
// page and in its snapshot.
func TestSupervisorShowsAccounts(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	second := `
[[account]]
address = "sales@upstream.test"
queue = "Support"
imap = %q
imap_tls = "none"
login = %q
password_file = %q
folder = "<b>Gone<b>"
[[agent]]
login = "sam@example.test"
password_hash = %q
queues = ["Support"]
role = "supervisor"
`
	e := startFromFileWith(t, "", accountTable(u, "INBOX", u.PasswordFile)+
		fmt.Sprintf(second, u.Addr(), u.Login, u.PasswordFile, testutil.PasswordHash()))
	ctx := t.Context()

	want := []gateway.SupervisorAccount{
		{Address: "help@upstream.test", Queue: "Support", Valid: true},
		{Address: "sales@upstream.test", Queue: "Support", LastError: `folder "<b>Gone<b>": imap: NO Mailbox doesn't exist: <b>Gone<b>`},
	}
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp := supervisorGet(t, ctx, e.g, "/supervisor/snapshot", "sam@example.test", testutil.Password)
		body := readAll(t, resp)
		var v gateway.SupervisorView
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("snapshot: %v: %s", err, body)
		}
		if accountsMatch(v.Accounts, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot accounts within 20s: %+v, want %+v", v.Accounts, want)
		}
		<-tick.C
	}

	resp := supervisorGet(t, ctx, e.g, "/supervisor", "sam@example.test", testutil.Password)
	page := readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /supervisor: %s", resp.Status)
	}
	for _, s := range []string{
		`<tr data-account="help@upstream.test">
      <td class="name">help@upstream.test</td><td>Support</td>
      <td><span class="pill valid">valid</span></td>`,
		`<tr data-account="sales@upstream.test">
      <td class="name">sales@upstream.test</td><td>Support</td>
      <td><span class="pill invalid">invalid</span></td>
      <td class="error">folder &#34;&lt;b&gt;Gone&lt;b&gt;&#34;: imap: NO Mailbox doesn&#39;t exist: &lt;b&gt;Gone&lt;b&gt;`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("supervisor page lacks\n%s\nin:\n%s", s, page)
		}
	}
	if strings.Contains(page, "<b>Gone") {
		t.Error("the supervisor page shows the upstream's error unescaped")
	}

	// The page's script draws the same rows from the live snapshot ("live"
	// is shown once a snapshot was rendered without an error).
	ctx = openSupervisorPage(t, chromium(t), e.g, "sam@example.test", chromedp.CSS(`#accounts tbody tr`))
	poll(t, ctx, `document.getElementById("live-text").textContent === "live"`, "the event stream to open")
	if got := text(t, ctx, chromedp.CSS(`tr[data-account="sales@upstream.test"] td.error`)); !strings.HasPrefix(got, want[1].LastError) {
		t.Errorf("the page's script shows the error %q, want %q…", got, want[1].LastError)
	}
	if got := text(t, ctx, chromedp.CSS(`tr[data-account="help@upstream.test"] .pill`)); got != "valid" {
		t.Errorf("the page's script shows help@upstream.test as %q, want valid", got)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#accounts tbody b").length`)); err != nil || n != 0 {
		t.Errorf("the page's script made %d <b> elements of the upstream's error (%v)", n, err)
	}
}

// accountsMatch compares the account rows, the last error by its start
// (Dovecot adds its timing).
func accountsMatch(got, want []gateway.SupervisorAccount) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Address != w.Address || g.Queue != w.Queue || g.Valid != w.Valid || !strings.HasPrefix(g.LastError, w.LastError) {
			return false
		}
	}
	return true
}
