package imapserver_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	mxstore "mxdesk/store"
)

// wireCost is what one exchange cost the client: bytes the server sent
// and the time until its tagged answer.
type wireCost struct {
	bytes int
	took  time.Duration
}

// measured runs commands one after the other on rc and adds up what the
// server sent back.
func (rc *rawConn) measured(commands ...string) wireCost {
	rc.t.Helper()
	var c wireCost
	start := time.Now()
	for i, cmd := range commands {
		tag := fmt.Sprintf("M%d", i)
		untagged, st := rc.cmd(tag, cmd)
		if !strings.HasPrefix(st, tag+" OK") {
			rc.t.Fatalf("%s: %s", cmd, st)
		}
		for _, l := range append(untagged, st) {
			c.bytes += len(l) + 2
		}
	}
	c.took = time.Since(start)
	return c
}

// fillWork files n copies of a 2 KB message in alice's folder Work,
// straight through the store (appending 10,000 over IMAP would take
// longer than what is measured).
func fillWork(t *testing.T, h *harness, n int) {
	t.Helper()
	body := "From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: order\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n"
	for done := 0; done < n; done += 1000 {
		err := h.st.Update(context.Background(), mxstore.UpdateOptions{}, func(tx mxstore.Tx) error {
			mb, err := tx.MailboxByName(alice, "Work")
			if err != nil {
				return err
			}
			blob, err := tx.PutBlob([]byte(body))
			if err != nil {
				return err
			}
			for range min(1000, n-done) {
				_, err := tx.AddMessage(mxstore.Message{Mailbox: mb.ID, Blob: blob, Size: int64(len(body)), InternalDate: time.Now(), Flags: []string{`\Seen`}})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func median(d []wireCost) wireCost {
	slices.SortFunc(d, func(a, b wireCost) int { return int(a.took - b.took) })
	return d[len(d)/2]
}

// Thunderbird-style resync of a 10,000-message folder after 10 flag
// changes and 5 expunges elsewhere: QRESYNC (SELECT with the known
// state, then UID FETCH CHANGEDSINCE VANISHED) against a client without
// it (SELECT, then FETCH 1:* (UID FLAGS)). Opt-in; the figures are in
// docs/performance.md.
func TestResyncFigures(t *testing.T) {
	if os.Getenv("MXDESK_RESYNC_BENCH") == "" {
		t.Skip("set MXDESK_RESYNC_BENCH=1 to measure the resync of a 10,000-message folder")
	}
	const n, runs = 10000, 5
	h := newHarness(t)
	c := h.login(alice)
	if err := c.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	fillWork(t, h, n)

	tb := h.rawLogin(alice)
	tb.okCmd("E", "ENABLE QRESYNC")
	known, _ := selectQResync(t, tb, "S", "")
	tb.okCmd("U", "UNSELECT")

	c.selectBox("Work")
	for i := range 10 {
		store(t, c, imap.UIDSetNum(imap.UID(100+i*997)), imap.StoreFlagsAdd, imap.FlagFlagged)
	}
	for i := range 5 {
		store(t, c, imap.UIDSetNum(imap.UID(50+i*1999)), imap.StoreFlagsAdd, imap.FlagDeleted)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}

	var full, qr []wireCost
	plain := h.rawLogin(alice)
	for range runs {
		full = append(full, plain.measured(`SELECT "Work"`, "FETCH 1:* (UID FLAGS)", "UNSELECT"))
		qr = append(qr, tb.measured(fmt.Sprintf(`SELECT "Work" (QRESYNC (%s %d))`, known.uidValidity, known.modSeq),
			fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", known.modSeq), "UNSELECT"))
	}
	f, q := median(full), median(qr)
	t.Logf("full resync (SELECT, FETCH 1:* (UID FLAGS)): %d bytes, %v (median of %d)", f.bytes, f.took, runs)
	t.Logf("QRESYNC (SELECT QRESYNC, UID FETCH CHANGEDSINCE VANISHED): %d bytes, %v (median of %d)", q.bytes, q.took, runs)
	t.Logf("ratio: %.0f× fewer bytes, %.0f× faster", float64(f.bytes)/float64(q.bytes), float64(f.took)/float64(q.took))
}
