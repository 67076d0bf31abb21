package archive

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"

	"mxdesk/store"
	"mxdesk/store/pgstore"
	"mxdesk/testutil"
	"mxdesk/testutil/pgtest"
)

// BenchmarkBodies measures where message bodies could live when nodes
// share PostgreSQL (issue 22, docs/scale-out.md "Message bodies:
// PostgreSQL, not S3"): in PostgreSQL as bytea, written in the
// delivery's transaction (PutBlob and AddMessage, one durable commit),
// or in an S3 bucket through the archive's client (versitygw on
// loopback), put before the commit that files the message with only the
// object's name as its body — what a transaction must do so that a
// committed message never points at a missing object (a put whose
// commit then fails leaves an orphan object to sweep). Reads are the
// body by its ID: one query, or the query for the name then a GET.
// write-par runs 16 deliveries at once, as an MX under load does.
func BenchmarkBodies(b *testing.B) {
	s3 := testutil.SharedS3(b)
	cfg := testutil.Config(b, testutil.ArchiveConfig(b, s3, testutil.BucketName(b), 30, ""))
	bucket, err := Open(cfg.Archive)
	if err != nil {
		b.Fatal(err)
	}
	st, err := pgstore.Open(context.Background(), pgtest.Shared(b).NewDB(b), pgstore.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bb := &bodyBench{st: st, bucket: bucket, mbox: mailbox(b, st)}
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		body := make([]byte, size)
		rand.Read(body)
		label := fmt.Sprintf("%dKB", size>>10)
		for _, where := range []string{"postgres", "s3"} {
			var last store.BlobID
			b.Run(where+"/write/"+label, func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					last = bb.write(b, where, body)
				}
			})
			b.Run(where+"/write-par/"+label, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						bb.write(b, where, body)
					}
				})
			})
			b.Run(where+"/read/"+label, func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					if got := bb.read(b, where, last); len(got) != size {
						b.Fatalf("read %d bytes, want %d", len(got), size)
					}
				}
			})
		}
	}
}

type bodyBench struct {
	st     *pgstore.Store
	bucket *Bucket
	mbox   store.MailboxID
	n      atomic.Int64
}

func mailbox(b *testing.B, st store.Store) store.MailboxID {
	var mb store.Mailbox
	err := st.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) (err error) {
		mb, err = tx.CreateMailbox(store.Mailbox{Name: "Queues/Support"})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return mb.ID
}

// write files one message whose body is in PostgreSQL, or in S3 first.
func (bb *bodyBench) write(b *testing.B, where string, body []byte) store.BlobID {
	ctx := context.Background()
	stored := body
	if where == "s3" {
		name := fmt.Sprintf("bodies/%d", bb.n.Add(1))
		if err := bb.bucket.put(ctx, name, body); err != nil {
			b.Fatal(err)
		}
		stored = []byte(name)
	}
	var id store.BlobID
	err := bb.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) (err error) {
		if id, err = tx.PutBlob(stored); err != nil {
			return err
		}
		_, err = tx.AddMessage(store.Message{Mailbox: bb.mbox, Blob: id, Size: int64(len(body))})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return id
}

// read returns the body of id, from PostgreSQL or through the name kept
// there.
func (bb *bodyBench) read(b *testing.B, where string, id store.BlobID) []byte {
	var data []byte
	err := bb.st.View(func(r store.Reader) (err error) {
		data, err = r.Blob(id)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if where == "s3" {
		if data, err = bb.bucket.get(context.Background(), string(data)); err != nil {
			b.Fatal(err)
		}
	}
	return data
}
