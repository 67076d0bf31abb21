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
