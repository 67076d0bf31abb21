package router

import (
	"slices"
	"testing"

	"mxdesk/config"
	"mxdesk/store"
)

// copiesRouter is a router that only knows a configuration: enough for
// the address rules of applyCopies.
func copiesRouter(t *testing.T) *Router {
	t.Helper()
	cfg, err := config.Parse([]byte(`
hostname = "mx.example.test"
data_dir = "`+t.TempDir()+`"
[[domain]]
name = "example.test"
[[queue]]
name = "Support"
addresses = ["support@example.test"]
`), "copies.toml")
	if err != nil {
		t.Fatal(err)
	}
	r := &Router{}
	r.cur.Store(&live{cfg: cfg})
	return r
}

// The copy rules read what the agent wrote, not what is left of it once
// the session's own addresses are dropped from To and Cc (a Reply All
// keeping only support@ in Cc, or mutt's header without the field).
func TestCopiesFromWhatTheAgentWrote(t *testing.T) {
	r := copiesRouter(t)
	s := store.Session{Cc: []string{"Dan <dan@partner.test>"}, Bcc: []string{"boss@example.org"}}
	in := parseInbound([]byte("To: carla@customer.test\r\nCc: support@example.test\r\nSubject: Re: x\r\n\r\nhi\r\n"),
		Envelope{To: []string{"carla@customer.test", "support@example.test"}}, "mx.example.test")
	// As Reply All's recipient rules leave it: the queue address gone
	// from the header and the lists, the emptied Cc field removed.
	in.header.Del("Cc")
	in.cc = nil
	h := in.header.Copy()
	rcpts := r.applyCopies(&h, in, &s, []string{"carla@customer.test"})
	if len(s.Cc) != 0 || h.Has("Cc") {
		t.Errorf("a Cc of only our address: session Cc %q, header %q", s.Cc, h.Get("Cc"))
	}
	if !slices.Equal(rcpts, []string{"carla@customer.test", "boss@example.org"}) || !slices.Equal(s.Bcc, []string{"boss@example.org"}) {
		t.Errorf("the Cc'd queue address taken for a Bcc: recipients %v, session Bcc %v", rcpts, s.Bcc)
	}
}

// With subject_session_id the subject is the session's, without its
// prefixes and tags: "Re: " once the customer has written (or the session
// continues a closed one), the tag at the end.
func TestReplySubjectRule(t *testing.T) {
	q := &config.Queue{SubjectSessionID: true}
	for _, tc := range []struct {
		s    store.Session
		want string
	}{
		{store.Session{ID: "S-AAAAA", Subject: "AW: Fwd: RE: Invoice [S-BBBBB]", LastInboundID: "m1@x"}, "Re: Invoice [S-AAAAA]"},
		{store.Session{ID: "S-AAAAA", Subject: "Re[2]: Invoice", Previous: "S-CCCCC"}, "Re: Invoice [S-AAAAA]"},
		{store.Session{ID: "S-AAAAA", Subject: "Invoice"}, "Invoice [S-AAAAA]"},
		{store.Session{ID: "S-AAAAA", LastInboundID: "m1@x"}, "Re: typed [S-AAAAA]"},
	} {
		if got := replySubject(q, tc.s, "Re: typed"); got != tc.want {
			t.Errorf("session subject %q: %q, want %q", tc.s.Subject, got, tc.want)
		}
	}
	if got := replySubject(&config.Queue{AllowSubjectEdit: true}, store.Session{ID: "S-AAAAA", Subject: "Invoice"}, "New words"); got != "New words" {
		t.Errorf("allow_subject_edit: %q", got)
	}
}
