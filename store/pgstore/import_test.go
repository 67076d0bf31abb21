package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/store/storetest"
)

// filledBadger is a stopped badger store holding every kind of record,
// opened read-only as migrate-store opens it.
func filledBadger(t *testing.T) *badgerstore.Store {
	t.Helper()
	dir := t.TempDir()
	b, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.FillEveryKind(t, b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = badgerstore.Open(dir, badgerstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// importAll copies b into p.
func importAll(t *testing.T, b *badgerstore.Store, p *Store) map[string]int {
	t.Helper()
	counts, err := p.Import(context.Background(), b.Export, nil)
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// A copy reads back record by record as the source does, indexes
// included, and both checks find it consistent with the same counts.
func TestImportKeepsEveryRecord(t *testing.T) {
	b := filledBadger(t)
	p := openTest(t)
	counts := importAll(t, b, p)
	for _, table := range ImportTables() {
		if counts[table] == 0 {
			t.Errorf("nothing copied into %s (counts %v)", table, counts)
		}
	}
	compareStores(t, b, p)
	want, err := b.Check()
	if err != nil {
		t.Fatal(err)
	}
	got := checkClean(t, p)
	if want.Summary() != got.Summary() {
		t.Errorf("check of the copy: %s; of the source: %s", got.Summary(), want.Summary())
	}
}

// compareStores reads every record b exports back from b and p.
func compareStores(t *testing.T, b *badgerstore.Store, p *Store) {
	t.Helper()
	recs := storetest.NewRecords()
	if err := b.Export(recs.Sink()); err != nil {
		t.Fatal(err)
	}
	err := b.View(func(src store.Reader) error {
		return p.View(func(dst store.Reader) error {
			for _, d := range storetest.Compare(recs, src, dst) {
				t.Error(d)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkClean(t *testing.T, p *Store) Report {
	t.Helper()
	r, err := p.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range r.Problems {
		t.Errorf("check: %s", pr)
	}
	return r
}

// The copy's IDs go on where the source's stopped, above the ones taken
// by records deleted since: a new mailbox, body, outbound message, CRM
// event, campaign and UIDVALIDITY are new.
func TestImportNextIDsAboveSource(t *testing.T) {
	b := filledBadger(t)
	recs := storetest.NewRecords()
	if err := b.Export(recs.Sink()); err != nil {
		t.Fatal(err)
	}
	p := openTest(t)
	importAll(t, b, p)
	var maxValidity uint32
	for _, m := range recs.Mailboxes {
		maxValidity = max(maxValidity, m.UIDValidity)
	}
	err := p.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		mb, err := tx.CreateMailbox(store.Mailbox{Owner: "bob", Name: "INBOX"})
		if err != nil {
			return err
		}
		if uint64(mb.ID) <= recs.Counters.Mailbox || mb.UIDValidity <= maxValidity {
			t.Errorf("new mailbox %d, UIDVALIDITY %d; source counter %d, UIDVALIDITY up to %d", mb.ID, mb.UIDValidity, recs.Counters.Mailbox, maxValidity)
		}
		blob, err := tx.PutBlob([]byte("x"))
		if err != nil {
			return err
		}
		if uint64(blob) <= recs.Counters.Blob {
			t.Errorf("new blob %d, source counter %d", blob, recs.Counters.Blob)
		}
		o, err := tx.Enqueue(store.Outbound{Session: "S-AAAAA", Blob: blob})
		if err != nil {
			return err
		}
		if o.ID <= recs.Counters.Outbound {
			t.Errorf("new outbound %d, source counter %d", o.ID, recs.Counters.Outbound)
		}
		h, err := tx.EnqueueHook(store.Hook{Session: "S-BBBBB", Type: "ticket.created"})
		if err != nil {
			return err
		}
		if h.ID <= recs.Counters.Hook {
			t.Errorf("new CRM event %d, source counter %d", h.ID, recs.Counters.Hook)
		}
		c, err := tx.PutCampaign(store.Campaign{Queue: "sales"})
		if c.ID <= recs.Counters.Campaign {
			t.Errorf("new campaign %d, source counter %d", c.ID, recs.Counters.Campaign)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, p)
}

// A database holding mxdesk data is refused, and left as it was.
func TestImportRefusesNonEmpty(t *testing.T) {
	b := filledBadger(t)
	p := openTest(t)
	err := p.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		_, err := tx.CreateMailbox(store.Mailbox{Owner: "bob", Name: "INBOX"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Import(context.Background(), b.Export, nil)
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "rows in mailboxes") {
		t.Fatalf("import into a used database: %v, want ErrNotEmpty naming mailboxes", err)
	}
	r := checkClean(t, p)
	if r.Mailboxes != 1 || r.Messages != 0 {
		t.Errorf("after the refused import: %s", r.Summary())
	}
}

// A copy that fails half-way leaves nothing behind: it is one
// transaction, and can be run again.
func TestImportFailureLeavesDatabaseEmpty(t *testing.T) {
	b := filledBadger(t)
	p := openTest(t)
	boom := errors.New("disk read error")
	_, err := p.Import(context.Background(), func(s store.Sink) error {
		if err := b.Export(s); err != nil {
			return err
		}
		return boom
	}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("import: %v, want %v", err, boom)
	}
	importAll(t, b, p)
	checkClean(t, p)
}

// BenchmarkImport copies a badger store of 2,000 messages of 16 KB, one
// session each, into a fresh database per round: messages/s and the
// bodies' MB/s of mxdesk migrate-store, COPY included, the check not.
func BenchmarkImport(b *testing.B) {
	const n, size = 2000, 16 << 10
	dir := b.TempDir()
	src, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, size)
	err = src.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		mb, err := tx.CreateMailbox(store.Mailbox{Name: "Queues/Support"})
		if err != nil {
			return err
		}
		for i := range n {
			id, err := tx.PutBlob(body)
			if err != nil {
				return err
			}
			s := store.Session{ID: fmt.Sprintf("S-%05d", i), Queue: "Support", Status: "waiting", Token: fmt.Sprintf("t%d", i)}
			if err := tx.PutSession(s); err != nil {
				return err
			}
			if _, err := tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: id, Size: size, Session: s.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Close(); err != nil {
		b.Fatal(err)
	}
	src, err = badgerstore.Open(dir, badgerstore.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.SetBytes(n * size)
	for b.Loop() {
		b.StopTimer()
		dst := openBench(b)
		b.StartTimer()
		if _, err := dst.Import(context.Background(), src.Export, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// Tables larger than a batch go in several COPYs, each reported with
// the rows so far; the copy is the same.
func TestImportInBatches(t *testing.T) {
	rows, bytes := importBatchRows, importBatchBytes
	importBatchRows, importBatchBytes = 2, 1
	defer func() { importBatchRows, importBatchBytes = rows, bytes }()
	b := filledBadger(t)
	p := openTest(t)
	reported := map[string][]int{}
	counts, err := p.Import(context.Background(), b.Export, func(table string, rows int) {
		reported[table] = append(reported[table], rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range counts {
		if got := reported[table]; len(got) == 0 || got[len(got)-1] != n {
			t.Errorf("%s: progress %v, copied %d", table, got, n)
		}
	}
	if got := reported["blobs"]; len(got) != counts["blobs"] {
		t.Errorf("blobs copied in %v: want one batch per body (each over 1 byte)", got)
	}
	if got := reported["events"]; len(got) != 2 || got[0] != 2 {
		t.Errorf("events copied in %v: want batches of 2", got)
	}
	compareStores(t, b, p)
	checkClean(t, p)
}
