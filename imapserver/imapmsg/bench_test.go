package imapmsg

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

func BenchmarkMatchBody(b *testing.B) {
	raw := load(b, "forwarded.eml")
	c := &imap.SearchCriteria{Body: []string{"warehouse"}, Header: from("alice")}
	m := testMeta(raw)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if !Match(raw, m, c) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkBodyStructure(b *testing.B) {
	raw := load(b, "forwarded.eml")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		BodyStructure(raw, true)
	}
}
