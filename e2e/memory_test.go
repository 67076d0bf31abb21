package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// The memory benchmark (issue 14, item 3) runs only when asked, it moves
// gigabytes:
//
//	MXDESK_MEMORY_BENCH=1 go test -count=1 -run TestPeakRSS -v -timeout 30m ./e2e/
//
// MXDESK_MEMORY_INFLIGHT sets limits.inflight_message_bytes,
// MXDESK_MEMORY_SPOOL limits.spool_threshold (unset: the defaults);
// MXDESK_MEMORY_BIN runs another mxdesk binary (an older build, for
// figures before a change; leave unset the keys it does not know).
// docs/performance.md has the figures.
const (
	memoryMessages    = 100
	memoryMessageSize = 20_000_000
)

// TestPeakRSS reports the server's peak RSS (VmHWM) for 100 concurrent 20
// MB messages, and for 100 stalled ones (sent but for the final dot),
// each against a fresh server. It asserts nothing.
func TestPeakRSS(t *testing.T) {
	if os.Getenv("MXDESK_MEMORY_BENCH") == "" {
		t.Skip("set MXDESK_MEMORY_BENCH=1 to run the memory benchmark")
	}
	if bin := os.Getenv("MXDESK_MEMORY_BIN"); bin != "" {
		defer func(old string) { mxdeskBin = old }(mxdeskBin)
		mxdeskBin = bin
	}
	body := largeMessage(memoryMessageSize)
	for _, sc := range []struct {
		name string
		run  func(t *testing.T, srv *proc, body []byte) string
	}{{"concurrent", sendConcurrent}, {"stalled", sendStalled}} {
		t.Run(sc.name, func(t *testing.T) {
			env := newEnv(t)
			setLimit(t, env, "inflight_message_bytes", os.Getenv("MXDESK_MEMORY_INFLIGHT"))
			setLimit(t, env, "spool_threshold", os.Getenv("MXDESK_MEMORY_SPOOL"))
			srv := env.start(t)
			start := time.Now()
			anon := sampleAnon(srv)
			summary := sc.run(t, srv, body)
			anonPeak, filePeak := anon()
			t.Logf("%s: %d × %d bytes: peak RSS %d MiB (sampled: anonymous %d MiB, mapped files %d MiB); %s; %v", sc.name, memoryMessages, memoryMessageSize,
				peakRSS(t, srv)>>20, anonPeak>>20, filePeak>>20, summary, time.Since(start).Round(time.Second))
		})
	}
}

// setLimit sets [limits] key to v in env's configuration ("": leaves it
// out, the default).
func setLimit(t *testing.T, env *testEnv, key, v string) {
	t.Helper()
	if v == "" {
		return
	}
	cfg, err := os.ReadFile(env.configPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("[limits]\n"), []byte("[limits]\n"+key+" = "+v+"\n"), 1)
	if err := os.WriteFile(env.configPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
}

// largeMessage is a message of size bytes in lines of 78.
func largeMessage(size int) []byte {
	var b bytes.Buffer
	b.Write(testMessage("large@client.example", "large"))
	line := strings.Repeat("y", 76) + "\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	return b.Bytes()
}

// peakRSS is VmHWM of the server process, in bytes. It counts the pages
// of badger's memory-mapped value log that the stored messages were
// written to (page cache, given back under memory pressure) as well as
// the process's own memory.
func peakRSS(t *testing.T, srv *proc) int64 {
	t.Helper()
	return procStatus(t, srv, "VmHWM:")
}

// procStatus is a field of /proc/<pid>/status of the server, in bytes.
func procStatus(t *testing.T, srv *proc, field string) int64 {
	t.Helper()
	n, err := readProcStatus(srv, field)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readProcStatus(srv *proc, field string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/<pid>/status", field)
}

// sampleAnon reads the server's anonymous memory (RssAnon: its heap and
// stacks) and its resident mapped files (RssFile: mostly badger's value
// log) every pollInterval until the returned func is called, which
// returns the largest value of each. The kernel keeps no peak of them, so
// they are sampled: a peak shorter than pollInterval may be missed.
func sampleAnon(srv *proc) (peak func() (anon, file int64)) {
	stop, done := make(chan struct{}), make(chan [2]int64)
	go func() {
		var most [2]int64
		tick := time.NewTicker(pollInterval)
		defer tick.Stop()
		for {
			for i, field := range []string{"RssAnon:", "RssFile:"} {
				if n, err := readProcStatus(srv, field); err == nil {
					most[i] = max(most[i], n)
				}
			}
			select {
			case <-stop:
				done <- most
				return
			case <-tick.C:
			}
		}
	}()
	return func() (int64, int64) {
		close(stop)
		most := <-done
		return most[0], most[1]
	}
}

// sendConcurrent sends body memoryMessages times at once, each on its
// own connection, and counts the answers.
func sendConcurrent(t *testing.T, srv *proc, body []byte) string {
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for range memoryMessages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answer := "250"
			if err := sendRawWithin(srv.addr("smtp"), body, 10*time.Minute); err != nil {
				answer = err.Error()
				var se *smtp.SMTPError
				if errors.As(err, &se) {
					answer = fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
				}
			}
			mu.Lock()
			answers[answer]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return fmt.Sprintf("answers %v", answers)
}

// sendStalled sends body memoryMessages times at once without the final
// dot, waits until the server's peak RSS stops growing, and drops the
// connections.
func sendStalled(t *testing.T, srv *proc, body []byte) string {
	var wg sync.WaitGroup
	conns := make(chan net.Conn, memoryMessages)
	for range memoryMessages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", srv.addr("smtp"))
			if err != nil {
				t.Error(err)
				return
			}
			conns <- c
			br := bufio.NewReader(c)
			br.ReadString('\n')
			for _, cmd := range []string{"EHLO client.example", "MAIL FROM:<customer@client.example>", "RCPT TO:<" + testQueueAddr + ">", "DATA"} {
				fmt.Fprintf(c, "%s\r\n", cmd)
				for {
					line, err := br.ReadString('\n')
					if err != nil || len(line) < 4 || line[3] != '-' {
						break
					}
				}
			}
			c.Write(body)
		}()
	}
	wg.Wait()
	close(conns)
	// What is still in socket buffers reaches the server soon after:
	// wait until the kernel holds nothing in either direction on the
	// SMTP port, so the server has read (and held or thrown away)
	// every byte the clients wrote.
	waitSocketsDrained(t, srv.addr("smtp"))
	n := 0
	for c := range conns {
		c.Close()
		n++
	}
	return fmt.Sprintf("%d stalled connections", n)
}

// waitSocketsDrained waits until every TCP socket on addr's port, the
// server's and its clients', has empty send and receive queues
// (/proc/net/tcp), reading them every pollInterval.
func waitSocketsDrained(t *testing.T, addr string) {
	t.Helper()
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprintf(":%04X", port)
	deadline := time.Now().Add(10 * time.Minute)
	for tick := time.NewTicker(pollInterval); ; <-tick.C {
		table, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			t.Fatal(err)
		}
		drained := true
		for _, line := range strings.Split(string(table), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 5 || !strings.HasSuffix(f[1], suffix) && !strings.HasSuffix(f[2], suffix) {
				continue
			}
			if f[4] != "00000000:00000000" {
				drained = false
				break
			}
		}
		if drained {
			tick.Stop()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connections to %s still hold unread bytes", addr)
		}
	}
}
