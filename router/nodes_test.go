package router_test

import (
	"strings"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/testutil"
)

// node is one node's view of a store shared by nodes: it has a Node ID,
// as pgstore does. The second node leaves the one observer to the first
// (these tests need no feed).
type node struct {
	store.Store
	id string
}

func (n node) Node() string { return n.id }

func (n node) SetObserver(o store.Observer) {
	if n.id == "a" {
		n.Store.SetObserver(o)
	}
}

// Two routers on one store, as two nodes on one PostgreSQL: the service
// level and satisfaction a node reports include the other node's answers
// and ratings once its figures are older than 30 s (it rebuilds them from
// the store when read).
func TestFiguresFollowOtherNodes(t *testing.T) {
	clock := testutil.NewClock()
	toml := strings.Replace(salesTOML, "subject_session_id = true\n", "subject_session_id = true\nservice_level = 0.8\nservice_level_within = \"2h\"\n", 1)
	cfg := testutil.Config(t, strings.ReplaceAll(toml, "HASH", testutil.PasswordHash()))
	cfg.QueueByName("Sales").Rating = config.Rating{Enabled: true, Title: "Rate us", Scale: 5, Thanks: "Thanks", BaseURL: "https://desk.example.test"}
	st, err := badgerstore.Open(t.TempDir(), badgerstore.Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := router.New(cfg, node{st, "a"}, router.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := router.New(cfg, node{st, "b"}, router.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if n, c := todayLevel(t, b); c != 0 {
		t.Fatalf("node b before any session: %d/%d", n, c)
	}
	salesCSAT(t, b) // read once
	in := send(t, a, []string{"sales@example.test"}, "From: carla@customer.test\r\nMessage-ID: <n1@customer.test>\r\nSubject: one\r\n")
	erin := login(t, a, "erin@example.test")
	if _, err := a.Submit(ctx, erin, router.Envelope{From: "erin@example.test", To: []string{"carla@customer.test"}},
		[]byte("From: erin@example.test\r\nTo: carla@customer.test\r\nIn-Reply-To: <n1@customer.test>\r\nMessage-ID: <n1-r@desk.test>\r\nSubject: Re: one\r\n\r\nDone.\r\n")); err != nil {
		t.Fatal(err)
	}
	if n, c := todayLevel(t, a); n != 1 || c != 1 {
		t.Errorf("node a, where the reply was sent: %d/%d, want 1/1", n, c)
	}
	if n, c := todayLevel(t, b); c != 0 {
		t.Errorf("node b within 30 s of its last read: %d/%d, want its book as it was (0/0)", n, c)
	}
	if _, err := a.Rate(ctx, in.Session, 5); err != nil {
		t.Fatal(err)
	}
	if got := salesCSAT(t, a); got.Ratings != 1 {
		t.Errorf("node a, where the rating came: %+v, want 1 rating", got)
	}
	if got := salesCSAT(t, b); got.Ratings != 0 {
		t.Errorf("node b within 30 s of its last read: %+v, want its totals as they were (none)", got)
	}
	clock.Advance(time.Minute)
	if n, c := todayLevel(t, b); n != 1 || c != 1 {
		t.Errorf("node b a minute later: %d/%d, want 1/1 (node a's answer)", n, c)
	}
	if got := salesCSAT(t, b); got.Ratings != 1 || got.Satisfied != 1 {
		t.Errorf("node b a minute later: %+v, want node a's rating", got)
	}
}

func salesCSAT(t *testing.T, r *router.Router) router.CSAT {
	t.Helper()
	queues, _, err := r.CSAT()
	if err != nil {
		t.Fatal(err)
	}
	return queues["Sales"]
}
