package gateway_test

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

// spoolThreshold is limits.spool_threshold in these tests, spoolBody the
// size of their large messages: far past it.
const (
	spoolThreshold = 64 << 10
	spoolBody      = 8 << 20
)

// oneRead is the most a message holds in memory past its spool file: the
// read being filled.
const oneRead = 32 << 10

// spoolConfig is the test configuration with the small spool_threshold
// and smtp.read_timeout.
func spoolConfig(t *testing.T, readTimeout time.Duration) *config.Config {
	return testutil.Config(t, fmt.Sprintf("[smtp]\nread_timeout = %q\n[limits]\nspool_threshold = %d\n", readTimeout, spoolThreshold))
}

// spoolFiles lists data_dir/spool.
func spoolFiles(t *testing.T, cfg *config.Config) []os.FileInfo {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cfg.DataDir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	var files []os.FileInfo
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			files = append(files, fi)
		}
	}
	return files
}

// waitSpooled waits until data_dir/spool holds one file of at least n
// bytes, and returns it.
func waitSpooled(t *testing.T, g *gateway.Gateway, cfg *config.Config, n int64) os.FileInfo {
	t.Helper()
	var file os.FileInfo
	waitFor(t, fmt.Sprintf("a spool file of %d bytes", n), func() bool {
		files := spoolFiles(t, cfg)
		if len(files) == 1 && files[0].Size() >= n {
			file = files[0]
		}
		return file != nil
	}, g)
	return file
}

// waitSpoolEmpty waits until data_dir/spool is empty.
func waitSpoolEmpty(t *testing.T, g *gateway.Gateway, cfg *config.Config, after string) {
	t.Helper()
	waitFor(t, "data_dir/spool to be empty "+after, func() bool { return len(spoolFiles(t, cfg)) == 0 }, g)
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// stallSpooled opens a transaction on the MX, sends msg but for its
// final dot, and waits until the body is in its spool file.
func stallSpooled(t *testing.T, g *gateway.Gateway, cfg *config.Config, msg string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, br := openData(t, g.Addr("smtp"), "")
	fmt.Fprint(c, msg)
	// The last read, up to 32 KiB, waits in memory to be filled, and
	// go-smtp keeps the last line back until it knows it is not the end.
	waitSpooled(t, g, cfg, int64(len(msg)-oneRead-1000))
	return c, br
}

// TestSpoolStalledBody: a body past limits.spool_threshold goes to a file
// in data_dir/spool (0600) as it arrives, so a stalled transfer holds
// neither heap nor room in limits.inflight_message_bytes; when it ends
// the message is stored whole and the file removed. Before, the stalled
// body was held in memory.
func TestSpoolStalledBody(t *testing.T) {
	cfg := spoolConfig(t, time.Minute)
	g := startGatewayCfg(t, cfg)

	msg := messageOf("spooled", spoolBody)
	before := liveHeap()
	c, br := stallSpooled(t, g, cfg, msg)
	file := waitSpooled(t, g, cfg, 0)
	if mode := file.Mode().Perm(); mode != 0o600 {
		t.Errorf("spool file mode %v, want 0600", mode)
	}
	if held := inflight(t, g); held > oneRead {
		t.Errorf("a stalled spooled body holds %v bytes of limits.inflight_message_bytes, want at most one read (32 KiB)", held)
	}
	if grown := int64(liveHeap()) - int64(before); grown > spoolBody/2 {
		t.Errorf("the heap grew by %d bytes while a %d-byte body stalled, want it in its file", grown, spoolBody)
	}

	if reply := endData(t, c, br); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("the stalled message, ended: %q", reply)
	}
	if files := spoolFiles(t, cfg); len(files) != 0 {
		t.Errorf("data_dir/spool holds %d files after the message was stored", len(files))
	}
	waitInflight(t, g, 0, false)
	got := readMailbox(t, loginIMAP(t, g.Addr("imap"), "alice@example.test"), "Queues/Support").Msgs
	_, body, _ := strings.Cut(msg, "\r\n\r\n")
	if len(got) != 1 || !strings.Contains(got[0].Body, "Received: from client.customer.test") ||
		!strings.Contains(got[0].Body, "Subject: spooled\r\n") || !strings.HasSuffix(got[0].Body, "\r\n\r\n"+body) {
		t.Fatalf("Queues/Support holds %d messages; want the spooled one with its Received field and its whole body", len(got))
	}
}

// TestSpoolRemovedOnFailure: a client that drops the connection while
// its body is spooled, or stalls until smtp.read_timeout, leaves no file
// behind.
func TestSpoolRemovedOnFailure(t *testing.T) {
	cfg := spoolConfig(t, 2*time.Second)
	g := startGatewayCfg(t, cfg)
	for _, tc := range []struct {
		name string
		fail func(c net.Conn, br *bufio.Reader)
	}{
		{"dropped", func(c net.Conn, _ *bufio.Reader) { c.Close() }},
		{"timed out", func(c net.Conn, br *bufio.Reader) {
			if said := closedWithin(t, c, br, 10*time.Second); !strings.HasPrefix(said, "4") {
				t.Errorf("a spooled transfer that timed out was answered %q, want a temporary error", said)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Small enough to arrive well within smtp.read_timeout.
			c, br := stallSpooled(t, g, cfg, messageOf(tc.name, 8*spoolThreshold))
			tc.fail(c, br)
			waitSpoolEmpty(t, g, cfg, "after the client "+tc.name)
			waitInflight(t, g, 0, false)
		})
	}
}

// TestSpoolLeftoversRemovedAtStart: a spool file left by a process that
// died mid-transfer (no client was answered 250 for it) is removed when
// mxdesk starts, and the start says so in the log.
func TestSpoolLeftoversRemovedAtStart(t *testing.T) {
	cfg := spoolConfig(t, time.Minute)
	dir := filepath.Join(cfg.DataDir, "spool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "body-1234"), []byte("half a message"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &testutil.SyncBuffer{}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	if files := spoolFiles(t, cfg); len(files) != 0 {
		t.Errorf("data_dir/spool holds %d files after the start, want the leftover removed", len(files))
	}
	if !strings.Contains(out.String(), "removed the spool files") || !strings.Contains(out.String(), dir) {
		t.Errorf("no log line names the removed spool files and %s:\n%s", dir, out)
	}
}

// TestSpoolDiskReserve: a spool file may not take data_dir's filesystem
// below store.min_free_space. With a little more free than the reserve, a
// large body is refused while it still arrives (counted, logged with the
// key), its file removed, and the rest of it thrown away: the final dot
// gets 452 4.3.1 and the connection goes on. Before, nothing was written
// while the body arrived, so nothing was refused until it was whole.
func TestSpoolDiskReserve(t *testing.T) {
	dir := smallDisk(t, diskSize)
	cfg := diskConfig(t, dir)
	cfg.Limits.SpoolThreshold = spoolThreshold
	out := &testutil.SyncBuffer{}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })

	fillDisk(t, dir, diskReserve+4<<20) // 3 MiB above the reserve
	waitFor(t, "the store to measure the filled disk", func() bool {
		return scrapeMetrics(t, g).value("mxdesk_store_free_bytes") < float64(diskReserve+4<<20)
	}, g)
	c, br := openData(t, g.Addr("smtp"), "")
	fmt.Fprint(c, messageOf("larger than the room left", spoolBody))
	waitFor(t, "the body refused for the disk while it arrives", func() bool {
		return scrapeMetrics(t, g).value("mxdesk_messages_rejected_total", "service", "smtp", "reason", "no_space") == 1
	}, g)
	if files := spoolFiles(t, cfg); len(files) != 0 {
		t.Errorf("data_dir/spool holds %d files after the body was refused", len(files))
	}
	if reply := endData(t, c, br); !strings.HasPrefix(reply, "452 4.3.1 ") {
		t.Fatalf("a body past the disk's room: %q, want 452 4.3.1", reply)
	}
	if !strings.Contains(out.String(), "spool file would take the disk below store.min_free_space") {
		t.Errorf("no log line names store.min_free_space for the spool:\n%s", out)
	}
	// The refused file's room is back once the store measures again (at
	// its next commit or within spaceCheckEvery): a measurement taken
	// while the file grew may still say the disk is below the reserve.
	waitFor(t, "the store to measure the room the refused file left", func() bool {
		return scrapeMetrics(t, g).value("mxdesk_store_free_bytes") >= float64(diskReserve)
	}, g)
	startData(t, c, br)
	fmt.Fprint(c, messageOf("small", 1000))
	if reply := endData(t, c, br); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("a small message on the same connection: %q", reply)
	}
}

// TestSpoolSubmission: an agent's large message through submission (as
// Thunderbird sends an attachment) is spooled as it arrives like the
// MX's, taken once complete, and leaves no file.
func TestSpoolSubmission(t *testing.T) {
	cfg := spoolConfig(t, time.Minute)
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayCfg(t, cfg)
	c := authedSubmission(t, g, "alice@example.test")
	if err := c.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.Replace(messageOf("spooled reply", 16*spoolThreshold), "From: carla@customer.test\r\nTo: support@example.test",
		"From: alice@example.test\r\nTo: carla@customer.test", 1)
	w.Write([]byte(msg))
	// The client keeps its last few KiB buffered until the end.
	waitSpooled(t, g, cfg, int64(len(msg)-64<<10))
	if held := inflight(t, g); held > oneRead {
		t.Errorf("a spooled submission holds %v bytes of limits.inflight_message_bytes while it arrives, want at most one read (32 KiB)", held)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("the spooled submission: %v", err)
	}
	if files := spoolFiles(t, cfg); len(files) != 0 {
		t.Errorf("data_dir/spool holds %d files after the submission was taken", len(files))
	}
	waitInflight(t, g, 0, false)
}

// TestSpoolBDAT: a body sent in BDAT chunks (CHUNKING, as Exchange and
// Postfix send) is spooled across its chunks while it arrives and stored
// whole at BDAT LAST, leaving no file.
func TestSpoolBDAT(t *testing.T) {
	cfg := spoolConfig(t, time.Minute)
	g := startGatewayCfg(t, cfg)
	c, br := smtpConn(t, g.Addr("smtp"))
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for _, cmd := range []string{"EHLO client.customer.test", "MAIL FROM:<carla@customer.test>", "RCPT TO:<support@example.test>"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if line := lastReplyLine(t, br); line[0] != '2' {
			t.Fatalf("%s: %q", cmd, line)
		}
	}
	msg := messageOf("chunked", 16*spoolThreshold)
	const chunks = 4
	size := len(msg) / chunks
	for i := range chunks {
		chunk := msg[i*size : (i+1)*size]
		if i == chunks-1 {
			chunk = msg[i*size:]
		}
		fmt.Fprintf(c, "BDAT %d\r\n%s", len(chunk), chunk)
		if line := lastReplyLine(t, br); !strings.HasPrefix(line, "250 ") {
			t.Fatalf("BDAT chunk %d: %q", i, line)
		}
	}
	waitSpooled(t, g, cfg, int64(len(msg)-oneRead-1000))
	fmt.Fprint(c, "BDAT 0 LAST\r\n")
	if line := lastReplyLine(t, br); !strings.HasPrefix(line, "250 ") {
		t.Fatalf("BDAT 0 LAST: %q", line)
	}
	if files := spoolFiles(t, cfg); len(files) != 0 {
		t.Errorf("data_dir/spool holds %d files after BDAT LAST", len(files))
	}
	_, body, _ := strings.Cut(msg, "\r\n\r\n")
	got := readMailbox(t, loginIMAP(t, g.Addr("imap"), "alice@example.test"), "Queues/Support").Msgs
	if len(got) != 1 || !strings.HasSuffix(got[0].Body, "\r\n\r\n"+body) {
		t.Fatalf("Queues/Support holds %d messages; want the chunked one whole", len(got))
	}
}
