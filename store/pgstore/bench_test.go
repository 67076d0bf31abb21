package pgstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"mxdesk/store"
)

// BenchmarkGroupCommit is badgerstore's benchmark of the same name on
// PostgreSQL: 32 goroutines each storing a 5000-byte message in one
// mailbox, one Update (one durable commit) per message.
func BenchmarkGroupCommit(b *testing.B) {
	s := openBench(b)
	var mb store.Mailbox
	if err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) (err error) {
		mb, err = tx.CreateMailbox(store.Mailbox{Name: "Q"})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 5000)
	b.ResetTimer()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
				blob, err := tx.PutBlob(body)
				if err != nil {
					return err
				}
				_, err = tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: blob})
				return err
			})
			if err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkFeedAcrossNodes: one delivery at a time on node A, each
// waited for at node B's Observer (NOTIFY, then B reads the changes
// table): ns/op is the commit plus the cross-node feed; p50 and p99 of
// the time from A's Update returning to B's Observer are reported.
func BenchmarkFeedAcrossNodes(b *testing.B) {
	a := openBench(b)
	node := openDSN(b, a.pool.Config().ConnString(), Options{})
	seen := make(chan time.Time, 1)
	node.SetObserver(func([]store.Change) { seen <- time.Now() })
	var mb store.Mailbox
	if err := a.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) (err error) {
		mb, err = tx.CreateMailbox(store.Mailbox{Name: "Q"})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	<-seen
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		if err := deliverTo(a, mb.ID); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		lat = append(lat, (<-seen).Sub(committed))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func deliverTo(s *Store, mb store.MailboxID) error {
	return s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		blob, err := tx.PutBlob([]byte("body"))
		if err != nil {
			return err
		}
		_, err = tx.AddMessage(store.Message{Mailbox: mb, Blob: blob})
		return err
	})
}
