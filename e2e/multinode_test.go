package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/testutil/pgtest"
)

// Bounds of the multi-node tests.
const (
	// pushBound is the most one message may take from node A's 250 to the
	// EXISTS of an IDLE client on node B: well under the change feed's
	// safety poll (5 s), so only a push meets it. The precise percentiles
	// come from the benchmark (docs/performance.md).
	pushBound    = 2 * time.Second
	pushMessages = 100
	claimRounds  = 5
	clusterAcks  = 100 // acknowledgements per node before the crash or outage
)

// TestClusterIdlePush: mail delivered over SMTP to node A reaches an IMAP
// client idling on node B, each message within pushBound.
func TestClusterIdlePush(t *testing.T) {
	nodes := newCluster(t, 2, clusterOptions{}).startAll(t)
	a, b := nodes[0], nodes[1]
	w := idleOn(t, b.addr("imap"), testLogin, testPassword, testFolder)
	c, err := dialSMTP(a.addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var latencies []time.Duration
	for i := range pushMessages {
		id := fmt.Sprintf("push-%d@client.example", i)
		if err := smtpTransaction(c, id); err != nil {
			t.Fatalf("deliver %s to node A: %v", id, err)
		}
		acked := time.Now()
		at, err := w.next(pushBound)
		if err != nil {
			t.Fatalf("message %d (%s) delivered to node A: %v on node B", i, id, err)
		}
		latencies = append(latencies, max(0, at.Sub(acked)))
	}
	p50, p99 := percentile(latencies, 0.50), percentile(latencies, 0.99)
	t.Logf("node A's 250 to node B's EXISTS, %d messages: p50 %v, p99 %v, max %v", len(latencies), p50, p99, slices.Max(latencies))
}

// idleWatch is an IMAP client idling on a folder, noting each EXISTS.
type idleWatch struct {
	client *imapclient.Client
	exists chan existsAt
	seen   uint32 // messages in the folder as last announced
}

type existsAt struct {
	num uint32
	at  time.Time
}

// idleOn logs in on addr, selects folder and starts IDLE; it stops when
// the test ends.
func idleOn(t *testing.T, addr, login, password, folder string) *idleWatch {
	t.Helper()
	w := &idleWatch{exists: make(chan existsAt, 4096)}
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				w.exists <- existsAt{num: *d.NumMessages, at: time.Now()}
			}
		},
	}}
	c, err := imapclient.DialInsecure(addr, opts)
	if err != nil {
		t.Fatalf("IMAP connect %s: %v", addr, err)
	}
	w.client = c
	t.Cleanup(func() { c.Close() })
	if err := c.Login(login, password).Wait(); err != nil {
		t.Fatalf("IMAP LOGIN %s: %v", login, err)
	}
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", folder, err)
	}
	w.seen = sel.NumMessages
	idle, err := c.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}
	t.Cleanup(func() { idle.Close(); idle.Wait() })
	return w
}

// next waits up to bound for an EXISTS announcing more messages than
// before, and returns when it arrived.
func (w *idleWatch) next(bound time.Duration) (time.Time, error) {
	timeout := time.NewTimer(bound)
	defer timeout.Stop()
	for {
		select {
		case ev := <-w.exists:
			if ev.num <= w.seen {
				continue
			}
			w.seen = ev.num
			return ev.at, nil
		case <-w.client.Closed():
			return time.Time{}, errors.New("the IDLE connection closed")
		case <-timeout.C:
			return time.Time{}, fmt.Errorf("no EXISTS within %v", bound)
		}
	}
}

// percentile of ds by the nearest-rank method.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// TestClusterClaimRace: alice on node A and bob on node B move the same
// waiting session from Queues/Support to their INBOX at once, as
// Thunderbird does when each drags it. Exactly one gets it; the other is
// refused with the session's owner named, or finds it already gone; both
// nodes then show it in the winner's INBOX only.
func TestClusterClaimRace(t *testing.T) {
	nodes := newCluster(t, 2, clusterOptions{}).startAll(t)
	a, b := nodes[0], nodes[1]
	agents := []claimant{
		{login: testLogin, node: a, client: loginIMAP(t, a.addr("imap"), testLogin, testPassword)},
		{login: bobLogin, node: b, client: loginIMAP(t, b.addr("imap"), bobLogin, bobPassword)},
	}
	wins := map[string]int{}
	for round := range claimRounds {
		id := fmt.Sprintf("claim-%d@client.example", round)
		deliverFrom(t, a.addr("smtp"), fmt.Sprintf("customer-%d@client.example", round), id)
		results := claimAtOnce(t, agents, id)
		winner := checkOneWinner(t, round, agents, results)
		wins[winner]++
		checkClaimed(t, agents, id, winner)
	}
	t.Logf("wins over %d rounds: %v", claimRounds, wins)
}

// claimant is one agent's IMAP client on one node.
type claimant struct {
	login  string
	node   *proc
	client *imapclient.Client
}

// claimResult is one agent's answer to UID MOVE.
type claimResult struct {
	data *imapclient.MoveData
	err  error
}

// moved reports whether the MOVE moved the message (COPYUID).
func (r claimResult) moved() bool {
	return r.err == nil && r.data != nil && r.data.DestUIDs != nil
}

// claimAtOnce has every agent select the queue folder, find message id
// there, and then, released together, UID MOVE it to INBOX.
func claimAtOnce(t *testing.T, agents []claimant, id string) []claimResult {
	t.Helper()
	uids := make([]imap.UID, len(agents))
	for i, ag := range agents {
		uids[i] = uidOf(t, ag.client, testFolder, id)
	}
	results := make([]claimResult, len(agents))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, ag := range agents {
		wg.Go(func() {
			<-start
			results[i].data, results[i].err = ag.client.Move(imap.UIDSetNum(uids[i]), "INBOX").Wait()
		})
	}
	close(start)
	wg.Wait()
	return results
}

// uidOf selects folder and returns the UID of the message with
// Message-ID id there.
func uidOf(t *testing.T, c *imapclient.Client, folder, id string) imap.UID {
	t.Helper()
	_, msgs := readFolder(t, c, folder)
	for _, m := range msgs {
		if m.MessageID == id {
			return m.UID
		}
	}
	t.Fatalf("%s is not in %s: %+v", id, folder, msgs)
	return 0
}

// checkOneWinner fails unless exactly one agent's MOVE moved the message
// and the others got the documented answer; it returns the winner.
func checkOneWinner(t *testing.T, round int, agents []claimant, results []claimResult) string {
	t.Helper()
	winner := ""
	for i, r := range results {
		if r.moved() {
			if winner != "" {
				t.Fatalf("round %d: both %s and %s claimed the session", round, winner, agents[i].login)
			}
			winner = agents[i].login
		}
	}
	if winner == "" {
		t.Fatalf("round %d: nobody claimed the session: %+v", round, results)
	}
	for i, r := range results {
		if r.moved() {
			continue
		}
		t.Logf("round %d: %s won; %s's MOVE: %v", round, winner, agents[i].login, describeMove(r))
		if r.err != nil && !isLostClaim(r.err, winner) {
			t.Errorf("round %d: %s's MOVE lost to %s with %v, want NO [CANNOT] naming %s, or OK with nothing moved",
				round, agents[i].login, winner, r.err, winner)
		}
	}
	return winner
}

// isLostClaim reports whether err is the answer to a claim of a session
// another agent took first: NO [CANNOT] naming them.
func isLostClaim(err error, winner string) bool {
	var imapErr *imap.Error
	return errors.As(err, &imapErr) && imapErr.Type == imap.StatusResponseTypeNo &&
		imapErr.Code == imap.ResponseCodeCannot && strings.Contains(imapErr.Text, winner+"'s")
}

func describeMove(r claimResult) string {
	if r.err != nil {
		return r.err.Error()
	}
	return "OK, nothing moved (the session had left the folder)"
}

// checkClaimed checks, over every agent's client (on its own node), that
// message id has left the queue folder and is in the winner's INBOX
// alone.
func checkClaimed(t *testing.T, agents []claimant, id, winner string) {
	t.Helper()
	for _, ag := range agents {
		_, queue := readFolder(t, ag.client, testFolder)
		if slices.ContainsFunc(queue, func(m folderMessage) bool { return m.MessageID == id }) {
			t.Errorf("%s still sees %s in %s on its node after the claim", ag.login, id, testFolder)
		}
		_, inbox := readFolder(t, ag.client, "INBOX")
		has := slices.ContainsFunc(inbox, func(m folderMessage) bool { return m.MessageID == id })
		if has != (ag.login == winner) {
			t.Errorf("%s's INBOX has %s: %v; the winner is %s", ag.login, id, has, winner)
		}
	}
}

// deliverFrom sends message id from sender to the queue: a new customer
// starts a new session.
func deliverFrom(t *testing.T, smtpAddr, sender, id string) {
	t.Helper()
	c, err := dialSMTP(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := strings.Replace(string(testMessage(id, "Question "+id)), "customer@client.example", sender, 1)
	if err := c.SendMail(sender, []string{testQueueAddr}, strings.NewReader(msg)); err != nil {
		t.Fatalf("deliver %s from %s: %v", id, sender, err)
	}
	c.Quit()
}

// TestClusterKillNode: kill -9 of node A in the middle of delivering an
// agent's reply, while both nodes take SMTP load. Every message either
// node acknowledged is stored exactly once; node B takes over every duty
// A held (session timers, campaigns, connector, and archive and CRM feed
// when configured), leaves the reply alone while A holds its lease and
// delivers it once the lease ran out; alice's IMAP client, reconnected to
// node B, finds the queue folder with the same UIDVALIDITY and the same
// UIDs.
func TestClusterKillNode(t *testing.T) {
	// Node A alone is up when the reply is submitted: it leases it, and
	// its smarthost holds it unanswered; node B's accepts everything.
	holdA, sinkB := startSmarthost(t, 0), startSmarthost(t, 0)
	sinkB.disarm()
	cl := newCluster(t, 2, clusterOptions{smarthosts: []string{holdA.addr, sinkB.addr}})
	a := cl.nodes[0].start(t)
	loadA := startNodeLoad(t, a, "a", false)
	loadA.waitAcks(t, clusterAcks)
	reply := "reply-kill@example.test"
	submitAll(t, a.addr("submission"), []string{reply})
	if held := holdA.waitHeld(t); held != reply {
		t.Fatalf("node A's smarthost holds %q, want %q", held, reply)
	}
	duties := dutiesHeld(t, a) // A alone: it holds them all
	alice := loginIMAP(t, a.addr("imap"), testLogin, testPassword)
	before, seen := readFolder(t, alice, testFolder)

	b := cl.nodes[1].start(t)
	loadB := startNodeLoad(t, b, "b", false)
	loadB.waitAcks(t, clusterAcks/10)
	if n := sinkB.receivedIDs()[reply]; n != 0 {
		t.Errorf("node B sent the reply %d times while node A was sending it: no lease kept them apart", n)
	}
	if strings.Contains(a.stderr.String(), "queue_id=") {
		t.Fatalf("node A ended its attempt before the kill (delivery.timeout too short for this machine?)\n%s", a.logs())
	}
	t.Logf("killing node A: it is sending the reply and holds the duties %v", duties)
	a.kill()

	loadB.waitAcks(t, clusterAcks) // B goes on alone
	ackedA, cut := loadA.finish()
	ackedB, failed := loadB.finish()
	t.Logf("node A: %d acknowledged, %d cut off by the kill; node B: %d acknowledged, %d failed", len(ackedA), cut, len(ackedB), failed)
	if failed > 0 {
		t.Errorf("node B failed %d transactions while A died: %v", failed, loadB.replyCodes())
	}
	waitDuties(t, b, duties)
	sinkB.waitConfirmed(t, []string{reply})
	if n := sinkB.receivedIDs()[reply]; n != 1 || holdA.confirmedIDs()[reply] != 0 {
		t.Errorf("node B sent the reply %d times, node A's smarthost confirmed it %d times; want once and never",
			n, holdA.confirmedIDs()[reply])
	}

	after, onB := readFolder(t, loginIMAP(t, b.addr("imap"), testLogin, testPassword), testFolder)
	if after.UIDValidity != before.UIDValidity {
		t.Errorf("UIDVALIDITY of %s: %d on node A, %d on node B", testFolder, before.UIDValidity, after.UIDValidity)
	}
	if missing := notSameUIDs(seen, onB); len(missing) > 0 {
		t.Errorf("%d of the %d messages alice saw on node A are not under the same UID on node B; the first: %v",
			len(missing), len(seen), missing[:min(len(missing), 10)])
	}
	acked := append(ackedA, ackedB...)
	if bad := notStoredOnce(acked, onB); len(bad) > 0 {
		t.Errorf("%d of %d acknowledged messages are not stored exactly once; the first: %v", len(bad), len(acked), bad[:min(len(bad), 10)])
	}
}

// notSameUIDs lists the messages of seen that all does not hold under the
// same UID.
func notSameUIDs(seen, all []folderMessage) []string {
	byUID := map[imap.UID]string{}
	for _, m := range all {
		byUID[m.UID] = m.MessageID
	}
	var bad []string
	for _, m := range seen {
		if byUID[m.UID] != m.MessageID {
			bad = append(bad, fmt.Sprintf("UID %d: %s, now %q", m.UID, m.MessageID, byUID[m.UID]))
		}
	}
	return bad
}

// TestClusterPostgresRestart: PostgreSQL restarted while both nodes take
// SMTP load. Meanwhile the nodes answer 4xx, never 5xx, and /readyz names
// store.dsn; afterwards they accept mail again without a restart, and
// every message they acknowledged is stored exactly once.
func TestClusterPostgresRestart(t *testing.T) {
	pg := pgtest.New(t)
	nodes := newCluster(t, 2, clusterOptions{pg: pg}).startAll(t)
	loads := []*load{startNodeLoad(t, nodes[0], "a", true), startNodeLoad(t, nodes[1], "b", true)}
	for _, l := range loads {
		l.waitAcks(t, clusterAcks)
	}
	pg.Stop(t)
	for i, l := range loads {
		l.drainAcks()
		waitTempFailure(t, l, i)
		checkNotReady(t, nodes[i], i)
	}
	pg.Start(t)
	for _, l := range loads {
		l.waitAcks(t, clusterAcks)
	}
	var acked []string
	for i, l := range loads {
		ids, failed := l.finish()
		codes := l.replyCodes()
		t.Logf("node %d: %d acknowledged, %d failed, reply codes of the failures %v", i, len(ids), failed, codes)
		for code, n := range codes {
			if code >= 500 {
				t.Errorf("node %d answered %d %d times while PostgreSQL restarted, want 4xx only", i, code, n)
			}
		}
		acked = append(acked, ids...)
	}
	_, msgs := readFolder(t, loginIMAP(t, nodes[1].addr("imap"), testLogin, testPassword), testFolder)
	if bad := notStoredOnce(acked, msgs); len(bad) > 0 {
		t.Errorf("%d of %d acknowledged messages are not stored exactly once; the first: %v", len(bad), len(acked), bad[:min(len(bad), 10)])
	}
}

// startNodeLoad is startLoad on node's SMTP listener, its Message-IDs
// named after the node; with redial its clients connect again after a
// refused connection, as an MTA retries.
func startNodeLoad(t *testing.T, node *proc, name string, redial bool) *load {
	l := newLoad(node.addr("smtp"))
	l.prefix, l.redial = "load-"+name, redial
	l.start(t, crashClients/2)
	return l
}

// drainAcks forgets the acknowledgements received so far: the next
// waitAcks counts new ones.
func (l *load) drainAcks() {
	for {
		select {
		case <-l.acks:
		default:
			return
		}
	}
}

// waitTempFailure waits until node i has refused a transaction or a
// connection with a 4xx reply.
func waitTempFailure(t *testing.T, l *load, i int) {
	t.Helper()
	deadline := time.Now().Add(loadTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for range tick.C {
		for code := range l.replyCodes() {
			if code >= 400 && code < 500 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d gave no 4xx within %v of PostgreSQL stopping: %v", i, loadTimeout, l.replyCodes())
		}
	}
}

// checkNotReady checks that node i's /readyz says it is not ready and
// names store.dsn.
func checkNotReady(t *testing.T, p *proc, i int) {
	t.Helper()
	deadline := time.Now().Add(loadTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last string
	for range tick.C {
		resp, err := readyClient.Get("http://" + p.addr("http") + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%s %s", resp.Status, body)
			if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "store.dsn") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("node %d /readyz with PostgreSQL down: %s; want 503 naming store.dsn", i, last)
			return
		}
	}
}
