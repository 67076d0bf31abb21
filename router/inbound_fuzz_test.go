package router

import (
	"bytes"
	"strings"
	"testing"

	"mxdesk/config"
	"mxdesk/store"
)

// FuzzParseInbound feeds arbitrary bytes through what Deliver does to a
// message before storing it: header parsing, threading references and the
// stamp. It must never panic, must keep the body byte for byte, and the
// stored message must carry exactly one X-Mxdesk-Session header: ours.
func FuzzParseInbound(f *testing.F) {
	for _, seed := range []string{
		"From: a@b.test\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n",
		"References: <a@b> <c@d>\r\nIn-Reply-To: <e@f>\r\nX-Mxdesk-Session: S-FAKE1\r\n\r\n",
		"no header at all",
		"Subject: =?utf-8?q?caf=C3=A9?=\n\nunix newlines\n",
		"Broken header line without colon\r\n\r\nbody",
		"From: \"unterminated <a@b\r\n folded: continuation\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := parseInbound(raw, Envelope{From: "env@from.test"}, "mx.test")
		if in.messageID == "" {
			t.Fatal("no Message-ID assigned")
		}
		if len(in.refs) > maxRefs || len(in.to) > maxHeaderAddr || len(in.cc) > maxHeaderAddr {
			t.Fatalf("%d references kept", len(in.refs))
		}
		if !bytes.HasSuffix(raw, in.body) {
			t.Fatalf("body %q is not the tail of the message", in.body)
		}
		stored := in.stamp(store.Session{ID: "S-ABCDE", Queue: "Support", Token: "abc"}, &config.Queue{Name: "Support", Addresses: []string{"support@example.test"}})
		if !bytes.HasSuffix(stored, in.body) {
			t.Fatal("stamp changed the body")
		}
		head := strings.ToLower(string(stored[:len(stored)-len(in.body)]))
		n := 0
		for _, line := range strings.Split(head, "\n") {
			if strings.HasPrefix(line, "x-mxdesk-session:") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d X-Mxdesk-Session headers in %q", n, head)
		}
	})
}
