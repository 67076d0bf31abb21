package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSpoolKilledMidTransfer: a large body is spooled to data_dir/spool
// while it arrives; the process killed (kill -9) mid-transfer leaves its
// file, which the next start removes and logs (no client was answered
// 250 for it), and the server takes mail as before.
func TestSpoolKilledMidTransfer(t *testing.T) {
	env := newEnv(t)
	srv := env.start(t)
	spool := filepath.Join(env.dir, "data", "spool")

	c, err := net.Dial("tcp", srv.addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(c)
	br.ReadString('\n')
	for _, cmd := range []string{"EHLO client.example", "MAIL FROM:<customer@client.example>", "RCPT TO:<" + testQueueAddr + ">", "DATA"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if line := lastLine(t, br); line[0] != '2' && line[0] != '3' {
			t.Fatalf("%s: %q", cmd, line)
		}
	}
	body := largeMessage(4 << 20)
	c.Write(body)
	// The last read (up to 32 KiB) waits in memory to be filled.
	waitFile(t, spool, int64(len(body))-33<<10)

	srv.kill()
	if files := listDir(t, spool); len(files) != 1 {
		t.Fatalf("data_dir/spool after kill -9 holds %d files, want the one of the cut-off transfer", len(files))
	}
	srv = env.start(t)
	if files := listDir(t, spool); len(files) != 0 {
		t.Errorf("data_dir/spool after the restart holds %v, want the leftover removed", files)
	}
	if !strings.Contains(srv.logs(), "removed the spool files") {
		t.Errorf("the restart does not log the removed spool file:\n%s", srv.logs())
	}
	deliver(t, srv.addr("smtp"), "after-restart@client.example")
	srv.stop()
}

// lastLine reads an SMTP reply and returns its last line.
func lastLine(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a reply: %v", err)
		}
		if len(line) < 4 || line[3] != '-' {
			return line
		}
	}
}

// listDir names the entries of dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// waitFile waits until dir holds a file of at least size bytes, reading
// it every pollInterval for at most a minute.
func waitFile(t *testing.T, dir string, size int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for tick := time.NewTicker(pollInterval); ; <-tick.C {
		for _, name := range listDir(t, dir) {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Size() >= size {
				return
			}
		}
		if time.Now().After(deadline) {
			var sizes []string
			for _, name := range listDir(t, dir) {
				if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
					sizes = append(sizes, fmt.Sprintf("%s: %d", name, fi.Size()))
				}
			}
			t.Fatalf("no file of %d bytes in %s within a minute: %v", size, dir, sizes)
		}
	}
}
