package pgstore

import (
	"context"
	"testing"

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
