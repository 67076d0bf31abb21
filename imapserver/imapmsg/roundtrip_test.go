package imapmsg

import (
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// rtSession serves FETCH and SEARCH with this package over the in-memory
// go-imap backend, whose messages have UIDs and sequence numbers 1..n in
// the order of raws.
type rtSession struct {
	*imapmemserver.UserSession
	raws [][]byte
}

func (s *rtSession) Login(username, password string) error { return nil }

func (s *rtSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	for i, raw := range s.raws {
		n := uint32(i + 1)
		switch set := numSet.(type) {
		case imap.SeqSet:
			if !set.Contains(n) {
				continue
			}
		case imap.UIDSet:
			if !set.Contains(imap.UID(n)) {
				continue
			}
		}
		rw := w.CreateMessage(n)
		rw.WriteUID(imap.UID(n))
		if options.Envelope {
			rw.WriteEnvelope(Envelope(raw))
		}
		if options.BodyStructure != nil {
			rw.WriteBodyStructure(BodyStructure(raw, options.BodyStructure.Extended))
		}
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (s *rtSession) Search(kind imapserver.NumKind, c *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	n := uint32(len(s.raws))
	c = ResolveSets(c, n, imap.UID(n), nil)
	var seqs imap.SeqSet
	var uids imap.UIDSet
	for i, raw := range s.raws {
		m := Meta{SeqNum: uint32(i + 1), UID: imap.UID(i + 1), InternalDate: time.Date(2024, 5, 15, 12, 0, 0, 0, time.UTC), Size: int64(len(raw))}
		if Match(raw, m, c) {
			seqs.AddNum(m.SeqNum)
			uids.AddNum(m.UID)
		}
	}
	data := &imap.SearchData{All: seqs}
	if kind == imapserver.NumKindUID {
		data.All = uids
	}
	return data, nil
}

// startServer runs a go-imap server on loopback holding the testdata
// messages, and returns a client with INBOX selected.
func startServer(t *testing.T) (*imapclient.Client, []string) {
	t.Helper()
	names := testdataMessages(t)
	var raws [][]byte
	for _, name := range names {
		raws = append(raws, load(t, name))
	}
	user := imapmemserver.NewUser("u", "p")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &rtSession{UserSession: imapmemserver.NewUserSession(user), raws: raws}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.Close()
		<-done
	})
	if err := c.Login("u", "p").Wait(); err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write(raw)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	return c, names
}

// TestWireRoundTrip sends ENVELOPE, BODY and BODYSTRUCTURE through
// go-imap's writer and client parser: the writer must accept them (it
// panics on a multipart without children or missing extension data) and
// the client must read back what was computed.
func TestWireRoundTrip(t *testing.T) {
	c, names := startServer(t)
	for _, extended := range []bool{false, true} {
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
			Envelope:      true,
			BodyStructure: &imap.FetchItemBodyStructure{Extended: extended},
		}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(names) {
			t.Fatalf("fetched %d messages, want %d", len(msgs), len(names))
		}
		for i, m := range msgs {
			raw := load(t, names[i])
			if got, want := wireEnvelope(m.Envelope), wireEnvelope(Envelope(raw)); got != want {
				t.Errorf("%s: envelope over the wire\n got %s\nwant %s", names[i], got, want)
			}
			ours := BodyStructure(raw, extended)
			decodeParams(ours)
			if got, want := wire(m.BodyStructure, extended), wire(ours, extended); got != want {
				t.Errorf("%s: body structure (extended %v) over the wire\n got %s\nwant %s", names[i], extended, got, want)
			}
		}
	}
}

// TestWireSearch checks how go-imap hands SEARCH keys over: FROM and
// friends as HEADER, "*" unresolved, and that Match answers them.
func TestWireSearch(t *testing.T) {
	c, names := startServer(t)
	index := map[string]uint32{}
	for i, n := range names {
		index[n] = uint32(i + 1)
	}
	tests := []struct {
		name     string
		criteria imap.SearchCriteria
		want     []string
	}{
		{"from display name", imap.SearchCriteria{Header: from("rossi")}, []string{"simple.eml"}},
		{"from encoded word", imap.SearchCriteria{Header: from("jürgen")}, []string{"encoded.eml"}},
		{"to group", imap.SearchCriteria{Header: hdr("To", "undisclosed-recipients")}, []string{"groups.eml"}},
		{"body", imap.SearchCriteria{Body: []string{"see you soon"}}, []string{"alternative.eml", "forwarded.eml"}},
		{"last message", imap.SearchCriteria{SeqNum: []imap.SeqSet{{{Start: 0, Stop: 0}}}}, []string{names[len(names)-1]}},
		{"not seen and large", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}, Larger: 1000}, []string{"alternative.eml", "forwarded.eml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := c.Search(&tc.criteria, nil).Wait()
			if err != nil {
				t.Fatal(err)
			}
			var want imap.SeqSet
			for _, n := range tc.want {
				want.AddNum(index[n])
			}
			if got := data.AllSeqNums(); imap.SeqSetNum(got...).String() != want.String() {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// decodeParams decodes RFC 2047 words in Content-Type parameter values,
// as go-imap's client does when it reads them.
func decodeParams(bs imap.BodyStructure) {
	switch bs := bs.(type) {
	case *imap.BodyStructureSinglePart:
		for k, v := range bs.Params {
			bs.Params[k] = decodeWords(v)
		}
		if m := bs.MessageRFC822; m != nil {
			decodeParams(m.BodyStructure)
		}
	case *imap.BodyStructureMultiPart:
		for _, c := range bs.Children {
			decodeParams(c)
		}
	}
}
