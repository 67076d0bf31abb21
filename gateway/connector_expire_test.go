package gateway_test

import (
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/testutil/dovecottest"
)

// TestAccountDeleteAfterDays: with delete_after_days = 30, an imported
// message that arrived upstream 60 days ago is expunged upstream (and
// stays in mxdesk); one imported today stays, and so do an old message
// that was there before the first contact (never imported) and one
// someone else flagged \Deleted (only the imported UIDs are expunged).
func TestAccountDeleteAfterDays(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	before := u.Client(t)
	uidPre := u.AppendAt(t, before, "INBOX", upstreamMail("pre", "olga@customer.test", "from 2024"), time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC))
	uidTheirs := u.Append(t, before, "INBOX", upstreamMail("theirs", "paul@customer.test", "someone deletes this"), imap.FlagDeleted)
	before.Logout()

	a := startAccountUser(t, u, "INBOX", "delete_after_days = 30")
	a.u.AppendAt(t, a.upstream, "INBOX", upstreamMail("aged", "carla@customer.test", "two months old"), time.Now().AddDate(0, 0, -60))
	a.waitImport(t, "aged")
	uidFresh := a.u.Append(t, a.upstream, "INBOX", upstreamMail("fresh", "dan@customer.test", "today"))
	a.waitImport(t, "fresh")

	want := []imap.UID{imap.UID(uidPre), imap.UID(uidTheirs), imap.UID(uidFresh)}
	waitUpstream(t, a.upstream, "INBOX", func(msgs []*imapclient.FetchMessageBuffer) bool {
		var uids []imap.UID
		for _, m := range msgs {
			uids = append(uids, m.UID)
		}
		return slices.Equal(uids, want) && slices.Contains(msgs[1].Flags, imap.FlagDeleted)
	})
	if !knownMessage(t, a.g, "aged") {
		t.Error("the message deleted upstream is not in the store")
	}
}
