package smtpserver_test

import (
	"context"
	"strings"
	"testing"

	"mxdesk/panics"
	"mxdesk/router"
	"mxdesk/testutil"
)

// TestSubmissionPanicCounted: a panic while a message is handled (here in
// Submit) costs the client its connection with go-smtp's 421, and is
// counted and logged at error level like every recovered panic.
func TestSubmissionPanicCounted(t *testing.T) {
	e := startSubmission(t, false)
	e.srv.SetSubmit(func(context.Context, *router.Agent, router.Envelope, []byte) (router.Submitted, error) {
		panic(panics.Deliberate("bug in Submit"))
	})
	c := e.dial(t, plainAuth(testutil.Password))
	before := panics.Counts()[panics.SMTPSession]
	if _, err := send(t, c, "carla@customer.test", reply); err == nil {
		t.Fatal("a message whose handling panicked was accepted")
	} else if code, _ := smtpCode(err); code != 421 {
		t.Errorf("DATA after a panic: %v, want 421", err)
	}
	testutil.WaitPanics(t, panics.SMTPSession, before+1)
	line := e.logs.line("panic in SMTP session")
	for _, want := range []string{"level=ERROR", "where=smtp_session", "bug in Submit", "smtpserver_test.TestSubmissionPanicCounted"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q: %s", want, line)
		}
	}
}
