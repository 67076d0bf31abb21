package router_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"mxdesk/router"
	"mxdesk/store"
)

// A message with an executable attachment: the agent's copy has a note in
// its place, the original waits in quarantine, and releasing it files the
// original whole into the session.
func TestBlockedAttachmentQuarantinedAndReleased(t *testing.T) {
	r := newRouter(t)
	exe := base64.StdEncoding.EncodeToString(append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 200)...))
	raw := "From: carla@customer.test\r\nSubject: invoice\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=invoice.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + exe + "\r\n--b--\r\n"
	d, err := r.Deliver(ctx, router.Envelope{From: "carla@customer.test", To: []string{"support@example.test"}}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	r.View(func(rd store.Reader) error {
		msgs, _ := rd.SessionMessages(d.Session)
		b, _ := rd.Blob(msgs[0].Blob)
		stored = string(b)
		return nil
	})
	if strings.Contains(stored, exe[:40]) || !strings.Contains(stored, "invoice.pdf") || !strings.Contains(stored, "quarantine") {
		t.Fatalf("agent's copy still has the executable or lacks the note:\n%s", stored)
	}
	list, err := r.QuarantineList()
	if err != nil || len(list) != 1 || list[0].Session != d.Session || len(list[0].Removed) != 1 {
		t.Fatalf("quarantine = %+v, %v", list, err)
	}
	_, original, err := r.Quarantined(list[0].ID)
	if err != nil || string(original) != raw {
		t.Fatalf("quarantined original differs (%v)", err)
	}
	if kinds := eventKinds(t, r, d.Session); !strings.Contains(strings.Join(kinds, ","), "attachment-removed") {
		t.Errorf("events %v", kinds)
	}
	if _, err := r.Release(ctx, list[0].ID, "admin"); err != nil {
		t.Fatal(err)
	}
	rep := mustReport(t, r, d.Session)
	if len(rep.Messages) != 2 {
		t.Errorf("%d messages after release, want the cleaned copy and the original", len(rep.Messages))
	}
	if list, _ := r.QuarantineList(); len(list) != 0 {
		t.Errorf("still in quarantine after release: %+v", list)
	}
	if _, err := r.Release(ctx, 99, "admin"); router.KindOf(err) != router.KindNotFound {
		t.Errorf("release of nothing: %v", err)
	}
}
