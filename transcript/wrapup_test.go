package transcript_test

import (
	"encoding/json"
	"slices"
	"testing"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/transcript"
)

// TestMetadataWrapups: the wrap-up codes of a session reach the metadata
// the CRM feed sends (session.wrapup, wrapups).
func TestMetadataWrapups(t *testing.T) {
	clock := testutil.NewClock()
	cfg := testutil.Config(t, "")
	cfg.QueueByName("Support").Wrapup = []config.Wrapup{{Code: "refund", Name: "Refund granted"}}
	r := testutil.RouterOpts(t, cfg, "", router.Options{Now: clock.Now})
	th := &thread{r: r, clock: clock}
	th.id = th.deliver(t, "From: carla@customer.test\r\nTo: support@example.test\r\nSubject: refund\r\nMessage-ID: <w1@customer.test>\r\n\r\nplease\r\n").Session
	alice := th.agent(t, "alice@example.test")
	if err := r.Act(ctx, alice, th.id, router.Action{Kind: router.ActWrapup, Arg: "refund"}, router.Action{Kind: router.ActResolve}); err != nil {
		t.Fatal(err)
	}
	var tr transcript.Thread
	err := r.View(func(rd store.Reader) (err error) {
		tr, err = transcript.Load(rd, th.id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := transcript.Metadata(tr)
	if err != nil {
		t.Fatal(err)
	}
	var m transcript.SessionMeta
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Session.Wrapup, []string{"refund"}) || len(m.Wrapups) != 1 {
		t.Fatalf("session.wrapup %v, wrapups %+v\n%s", m.Session.Wrapup, m.Wrapups, data)
	}
	if w := m.Wrapups[0]; w.Code != "refund" || w.Name != "Refund granted" || w.Queue != "Support" || w.Actor != "alice@example.test" || !w.Time.Equal(clock.Now().UTC()) {
		t.Errorf("wrapup %+v", w)
	}
}
