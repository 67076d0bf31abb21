package gateway_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/testutil"
)

// Wrap-up codes (issue 19 item 1) end to end: the keyword announced in
// FLAGS, set by STORE as Thunderbird does, required to resolve (NO
// [CANNOT] naming the codes), the email command, the metric.

// wrapupDesk is gestureDesk with wrap-up codes on Support, required to
// resolve and to transfer.
func wrapupDesk(t *testing.T) (*gateway.Gateway, *sink) {
	t.Helper()
	snk := startSink(t)
	cfg := testutil.Config(t, fmt.Sprintf("[delivery]\nsmarthost = %q\nsmarthost_tls = \"none\"\n", snk.addr))
	cfg.Listen.Submission = "127.0.0.1:0"
	q := cfg.QueueByName("Support")
	q.Wrapup = []config.Wrapup{{Code: "refund", Name: "Refund granted"}, {Code: "info", Name: "info"}}
	q.WrapupRequired = []string{config.WrapupOnResolve, config.WrapupOnTransfer}
	return startGatewayCfg(t, cfg), snk
}

func TestWrapupKeywordRequiredToResolve(t *testing.T) {
	g, _ := wrapupDesk(t)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	c := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	sel, err := c.Select("Queues/Support", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, kw := range []imap.Flag{"$wrapup_refund", "$wrapup_info"} {
		if !slices.Contains(sel.Flags, kw) {
			t.Errorf("FLAGS %v lacks %s", sel.Flags, kw)
		}
	}
	if !slices.Contains(sel.PermanentFlags, imap.FlagWildcard) {
		t.Errorf("PERMANENTFLAGS %v: clients can't set keywords", sel.PermanentFlags)
	}
	// Without a code, the move to Resolved is refused, naming the codes.
	_, err = c.Move(imap.SeqSetNum(1), "Resolved").Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeCannot ||
		!strings.Contains(ie.Text, "queue Support needs a wrap-up code to resolve session "+s.ID+": tag a message with one of $wrapup_refund (Refund granted), $wrapup_info") {
		t.Fatalf("MOVE to Resolved without a code: %v", err)
	}
	// Thunderbird's tag (any case taken), then the move.
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{"$Wrapup_Refund"}}, nil).Close(); err != nil {
		t.Fatalf("STORE +FLAGS $Wrapup_Refund: %v", err)
	}
	if _, err := c.Move(imap.SeqSetNum(1), "Resolved").Wait(); err != nil {
		t.Fatalf("MOVE to Resolved with a code: %v", err)
	}
	rep := report(t, g, s.ID)
	if rep.Session.Status != router.StatusResolved || !slices.Equal(rep.Session.Wrapup, []string{"refund"}) {
		t.Errorf("session %s with codes %v", rep.Session.Status, rep.Session.Wrapup)
	}
	if got := lastEvent(rep, "wrapup"); got != "refund (Refund granted) in queue Support" {
		t.Errorf("wrapup event %q", got)
	}
	res, err := c.Select("Resolved", nil).Wait()
	if err != nil || res.NumMessages != 1 {
		t.Fatalf("Resolved: %+v %v", res, err)
	}
	fetched, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(fetched) != 1 || !slices.Contains(fetched[0].Flags, "$wrapup_refund") {
		t.Errorf("flags in Resolved: %+v %v", fetched, err)
	}
	if v := scrapeMetrics(t, g).value("mxdesk_wrapups_total", "queue", "Support", "code", "refund"); v != 1 {
		t.Errorf("mxdesk_wrapups_total{Support,refund} = %v, want 1", v)
	}
}

func TestWrapupEmailCommand(t *testing.T) {
	g, _ := wrapupDesk(t)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	reply := func(top string) string {
		return strings.Replace(muttCommandsOnly, "#note la cliente parla di un secondo addebito, competenza dell'amministrazi=\none =E2=80=93 giro\n#transfer Billing\n", top, 1)
	}
	for top, want := range map[string]string{
		"#transfer Billing\n": "line 1: #transfer Billing: queue Support needs a wrap-up code to transfer session " + s.ID,
		"#resolve\n":          "line 1: #resolve: queue Support needs a wrap-up code to resolve",
		"#wrapup nope\n":      `line 1: #wrapup nope: "nope" is not a wrap-up code of queue Support: one of $wrapup_refund (Refund granted), $wrapup_info`,
	} {
		_, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(reply(top)))
		if _, msg := smtpCode(err); !strings.Contains(msg, want) {
			t.Errorf("%q: %v, want %s", top, err, want)
		}
	}
	// The code comes first, whatever the order written.
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(reply("#resolve\n#wrapup INFO\n"))); err != nil {
		t.Fatal(err)
	}
	rep := report(t, g, s.ID)
	if rep.Session.Status != router.StatusResolved || !slices.Equal(rep.Session.Wrapup, []string{"info"}) {
		t.Errorf("session %s with codes %v", rep.Session.Status, rep.Session.Wrapup)
	}
	if got := imapMessage(t, g, "alice@example.test", "Resolved", "c1@customer.test"); !strings.Contains(got, "c1@customer.test") {
		t.Error("the session is not in alice's Resolved over IMAP")
	}
	if v := scrapeMetrics(t, g).value("mxdesk_wrapups_total", "queue", "Support", "code", "info"); v != 1 {
		t.Errorf("mxdesk_wrapups_total{Support,info} = %v, want 1", v)
	}
	// The supervisor page counts today's codes per queue.
	resp := supervisorGet(t, t.Context(), g, "/supervisor/snapshot", "carol@example.test", testutil.Password)
	var v gateway.SupervisorView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []gateway.SupervisorWrapup{{Code: "refund", Name: "Refund granted", Count: 0}, {Code: "info", Name: "info", Count: 1}}
	if len(v.Queues) != 2 || !slices.Equal(v.Queues[0].Wrapups, want) || len(v.Queues[1].Wrapups) != 0 {
		t.Errorf("supervisor queues %+v, want Support's wrap-ups %+v", v.Queues, want)
	}
}

// TestWrapupCountsInBrowser: the supervisor page's "Wrap-ups today" cell
// lists the queue's codes by name and follows a code recorded over IMAP
// live, in headless Chromium.
func TestWrapupCountsInBrowser(t *testing.T) {
	exe := chromium(t)
	g, _ := wrapupDesk(t)
	cell := chromedp.CSS(`tr[data-queue="Support"] td.wrapups`)
	ctx := openSupervisorPage(t, exe, g, "carol@example.test", cell)
	if got := text(t, ctx, cell); got != "Refund granted 0, info 0" {
		t.Errorf("Support's wrap-ups %q, want both codes at 0", got)
	}
	poll(t, ctx, `document.getElementById("live-text").textContent === "live"`, "the event stream to open")
	customerWrites(t, g, "support@example.test", carlaWrites)
	c := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	if _, err := c.Select("Queues/Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{"$wrapup_refund"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, `document.querySelector('tr[data-queue="Support"] td.wrapups').textContent === "Refund granted 1, info 0"`,
		"Support's refund count to become 1")
}
