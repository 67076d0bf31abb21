package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"mxdesk/store"
)

func init() {
	register("OutboundQueue", outboundQueue)
	register("HookLines", hookLines)
	register("SentCopyKeepsItsBlob", sentCopyKeepsItsBlob)
	register("QuarantineKeepsItsBlob", quarantineKeepsItsBlob)
}

// Queued messages are due earliest first, follow their updates, publish
// OutboundQueued, and keep their blob until the last one goes.
func outboundQueue(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var queued []uint64
	s.SetObserver(func(cs []store.Change) {
		for _, c := range cs {
			if c.Kind == store.OutboundQueued {
				queued = append(queued, c.Outbound)
			}
		}
	})
	var ids []uint64
	var blob store.BlobID
	update(t, s, func(tx store.Tx) (err error) {
		ids = ids[:0]
		if blob, err = tx.PutBlob([]byte("Subject: out\r\n\r\nx\r\n")); err != nil {
			return err
		}
		for i, at := range []time.Duration{2 * time.Hour, time.Hour} {
			o, err := tx.Enqueue(store.Outbound{Session: "S-AAAAA", Blob: blob, From: "a@b", To: []string{fmt.Sprintf("c%d@d", i)}, NextAttempt: t0.Add(at)})
			if err != nil {
				return err
			}
			ids = append(ids, o.ID)
		}
		return nil
	})
	if !slices.Equal(queued, ids) {
		t.Errorf("OutboundQueued published %v, want %v", queued, ids)
	}
	due := func(until time.Time) (out []uint64) {
		view(t, s, func(rd store.Reader) error {
			os, err := rd.DueOutbound(until, 10)
			for _, o := range os {
				out = append(out, o.ID)
			}
			return err
		})
		return out
	}
	if got := due(t0.Add(90 * time.Minute)); !slices.Equal(got, []uint64{ids[1]}) {
		t.Fatalf("due at +90m = %v, want %v", got, ids[1:])
	}
	if got := due(t0.Add(3 * time.Hour)); !slices.Equal(got, []uint64{ids[1], ids[0]}) {
		t.Fatalf("due at +3h = %v (earliest first)", got)
	}
	update(t, s, func(tx store.Tx) error {
		o, err := tx.Outbound(ids[1])
		if err != nil {
			return err
		}
		o.NextAttempt, o.Attempts, o.LastError, o.To = t0.Add(5*time.Hour), 1, "451 try later", o.To[:1]
		if err := tx.UpdateOutbound(o); err != nil {
			return err
		}
		return tx.RemoveOutbound(ids[0])
	})
	if got := due(t0.Add(3 * time.Hour)); len(got) != 0 {
		t.Fatalf("due at +3h after update = %v", got)
	}
	view(t, s, func(rd store.Reader) error {
		if n, _ := rd.OutboundCount(); n != 1 {
			t.Errorf("count = %d", n)
		}
		if o, err := rd.Outbound(ids[1]); err != nil || o.Attempts != 1 || o.LastError != "451 try later" {
			t.Errorf("updated outbound: %+v, %v", o, err)
		}
		if _, err := rd.Blob(blob); err != nil {
			t.Errorf("blob of a queued message: %v", err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.RemoveOutbound(ids[1]) })
	view(t, s, func(rd store.Reader) error {
		if _, err := rd.Blob(blob); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob kept after the last queued message went: %v", err)
		}
		return nil
	})
}

func dueHookIDs(t *testing.T, s store.Store, until time.Time) []uint64 {
	t.Helper()
	var ids []uint64
	view(t, s, func(r store.Reader) error {
		due, err := r.DueHooks(until, 100)
		for _, h := range due {
			ids = append(ids, h.ID)
		}
		return err
	})
	return ids
}

// Only the first live event of each session is due; a dead letter leaves
// the line and the next becomes due; a retried one takes its place again.
func hookLines(t *testing.T, s store.Store) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	queued := 0
	s.SetObserver(func(cs []store.Change) {
		for _, c := range cs {
			if c.Kind == store.HookQueued {
				queued++
			}
		}
	})
	var a []store.Hook
	update(t, s, func(tx store.Tx) error {
		a = a[:0]
		for _, session := range []string{"S-AAAAA", "S-AAAAA", "S-BBBBB", "S-AAAAA"} {
			h, err := tx.EnqueueHook(store.Hook{Session: session, Type: "ticket.comment", Created: now, NextAttempt: now})
			if err != nil {
				return err
			}
			a = append(a, h)
		}
		return nil
	})
	id := func(hs ...int) (ids []uint64) {
		for _, i := range hs {
			ids = append(ids, a[i].ID)
		}
		return ids
	}
	if got := dueHookIDs(t, s, now); !slices.Equal(got, id(0, 2)) {
		t.Fatalf("due = %v, want the first of each session %v", got, id(0, 2))
	}
	dead := a[0]
	dead.Dead, dead.LastError = true, "400 Bad Request"
	update(t, s, func(tx store.Tx) error { return tx.UpdateHook(dead) })
	if got := dueHookIDs(t, s, now); !slices.Equal(got, id(1, 2)) {
		t.Fatalf("after a dead letter due = %v, want %v", got, id(1, 2))
	}
	later := a[1]
	later.NextAttempt, later.Attempts = now.Add(time.Minute), 1
	update(t, s, func(tx store.Tx) error { return tx.UpdateHook(later) })
	if got := dueHookIDs(t, s, now); !slices.Equal(got, id(2)) {
		t.Fatalf("a retried head keeps its line waiting: due = %v, want %v", got, id(2))
	}
	update(t, s, func(tx store.Tx) error { return tx.RemoveHook(a[1].ID) })
	if got := dueHookIDs(t, s, now); !slices.Equal(got, id(2, 3)) {
		t.Fatalf("after removing the head due = %v, want %v", got, id(2, 3))
	}
	dead.Dead, dead.NextAttempt = false, now
	update(t, s, func(tx store.Tx) error { return tx.UpdateHook(dead) })
	if got := dueHookIDs(t, s, now); !slices.Equal(got, id(0, 2)) {
		t.Fatalf("a retried dead letter is first again: due = %v, want %v", got, id(0, 2))
	}
	if queued < 4 {
		t.Errorf("HookQueued published %d times, want one per new head (4)", queued)
	}
	view(t, s, func(r store.Reader) error {
		hs, err := r.Hooks(0)
		var got []uint64
		for _, h := range hs {
			got = append(got, h.ID)
		}
		if err != nil || !slices.Equal(got, id(0, 2, 3)) {
			t.Errorf("Hooks = %v, %v; want the three left %v, in ID order", got, err, id(0, 2, 3))
		}
		return nil
	})
}

// A sent copy holds a counted reference on its blob (the queued message
// may leave first), a second Put of the same copy is kept once, and the
// blob goes with the removal.
func sentCopyKeepsItsBlob(t *testing.T, s store.Store) {
	var ob store.Outbound
	update(t, s, func(tx store.Tx) error {
		blob, err := tx.PutBlob([]byte("the reply"))
		if err != nil {
			return err
		}
		ob, err = tx.Enqueue(store.Outbound{Session: "S-1", Blob: blob, To: []string{"c@customer.test"}})
		return err
	})
	sc := store.SentCopy{Account: "help@upstream.test", Outbound: ob.ID, Blob: ob.Blob}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutSentCopy(sc); err != nil {
			return err
		}
		if err := tx.PutSentCopy(sc); err != nil {
			return err
		}
		return tx.RemoveOutbound(ob.ID)
	})
	view(t, s, func(r store.Reader) error {
		got, err := r.SentCopies(sc.Account, 0)
		if err != nil || len(got) != 1 || got[0] != sc {
			t.Errorf("SentCopies = %+v, %v; want [%+v]", got, err, sc)
		}
		if _, err := r.Blob(sc.Blob); err != nil {
			t.Errorf("the copy's blob went with the queued message: %v", err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		if err := tx.RemoveSentCopy(sc.Account, sc.Outbound); err != nil {
			return err
		}
		return tx.RemoveSentCopy(sc.Account, sc.Outbound) // missing: not an error
	})
	view(t, s, func(r store.Reader) error {
		if _, err := r.Blob(sc.Blob); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob kept after its sent copy went: %v", err)
		}
		return nil
	})
}

// A quarantined original holds its blob until released, and the list is
// oldest first.
func quarantineKeepsItsBlob(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	var q []store.Quarantined
	update(t, s, func(tx store.Tx) error {
		q = q[:0]
		for i := range 2 {
			blob, err := tx.PutBlob([]byte(fmt.Sprintf("original %d", i)))
			if err != nil {
				return err
			}
			x, err := tx.Quarantine(store.Quarantined{Session: "S-Q", Blob: blob, From: "x@y", To: []string{"support@desk"},
				Removed: []string{"evil.exe: blocked type"}, Created: t0.Add(time.Duration(i) * time.Minute)})
			if err != nil {
				return err
			}
			q = append(q, x)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.Unquarantine(q[0].ID) })
	view(t, s, func(r store.Reader) error {
		list, err := r.QuarantineList()
		if err != nil || len(list) != 1 || list[0].ID != q[1].ID || fmt.Sprint(list[0].Removed) != "[evil.exe: blocked type]" {
			t.Errorf("QuarantineList = %+v, %v", list, err)
		}
		if _, err := r.Quarantined(q[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("released: %v, want ErrNotFound", err)
		}
		if _, err := r.Blob(q[0].Blob); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("released original's blob: %v, want ErrNotFound", err)
		}
		if _, err := r.Blob(q[1].Blob); err != nil {
			t.Errorf("kept original's blob: %v", err)
		}
		return nil
	})
}
