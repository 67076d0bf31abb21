package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/testutil"
)

// exeAsPDF is a message to Support with a Windows executable named
// invoice.pdf: policy removes it by its content and quarantines the
// original.
func exeAsPDF(msgID string) []byte {
	pe := make([]byte, 256)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3C:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	return []byte("From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: =?utf-8?q?fattura_n=C2=B0_7?=\r\n" +
		"Message-ID: <" + msgID + ">\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nthe invoice\r\n" +
		"--b\r\nContent-Type: application/pdf; name=invoice.pdf\r\nContent-Disposition: attachment; filename=invoice.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(pe) + "\r\n--b--\r\n")
}

// adminCall calls the admin API handler h in-process as actor (none when
// "") and returns the answer.
func adminCall(t *testing.T, h http.Handler, method, path, actor string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "http://mxdesk"+path, nil)
	if actor != "" {
		req.Header.Set(gateway.AdminActorHeader, actor)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func decodeAnswer(t *testing.T, w *httptest.ResponseRecorder, what string, v any) {
	t.Helper()
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%s: %d %s %s", what, w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, w.Body)
	}
}

func TestAdminQuarantine(t *testing.T) {
	cfg := testutil.Config(t, "")
	r := testutil.Router(t, cfg, "")
	var logBuf bytes.Buffer
	h := gateway.AdminHandler(r, slog.New(slog.NewTextHandler(&logBuf, nil)))

	var empty []gateway.AdminQuarantined
	decodeAnswer(t, adminCall(t, h, "GET", "/v1/quarantine", ""), "empty list", &empty)
	if empty == nil || len(empty) != 0 {
		t.Errorf("empty quarantine: %v, want []", empty)
	}

	raw := exeAsPDF("q-1@customer.test")
	d, err := r.Deliver(context.Background(), router.Envelope{From: "carla@customer.test", To: []string{"support@example.test"}}, raw)
	if err != nil {
		t.Fatal(err)
	}
	var list []gateway.AdminQuarantined
	decodeAnswer(t, adminCall(t, h, "GET", "/v1/quarantine", ""), "list", &list)
	if len(list) != 1 || list[0].Session != d.Session || list[0].From != "carla@customer.test" ||
		len(list[0].To) != 1 || list[0].To[0] != "support@example.test" || list[0].Created.IsZero() ||
		len(list[0].Removed) != 1 || !strings.Contains(list[0].Removed[0], `"invoice.pdf"`) {
		t.Fatalf("list = %+v, want the original of %s without invoice.pdf", list, d.Session)
	}
	id := list[0].ID
	path := "/v1/quarantine/" + itoa(id)

	var q gateway.AdminQuarantinedMessage
	decodeAnswer(t, adminCall(t, h, "GET", path, ""), "show", &q)
	if q.AdminQuarantined.ID != id || q.Session != d.Session || q.Size != len(raw) || q.HeaderError != "" {
		t.Errorf("show = %+v", q)
	}
	names := map[string]string{}
	for _, f := range q.Header {
		names[f.Name] = f.Value
	}
	if names["Subject"] != "=?utf-8?q?fattura_n=C2=B0_7?=" || names["Message-ID"] != "<q-1@customer.test>" || names["MIME-Version"] != "1.0" || len(q.Header) != 6 {
		t.Errorf("show: header %+v", q.Header)
	}
	if strings.Contains(adminCall(t, h, "GET", path, "").Body.String(), "the invoice") {
		t.Error("show includes the body")
	}

	w := adminCall(t, h, "GET", path+"/raw", "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "message/rfc822" || !bytes.Equal(w.Body.Bytes(), raw) {
		t.Errorf("raw: %d %s, %d bytes, want the original's %d", w.Code, w.Header().Get("Content-Type"), w.Body.Len(), len(raw))
	}

	var rel gateway.AdminReleased
	decodeAnswer(t, adminCall(t, h, "POST", path+"/release", "jdoe\x1b[31m smith"), "release", &rel)
	if rel.Session != d.Session {
		t.Errorf("release: session %q, want %s", rel.Session, d.Session)
	}
	rep, err := r.Report(d.Session)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Messages) != 2 {
		t.Errorf("session after release: %d messages, want the cleaned copy and the original", len(rep.Messages))
	}
	if !hasEvent(rep, "released", "admin:jdoe31msmith") {
		t.Errorf("no released event by admin:jdoe31msmith: %+v", rep.Events)
	}
	if !strings.Contains(logBuf.String(), `msg="quarantine released" quarantine=`+itoa(id)+" session="+d.Session+" actor=admin:jdoe31msmith") {
		t.Errorf("release not logged:\n%s", logBuf.String())
	}
	decodeAnswer(t, adminCall(t, h, "GET", "/v1/quarantine", ""), "list after release", &list)
	if len(list) != 0 {
		t.Errorf("list after release: %+v", list)
	}

	for _, tt := range []struct {
		method, path string
		status       int
		err          string
	}{
		{"GET", path, 404, "nothing in quarantine with ID " + itoa(id)},
		{"GET", path + "/raw", 404, "nothing in quarantine with ID " + itoa(id)},
		{"POST", path + "/release", 404, "nothing in quarantine with ID " + itoa(id)},
		{"GET", "/v1/quarantine/Q-1", 400, `quarantine ID "Q-1": want a number, as mxdesk quarantine list shows`},
		{"DELETE", "/v1/quarantine/-1", 400, `quarantine ID "-1": want a number, as mxdesk quarantine list shows`},
		{"GET", path + "/release", 404, "no endpoint GET /v1/quarantine/" + itoa(id) + "/release"},
	} {
		w := adminCall(t, h, tt.method, tt.path, "")
		var e gateway.AdminError
		if err := json.Unmarshal(w.Body.Bytes(), &e); w.Code != tt.status || err != nil || e.Error != tt.err ||
			w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s, want %d {\"error\": %q}", tt.method, tt.path, w.Code, w.Body, tt.status, tt.err)
		}
	}
}

// DELETE removes the original for good; the cleaned copy stays.
func TestAdminQuarantineDelete(t *testing.T) {
	cfg := testutil.Config(t, "")
	r := testutil.Router(t, cfg, "")
	var logBuf bytes.Buffer
	h := gateway.AdminHandler(r, slog.New(slog.NewTextHandler(&logBuf, nil)))
	var list []gateway.AdminQuarantined

	d, err := r.Deliver(context.Background(), router.Envelope{From: "carla@customer.test", To: []string{"support@example.test"}}, exeAsPDF("q-2@customer.test"))
	if err != nil {
		t.Fatal(err)
	}
	decodeAnswer(t, adminCall(t, h, "GET", "/v1/quarantine", ""), "list", &list)
	if len(list) != 1 || list[0].Session != d.Session {
		t.Fatalf("list: %+v", list)
	}
	id := list[0].ID
	var del gateway.AdminDeleted
	decodeAnswer(t, adminCall(t, h, "DELETE", "/v1/quarantine/"+itoa(id), ""), "delete", &del)
	if del.Deleted != id {
		t.Errorf("delete: %+v", del)
	}
	if !strings.Contains(logBuf.String(), `msg="quarantine deleted" quarantine=`+itoa(id)+" actor=admin ") {
		t.Errorf("delete not logged:\n%s", logBuf.String())
	}
	if rep, err := r.Report(d.Session); err != nil || len(rep.Messages) != 1 {
		t.Errorf("session after delete: %v, %d messages, want the cleaned copy only", err, len(rep.Messages))
	}
	decodeAnswer(t, adminCall(t, h, "GET", "/v1/quarantine", ""), "list after delete", &list)
	if len(list) != 0 {
		t.Errorf("list after delete: %+v", list)
	}

	w := adminCall(t, h, "DELETE", "/v1/quarantine/"+itoa(id), "")
	var e gateway.AdminError
	if err := json.Unmarshal(w.Body.Bytes(), &e); w.Code != 404 || err != nil || e.Error != "nothing in quarantine with ID "+itoa(id) {
		t.Errorf("DELETE again: %d %s, want 404", w.Code, w.Body)
	}
}

func hasEvent(rep router.SessionReport, kind, actor string) bool {
	for _, e := range rep.Events {
		if e.Kind == kind && e.Actor == actor {
			return true
		}
	}
	return false
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
