package imapserver_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// Thunderbird sends ID right after logging in, with these bytes
// (nsImapProtocol::ID): the server answers its name and version, logs the
// client once, and names it in the connection's later log lines.
func TestIDThunderbird(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	if _, st := rc.cmd("2", `login "alice@example.test" "secret"`); !strings.HasPrefix(st, "2 OK") {
		t.Fatalf("login: %s", st)
	}
	untagged, st := rc.cmd("3", `ID ("name" "Thunderbird" "version" "115.6.0")`)
	if !strings.HasPrefix(st, "3 OK") {
		t.Fatalf("ID: %s", st)
	}
	if len(untagged) != 1 || !strings.HasPrefix(untagged[0], `* ID ("name" "mxdesk" "version" "`) {
		t.Fatalf("ID answered %q", untagged)
	}
	h.logs.wait(t, "client identified", "client=Thunderbird/115.6.0", "login=alice@example.test")
	if _, st := rc.cmd("4", `CREATE Projects`); !strings.HasPrefix(st, "4 OK") {
		t.Fatalf("create: %s", st)
	}
	h.logs.wait(t, "folder created", "client=Thunderbird/115.6.0")
}

// ID is answered before login too (Outlook and iOS Mail send it first),
// advertised in every state, and without the version: an anonymous peer
// learns nothing to target.
func TestIDBeforeLogin(t *testing.T) {
	h := newHarness(t)
	c := h.dial()
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapID) {
		t.Fatalf("ID not advertised before login: %v", caps)
	}
	got, err := c.ID(&imap.IDData{Name: "Microsoft Outlook", Version: "16.0"}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "mxdesk" || got.Version != "" {
		t.Fatalf("ID before login = %+v, want name mxdesk without version", got)
	}
	if err := c.Login(alice, "secret").Wait(); err != nil {
		t.Fatalf("login after ID: %v", err)
	}
	h.logs.wait(t, "logged in", "client=Microsoft Outlook/16.0")
	got, err = c.ID(nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "mxdesk" || got.Version == "" {
		t.Fatalf("ID after login = %+v, want name and version", got)
	}
}

// The client's values go to the log: control characters are replaced and
// long values cut; a second ID is not logged again.
func TestIDHostileValues(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	long := strings.Repeat("x", 200)
	rc.send("1 ID (\"name\" {9}\r\nevil\x1b[2Jx \"version\" \"" + long + "\")\r\n")
	if _, st := rc.until("1"); !strings.HasPrefix(st, "1 OK") {
		t.Fatalf("ID: %s", st)
	}
	line := h.logs.wait(t, "client identified")
	want := "client=evil?[2Jx/" + strings.Repeat("x", 64) + "…"
	if !strings.Contains(line, want) || strings.Contains(line, "\x1b") {
		t.Fatalf("logged %q, want %q", line, want)
	}
	if _, st := rc.cmd("2", `ID ("name" "other")`); !strings.HasPrefix(st, "2 OK") {
		t.Fatalf("second ID: %s", st)
	}
	if _, st := rc.cmd("3", "NOOP"); !strings.HasPrefix(st, "3 OK") {
		t.Fatalf("noop: %s", st)
	}
	if n := strings.Count(strings.Join(h.logs.all(), "\n"), "client identified"); n != 1 {
		t.Fatalf("client identified logged %d times", n)
	}
}

// RFC 2971 3.3's limits are syntax errors; NIL is fine.
func TestIDLimits(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	for _, tc := range []struct{ cmd, want string }{
		{`ID NIL`, "OK"},
		{`ID ("name" "` + strings.Repeat("v", 1025) + `")`, "BAD"},
		{`ID ("` + strings.Repeat("f", 31) + `" "v")`, "BAD"},
		{`ID (` + strings.Repeat(`"f" "v" `, 31) + `"f" "v")`, "BAD"},
		{`ID ("name")`, "BAD"},
		{`ID`, "BAD"},
	} {
		untagged, st := rc.cmd("a", tc.cmd)
		if !strings.HasPrefix(st, "a "+tc.want) {
			t.Errorf("%.60s: %s, want %s", tc.cmd, st, tc.want)
		}
		if tc.want == "OK" && (len(untagged) != 1 || untagged[0] != `* ID ("name" "mxdesk")`) {
			t.Errorf("%s answered %q", tc.cmd, untagged)
		}
	}
	// Still speaking, still not logged in: a BAD ID is no unknown command.
	if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
		t.Fatalf("noop after bad IDs: %s", st)
	}
}
