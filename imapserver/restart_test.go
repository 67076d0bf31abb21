package imapserver_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// folderState is what a client caches about a folder and must find again.
type folderState struct {
	UIDValidity uint32
	UIDNext     imap.UID
	Flags       []imap.Flag
	Messages    map[imap.UID][]imap.Flag
}

func snapshot(t *testing.T, c *client, name string) folderState {
	t.Helper()
	d := c.selectBox(name)
	st := folderState{UIDValidity: d.UIDValidity, UIDNext: d.UIDNext, Flags: d.Flags, Messages: map[imap.UID][]imap.Flag{}}
	for _, m := range c.fetchAll(&imap.FetchOptions{UID: true, Flags: true}) {
		fl := slices.DeleteFunc(m.Flags, func(f imap.Flag) bool { return f == `\Recent` })
		st.Messages[m.UID] = append([]imap.Flag{}, fl...)
	}
	return st
}

// Flags (keywords included), UIDs and UIDVALIDITY survive a restart of
// store, router and server on the same directory.
func TestRestartKeepsState(t *testing.T) {
	h := newHarness(t)
	for _, s := range []string{"one", "two", "three"} {
		h.deliver("carla@customer.test", s, "x")
	}
	c := h.login(alice)
	c.selectBox("Queues/Support")
	store(t, c, imap.UIDSetNum(1), imap.StoreFlagsAdd, imap.FlagSeen, imap.FlagAnswered, "$label1", "NonJunk")
	store(t, c, imap.UIDSetNum(3), imap.StoreFlagsAdd, imap.FlagFlagged, imap.FlagDeleted)
	if _, err := c.Move(imap.UIDSetNum(2), "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, c, "Drafts", "Subject: d\r\n\r\nx\r\n", &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft, "$Todo"}})
	if err := c.Create("Personal", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(imap.UIDSetNum(1), "Personal").Wait(); err != nil {
		t.Fatal(err)
	}
	folders := []string{"Queues/Support", "INBOX", "Drafts", "Personal"}
	before := map[string]folderState{}
	for _, f := range folders {
		before[f] = snapshot(t, c, f)
	}

	h.restart()
	c = h.login(alice)
	for _, f := range folders {
		if after := snapshot(t, c, f); !reflect.DeepEqual(after, before[f]) {
			t.Errorf("%s after restart:\n%+v\nbefore:\n%+v", f, after, before[f])
		}
	}
	// New mail continues the UID sequence; nothing is reused.
	h.deliver("carla@customer.test", "four", "x")
	c.selectBox("Queues/Support")
	if got := c.uids(); !slices.Equal(got, []imap.UID{1, 3, 4}) {
		t.Errorf("UIDs after restart and delivery = %v", got)
	}
}
