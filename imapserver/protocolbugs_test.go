package imapserver_test

import (
	"strings"
	"testing"
)

// Issue 21, "Protocol bugs found": each test sends the exact bytes that
// showed the bug.

// A LIST or LSUB pattern with an unterminated modified UTF-7 shift ("&"
// without its "-") is the client's error: BAD [CLIENTBUG], like a mailbox
// name, never NO [SERVERBUG]. The connection goes on.
func TestListPatternBadModifiedUTF7(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	for _, cmd := range []string{
		`LIST "" "Queues/&Jjo"`,
		`LIST "" "&"`,
		`LIST "" foo&bar*`,
		`LSUB "" "Queues/&AOk*"`,
		`LIST (SUBSCRIBED) "" ("*" "&Jjo")`,
	} {
		untagged, st := rc.cmd("a", cmd)
		if !strings.HasPrefix(st, "a BAD [CLIENTBUG]") || len(untagged) != 0 {
			t.Errorf("%s: %q %s, want a BAD [CLIENTBUG] and no LIST", cmd, untagged, st)
		}
		if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
			t.Fatalf("NOOP after %s: %s", cmd, st)
		}
	}
	// A well-formed shift still matches.
	if untagged, st := rc.cmd("a", `LIST "" "Queues/&Jjo-*"`); !strings.HasPrefix(st, "a OK") {
		t.Errorf("valid pattern: %q %s", untagged, st)
	}
}

// ENVELOPE of a group holding only a comment ("Cc: group2: (foo) ;") is the
// group's two markers: the comment is no member (RFC 5322 3.4: group-list
// may be CFWS alone), so no ("foo" NIL "MISSING_MAILBOX" "MISSING_DOMAIN").
func TestEnvelopeGroupWithOnlyAComment(t *testing.T) {
	h := newHarness(t)
	h.deliverRaw("support@example.test", "From: carla@customer.test\r\n"+
		"To: support@example.test\r\n"+
		"Cc: group1: (comment) a@b.example;, group2: (foo) ;\r\n"+
		"Subject: groups\r\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\nbody\r\n")
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	rc.cmd("s", "SELECT Queues/Support")
	untagged, st := rc.cmd("f", "FETCH 1 (ENVELOPE)")
	if !strings.HasPrefix(st, "f OK") || len(untagged) != 1 {
		t.Fatalf("FETCH ENVELOPE: %q %s", untagged, st)
	}
	wantCc := `((NIL NIL "group1" NIL) ("comment" NIL "a" "b.example") (NIL NIL NIL NIL) ` +
		`(NIL NIL "group2" NIL) (NIL NIL NIL NIL))`
	if !strings.Contains(untagged[0], wantCc) {
		t.Errorf("ENVELOPE %s\nwant Cc %s", untagged[0], wantCc)
	}
	if strings.Contains(untagged[0], `"foo"`) {
		t.Errorf("the comment became a member: %s", untagged[0])
	}
}
