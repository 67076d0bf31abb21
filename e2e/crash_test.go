package e2e

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// Crash test parameters: crashClients send concurrently, and the server is
// killed after crashAfter acknowledgements, while they are mid-transaction.
const (
	crashClients = 8
	crashAfter   = 300
	stopClients  = 32               // enough that some are between commands at SIGTERM
	loadTimeout  = 60 * time.Second // to reach crashAfter
)

// TestCrashLosesNoAcknowledgedMail checks the promise that 250 means
// stored: kill -9 under load, restart, and every acknowledged Message-ID
// is in the queue folder, exactly once.
func TestCrashLosesNoAcknowledgedMail(t *testing.T) {
	env := newEnv(t)
	srv := env.start(t)
	load := startLoad(t, srv.addr("smtp"), crashClients)
	load.waitAcks(t, crashAfter)
	srv.kill()
	acked, unknown := load.finish()
	t.Logf("killed after %d acknowledged messages; %d transactions were cut off", len(acked), unknown)
	status, _, errOut := runMxdesk(t, "check-store", "--config", env.configPath)
	if status != 1 || !strings.Contains(errOut, "not closed cleanly") {
		t.Errorf("check-store after kill -9: status %d, stderr %q; want 1 and how to recover", status, errOut)
	}

	srv = env.start(t)
	deliver(t, srv.addr("smtp"), "after-restart@client.example")
	c := loginIMAP(t, srv.addr("imap"), testLogin, testPassword)
	_, msgs := readFolder(t, c, testFolder)
	t.Logf("%d messages in %s after the restart", len(msgs), testFolder)
	if bad := notStoredOnce(append(acked, "after-restart@client.example"), msgs); len(bad) > 0 {
		t.Errorf("%d of %d acknowledged messages are not stored exactly once; the first: %v",
			len(bad), len(acked)+1, bad[:min(len(bad), 10)])
	}
	srv.stop()
	checkStoreConsistent(t, env)
}

// checkStoreConsistent runs mxdesk check-store on env's stopped server:
// its indexes and reference counts must match its records.
func checkStoreConsistent(t *testing.T, env *testEnv) {
	t.Helper()
	status, out, errOut := runMxdesk(t, "check-store", "--config", env.configPath)
	if status != 0 || !strings.HasPrefix(out, "store consistent: ") {
		t.Errorf("check-store after kill -9 and a restart: status %d\n%s%s", status, out, errOut)
	}
	t.Logf("check-store: %s", strings.TrimSpace(out))
}

// notStoredOnce lists each of ids that msgs hold zero or several times,
// with its count.
func notStoredOnce(ids []string, msgs []folderMessage) []string {
	stored := map[string]int{}
	for _, m := range msgs {
		stored[m.MessageID]++
	}
	var bad []string
	for _, id := range ids {
		if n := stored[id]; n != 1 {
			bad = append(bad, fmt.Sprintf("%s (%d times)", id, n))
		}
	}
	return bad
}

// TestStopUnderLoad: SIGTERM while clients are mid-transaction. mxdesk
// must exit with status 0 and without a panic, and every acknowledged
// message must be there after the restart.
func TestStopUnderLoad(t *testing.T) {
	env := newEnv(t)
	srv := env.start(t)
	load := startLoad(t, srv.addr("smtp"), stopClients)
	load.waitAcks(t, crashAfter)
	srv.stop()
	acked, unknown := load.finish()
	t.Logf("stopped after %d acknowledged messages; %d transactions were cut off", len(acked), unknown)

	srv = env.start(t)
	_, msgs := readFolder(t, loginIMAP(t, srv.addr("imap"), testLogin, testPassword), testFolder)
	if bad := notStoredOnce(acked, msgs); len(bad) > 0 {
		t.Errorf("%d of %d acknowledged messages are not stored exactly once; the first: %v",
			len(bad), len(acked), bad[:min(len(bad), 10)])
	}
}

// load is crashClients SMTP clients sending unique messages until stopped.
type load struct {
	addr     string
	prefix   string        // of the Message-IDs' local parts
	redial   bool          // after a failed connection, connect again
	acks     chan string   // every acknowledged Message-ID, in order
	stop     chan struct{} // closed by finish
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu      sync.Mutex
	acked   []string
	unknown int         // transactions that failed: stored or not, nobody knows
	codes   map[int]int // SMTP reply code of each failed transaction -> count (0: no reply)
	dialErr error       // the last failed connection attempt
}

// startLoad starts the clients; they stop at finish or when the test ends.
func startLoad(t *testing.T, addr string, clients int) *load {
	l := newLoad(addr)
	l.start(t, clients)
	return l
}

func newLoad(addr string) *load {
	return &load{addr: addr, prefix: "crash", acks: make(chan string, 1<<16), stop: make(chan struct{}), codes: map[int]int{}}
}

// start runs the clients until finish or the end of the test.
func (l *load) start(t *testing.T, clients int) {
	for w := range clients {
		l.wg.Go(func() { l.client(w) })
	}
	t.Cleanup(func() { l.finish() })
}

// client sends messages over one connection, reconnecting after an error,
// until stop is closed.
func (l *load) client(w int) {
	var c *smtp.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for n := 0; !l.stopped(); n++ {
		if c == nil {
			var err error
			if c, err = dialSMTP(l.addr); err != nil {
				l.setDialErr(err)
				if !l.redial {
					<-l.stop // the server is gone or broken: stop sending
					return
				}
				l.pause() // refused for now (a 421 greeting): try again
				continue
			}
		}
		id := fmt.Sprintf("%s-%d-%d@client.example", l.prefix, w, n)
		if err := smtpTransaction(c, id); err != nil {
			l.record(id, err)
			c.Close()
			c = nil
			if l.redial {
				l.pause() // as an MTA waits before it retries
			}
			continue
		}
		l.record(id, nil)
	}
}

func (l *load) setDialErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dialErr = err
	var reply *smtp.SMTPError
	if errors.As(err, &reply) {
		l.codes[reply.Code]++
	}
}

// redialPause paces a redialing client's attempts while the server
// refuses connections, so that it does not spin.
const redialPause = 20 * time.Millisecond

// pause waits redialPause, or less if the load stops.
func (l *load) pause() {
	select {
	case <-l.stop:
	case <-time.After(redialPause):
	}
}

// replyCodes is a copy of the failed transactions' reply codes.
func (l *load) replyCodes() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.codes)
}

func (l *load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// record notes the outcome of id's transaction: err nil is a 250.
func (l *load) record(id string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.unknown++
		var reply *smtp.SMTPError
		if errors.As(err, &reply) {
			l.codes[reply.Code]++
		} else {
			l.codes[0]++
		}
		return
	}
	l.acked = append(l.acked, id)
	l.acks <- id // buffered far beyond what a test sends before finish
}

// waitAcks returns once n messages have been acknowledged.
func (l *load) waitAcks(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(loadTimeout)
	for i := range n {
		select {
		case <-l.acks:
		case <-timeout:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("only %d of %d messages acknowledged after %v (%d failed; last connection error: %v)",
				i, n, loadTimeout, l.unknown, l.dialErr)
		}
	}
}

// finish stops the clients and returns the acknowledged Message-IDs and
// the number of transactions with no answer.
func (l *load) finish() (acked []string, unknown int) {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	return slices.Clone(l.acked), l.unknown
}

// TestServeRestartKeepsUIDs: a clean restart keeps UIDVALIDITY, UIDs,
// UIDNEXT and flags.
func TestServeRestartKeepsUIDs(t *testing.T) {
	env := newEnv(t)
	srv := env.start(t)
	for i := range 3 {
		deliver(t, srv.addr("smtp"), fmt.Sprintf("restart-%d@client.example", i))
	}
	c := loginIMAP(t, srv.addr("imap"), testLogin, testPassword)
	readFolder(t, c, testFolder)
	setFlags(t, c, 1, imap.FlagFlagged, imap.FlagSeen)
	setFlags(t, c, 3, "$label1")
	before, msgsBefore := readFolder(t, c, testFolder)
	c.Logout().Wait()
	srv.stop()

	srv = env.start(t)
	c = loginIMAP(t, srv.addr("imap"), testLogin, testPassword)
	after, msgsAfter := readFolder(t, c, testFolder)
	if before.UIDValidity != after.UIDValidity || before.UIDNext != after.UIDNext {
		t.Errorf("UIDVALIDITY %d, UIDNEXT %d before the restart; %d, %d after",
			before.UIDValidity, before.UIDNext, after.UIDValidity, after.UIDNext)
	}
	if !slices.EqualFunc(msgsBefore, msgsAfter, equalMessage) {
		t.Errorf("messages before the restart:\n%+v\nafter:\n%+v", msgsBefore, msgsAfter)
	}
	if len(msgsBefore) != 3 || !slices.Contains(msgsBefore[0].Flags, `\Flagged`) || !slices.Contains(msgsBefore[2].Flags, "$label1") {
		t.Errorf("flags were not set: %+v", msgsBefore)
	}
}

func equalMessage(a, b folderMessage) bool {
	return a.UID == b.UID && a.MessageID == b.MessageID && slices.Equal(a.Flags, b.Flags)
}

// setFlags adds flags to the message with sequence number seq.
func setFlags(t *testing.T, c *imapclient.Client, seq uint32, flags ...imap.Flag) {
	t.Helper()
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}
	if err := c.Store(imap.SeqSetNum(seq), store, nil).Close(); err != nil {
		t.Fatalf("STORE %d +FLAGS %v: %v", seq, flags, err)
	}
}
