package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store/badgerstore"
)

// exeAsPDF is a message to Support with a Windows executable named
// invoice.pdf: policy removes it and quarantines the original.
func exeAsPDF(msgID, subject string) []byte {
	pe := make([]byte, 256)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3C:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	return []byte("From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: " + subject + "\r\n" +
		"Message-ID: <" + msgID + ">\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nthe invoice\r\n" +
		"--b\r\nContent-Type: application/pdf; name=invoice.pdf\r\nContent-Disposition: attachment; filename=invoice.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(pe) + "\r\n--b--\r\n")
}

// quarantined is a message delivered with an attachment removed.
type quarantined struct {
	session string
	raw     []byte
}

// deliverBlocked delivers exeAsPDF messages with Message-IDs ids.
func deliverBlocked(t *testing.T, r *router.Router, ids ...string) []quarantined {
	t.Helper()
	var out []quarantined
	for _, id := range ids {
		raw := exeAsPDF(id, "=?utf-8?q?fattura_n=C2=B0_7?= "+id)
		d, err := r.Deliver(context.Background(), router.Envelope{From: "carla@customer.test", To: []string{"support@example.test"}}, raw)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, quarantined{d.Session, raw})
	}
	return out
}

// deliverBlockedOffline is deliverBlocked on cfg's store, closed after.
func deliverBlockedOffline(t *testing.T, cfg *config.Config, ids ...string) []quarantined {
	t.Helper()
	st, err := badgerstore.Open(filepath.Join(cfg.DataDir, "store"), badgerstore.Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := router.New(cfg, st, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return deliverBlocked(t, r, ids...)
}

var quarantineLine = regexp.MustCompile(`(?m)^(\d+)\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+(S-\w{5})\s+carla@customer\.test\s+(part 2 "invoice\.pdf" .*)$`)

// checkQuarantineCommands runs list, show and release on path, whose
// quarantine holds the originals of qs (two): the first is released.
func checkQuarantineCommands(t *testing.T, path string, qs []quarantined) {
	t.Helper()
	status, out, errOut := runCmd(t, "", "quarantine", "list", "--config", path)
	if status != 0 || errOut != "" {
		t.Fatalf("quarantine list: status %d, stderr %q", status, errOut)
	}
	if !strings.HasPrefix(out, "ID  CREATED ") || !strings.Contains(out, "  REMOVED\n") {
		t.Errorf("quarantine list: no header line:\n%s", out)
	}
	lines := quarantineLine.FindAllStringSubmatch(out, -1)
	if len(lines) != 2 || lines[0][2] != qs[0].session || lines[1][2] != qs[1].session {
		t.Fatalf("quarantine list: want lines for %s and %s:\n%s", qs[0].session, qs[1].session, out)
	}
	id, id2 := lines[0][1], lines[1][1]

	status, out, errOut = runCmd(t, "", "quarantine", "show", id, "--config", path)
	if status != 0 || errOut != "" {
		t.Fatalf("quarantine show: status %d, stderr %q", status, errOut)
	}
	for _, want := range []string{
		"Quarantine     " + id + "\n", "Session        " + qs[0].session + "\n", "Envelope from  carla@customer.test\n",
		"Envelope to    support@example.test\n", "Size           " + formatSize(len(qs[0].raw)) + "\n",
		"\nRemoved (1)\n  part 2 \"invoice.pdf\" (", "blocked type exe\n",
		"\nHeader of the original\n  From: Carla <carla@customer.test>\n", "  Subject: fattura n° 7 a-1@customer.test\n",
		"  Message-ID: <a-1@customer.test>\n  MIME-Version: 1.0\n  Content-Type: multipart/mixed; boundary=b\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("quarantine show lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^Created        \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T$`).MatchString(out) {
		t.Errorf("quarantine show: no Created time in Europe/Rome:\n%s", out)
	}
	if strings.Contains(out, "the invoice") {
		t.Errorf("quarantine show prints the body:\n%s", out)
	}

	status, out, errOut = runCmd(t, "", "quarantine", "show", "--raw", id, "--config", path)
	if status != 0 || errOut != "" || out != string(qs[0].raw) {
		t.Errorf("quarantine show --raw: status %d, stderr %q, want the original:\n%s", status, errOut, out)
	}
	status, out, _ = runCmd(t, "", "quarantine", "show", id, "--json", "--config", path)
	var q gateway.AdminQuarantinedMessage
	if err := json.Unmarshal([]byte(out), &q); status != 0 || err != nil || q.Session != qs[0].session || len(q.Header) == 0 {
		t.Errorf("quarantine show --json: status %d, %v\n%s", status, err, out)
	}
	status, out, _ = runCmd(t, "", "quarantine", "list", "--json", "--config", path)
	var list []gateway.AdminQuarantined
	if err := json.Unmarshal([]byte(out), &list); status != 0 || err != nil || len(list) != 2 {
		t.Errorf("quarantine list --json: status %d, %v\n%s", status, err, out)
	}

	status, out, errOut = runCmd(t, "", "quarantine", "release", id, "--config", path)
	if want := "quarantine " + id + " released: the original is filed in session " + qs[0].session + "\n"; status != 0 || out != want {
		t.Errorf("quarantine release: status %d, stdout %q, stderr %q; want %q", status, out, errOut, want)
	}
	_, out, _ = runCmd(t, "", "session", "show", qs[0].session, "--config", path)
	if !strings.Contains(out, "Messages (2)") || !regexp.MustCompile(`released +admin:\S+ +quarantine `+id+` released whole`).MatchString(out) {
		t.Errorf("session show after release: want 2 messages and a released event by admin:<user>:\n%s", out)
	}

	status, out, _ = runCmd(t, "", "quarantine", "list", "--config", path)
	if lines := quarantineLine.FindAllStringSubmatch(out, -1); status != 0 || len(lines) != 1 || lines[0][1] != id2 {
		t.Errorf("quarantine list after release: status %d, want %s only:\n%s", status, id2, out)
	}
	for _, args := range [][]string{{"show", id}, {"show", id, "--raw"}, {"release", id}} {
		status, out, errOut = runCmd(t, "", append(append([]string{"quarantine"}, args...), "--config", path)...)
		if want := "mxdesk: nothing in quarantine with ID " + id + "\n"; status != 1 || out != "" || errOut != want {
			t.Errorf("%v when gone: status %d, stdout %q, stderr %q; want 1 and %q", args, status, out, errOut, want)
		}
	}
}

// startServer starts the gateway of cfg; it stops when the test ends.
func startServer(t *testing.T, cfg *config.Config) *gateway.Gateway {
	t.Helper()
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestQuarantineCommandsOffline(t *testing.T) {
	path, cfg := sessionConfig(t)
	qs := deliverBlockedOffline(t, cfg, "a-1@customer.test", "a-2@customer.test")
	checkQuarantineCommands(t, path, qs)
}

func TestQuarantineCommandsOnline(t *testing.T) {
	path, cfg := sessionConfig(t)
	g := startServer(t, cfg)
	qs := deliverBlocked(t, g.Router(), "a-1@customer.test", "a-2@customer.test")
	checkQuarantineCommands(t, path, qs)
}

// delete deletes the original for good; the cleaned copy stays.
func TestQuarantineDelete(t *testing.T) {
	path, cfg := sessionConfig(t)
	g := startServer(t, cfg)
	qs := deliverBlocked(t, g.Router(), "d-1@customer.test", "d-2@customer.test")
	_, out, _ := runCmd(t, "", "quarantine", "list", "--config", path)
	lines := quarantineLine.FindAllStringSubmatch(out, -1)
	if len(lines) != 2 {
		t.Fatalf("quarantine list: want 2 entries:\n%s", out)
	}
	id, id2 := lines[0][1], lines[1][1]

	status, out, errOut := runCmd(t, "", "quarantine", "delete", id, "--config", path)
	if status != 0 || out != "quarantine "+id+" deleted\n" {
		t.Errorf("quarantine delete: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, errOut = runCmd(t, "", "quarantine", "delete", id2, "--json", "--config", path)
	if status != 0 || strings.Join(strings.Fields(out), " ") != `{ "deleted": `+id2+` }` {
		t.Errorf("quarantine delete --json: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, _ = runCmd(t, "", "quarantine", "list", "--config", path)
	if status != 0 || out != "quarantine is empty\n" {
		t.Errorf("quarantine list after delete: status %d\n%s", status, out)
	}
	status, out, errOut = runCmd(t, "", "quarantine", "delete", id, "--config", path)
	if want := "mxdesk: nothing in quarantine with ID " + id + "\n"; status != 1 || out != "" || errOut != want {
		t.Errorf("delete when gone: status %d, stdout %q, stderr %q; want 1 and %q", status, out, errOut, want)
	}
	_, out, _ = runCmd(t, "", "session", "show", qs[0].session, "--config", path)
	if !strings.Contains(out, "Messages (1)") {
		t.Errorf("session show after delete: want the cleaned copy still there:\n%s", out)
	}
}

func TestQuarantineUsage(t *testing.T) {
	for _, args := range [][]string{
		{"quarantine"},
		{"quarantine", "frobnicate"},
		{"quarantine", "list"},
		{"quarantine", "list", "--config", "x.toml", "extra"},
		{"quarantine", "show", "--config", "x.toml"},
		{"quarantine", "show", "1", "2", "--config", "x.toml"},
		{"quarantine", "show", "Q-1", "--config", "x.toml"},
		{"quarantine", "show", "1", "--raw", "--json", "--config", "x.toml"},
		{"quarantine", "show", "1"},
		{"quarantine", "release", "--config", "x.toml"},
		{"quarantine", "release", "-3", "--config", "x.toml"},
		{"quarantine", "delete", "1", "--nope", "--config", "x.toml"},
		{"quarantine", "delete", "1"},
	} {
		if status, out, errOut := runCmd(t, "", args...); status != 2 || out != "" || errOut == "" {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want 2 and a message", args, status, out, errOut)
		}
	}
	for _, args := range [][]string{{"help", "quarantine"}, {"quarantine", "--help"}, {"quarantine", "show", "--help"}, {"quarantine", "release", "-h"}, {"quarantine", "delete", "-h"}} {
		if status, out, _ := runCmd(t, "", args...); status != 0 || !strings.Contains(out, "mxdesk quarantine") {
			t.Errorf("%v: status %d, stdout %q", args, status, out)
		}
	}
	if _, out, _ := runCmd(t, "", "help"); !strings.Contains(out, "\n  quarantine ") {
		t.Errorf("usage does not list quarantine:\n%s", out)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1.0 KiB", 14540: "14.2 KiB", 3 << 20: "3.0 MiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPrintQuarantineList(t *testing.T) {
	var b strings.Builder
	printQuarantineList(&b, []gateway.AdminQuarantined{
		{ID: 3, Session: "S-N44FB", From: "carla@customer.test", Removed: []string{`part 2 "a.exe" (exe): no`, `part 3 "b.zip" (zip): no`}},
		{ID: 12, Session: "S-68ARD", Removed: []string{"part 1 \"x\x1b[2J\" (exe): no"}},
	}, time.UTC)
	want := `ID  CREATED           SESSION  FROM                 REMOVED
3   0001-01-01 00:00  S-N44FB  carla@customer.test  part 2 "a.exe" (exe): no
                                                    part 3 "b.zip" (zip): no
12  0001-01-01 00:00  S-68ARD  —                    part 1 "x [2J" (exe): no
`
	if b.String() != want {
		t.Errorf("list:\n%s\nwant:\n%s", b.String(), want)
	}
}
