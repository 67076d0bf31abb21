package policy

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clamd is a real ClamAV daemon started for the test, with a signature
// database of one signature, the EICAR test file, written by the test
// (no signature download is possible here).
type clamd struct {
	cmd      *exec.Cmd
	socket   string
	log      string
	exited   chan error
	stopOnce sync.Once
}

// clamdStreamMax is the StreamMaxLength the test clamd runs with.
const clamdStreamMax = 1 << 20

// startClamd starts clamd and waits until it answers PING. A missing
// clamd binary fails the test: CI installs Debian's clamav-daemon.
func startClamd(t *testing.T) *clamd {
	t.Helper()
	bin, err := exec.LookPath("clamd")
	if err != nil {
		bin = "/usr/sbin/clamd"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("clamd not found (install Debian's clamav-daemon, as .ci/run does): %v", err)
	}
	// A short directory: a Unix socket path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	sig := fmt.Sprintf("%x:%d:Eicar-Test-Signature\n", md5.Sum(eicar()), len(eicar()))
	if err := os.WriteFile(filepath.Join(db, "test.hdb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &clamd{socket: filepath.Join(dir, "clamd.sock"), log: filepath.Join(dir, "clamd.log"), exited: make(chan error, 1)}
	conf := strings.Join([]string{
		"LocalSocket " + c.socket,
		"DatabaseDirectory " + db,
		"TemporaryDirectory " + dir,
		"LogFile " + c.log,
		"PidFile " + filepath.Join(dir, "clamd.pid"),
		"Foreground yes",
		fmt.Sprintf("StreamMaxLength %d", clamdStreamMax),
		"SelfCheck 0",
		"",
	}, "\n")
	confPath := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "--config-file="+confPath)
	killWithParent(c.cmd)
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start clamd: %v", err)
	}
	go func() { c.exited <- c.cmd.Wait() }()
	t.Cleanup(c.stop)

	client := NewClamd("unix:"+c.socket, time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := client.Ping(context.Background())
		if err == nil {
			return c
		}
		select {
		case werr := <-c.exited:
			c.stopOnce.Do(func() {})
			t.Fatalf("clamd exited at start (%v):\n%s", werr, c.logText())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("clamd doesn't answer PING after 60s: %v\n%s", err, c.logText())
		}
	}
}

// stop stops clamd and waits for it to exit.
func (c *clamd) stop() {
	c.stopOnce.Do(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	})
}

func (c *clamd) logText() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

// TestClamd runs every check against one real clamd, stopped at the end.
func TestClamd(t *testing.T) {
	start := time.Now()
	d := startClamd(t)
	t.Logf("clamd ready in %v", time.Since(start).Round(time.Millisecond))
	client := NewClamd("unix:"+d.socket, 10*time.Second)
	ctx := context.Background()

	t.Run("ping", func(t *testing.T) {
		if err := client.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("eicar", func(t *testing.T) {
		v, err := client.Scan(ctx, bytes.NewReader(eicar()))
		if err != nil {
			t.Fatal(err)
		}
		// ClamAV marks signatures from unofficial databases ".UNOFFICIAL".
		if !v.Infected || !strings.HasPrefix(v.Signature, "Eicar-Test-Signature") {
			t.Fatalf("verdict %+v", v)
		}
	})
	t.Run("clean", func(t *testing.T) {
		for _, b := range [][]byte{samplePDF(), samplePNG(t), bytes.Repeat([]byte("clean "), 50000), nil} {
			v, err := client.Scan(ctx, bytes.NewReader(b))
			if err != nil || v.Infected {
				t.Fatalf("%d bytes: verdict %+v, err %v", len(b), v, err)
			}
		}
	})
	t.Run("clamd size limit", func(t *testing.T) {
		big := NewClamd("unix:"+d.socket, 10*time.Second)
		big.StreamMaxLength = 0 // let clamd's own limit stop it
		_, err := big.Scan(ctx, bytes.NewReader(make([]byte, 3*clamdStreamMax)))
		if !errors.Is(err, ErrScanTooLarge) || !strings.Contains(err.Error(), "StreamMaxLength") {
			t.Fatalf("err = %v, want ErrScanTooLarge", err)
		}
	})
	t.Run("client size limit", func(t *testing.T) {
		small := NewClamd("unix:"+d.socket, 10*time.Second)
		small.StreamMaxLength = 1000
		_, err := small.Scan(ctx, bytes.NewReader(make([]byte, 1001)))
		if !errors.Is(err, ErrScanTooLarge) {
			t.Fatalf("err = %v, want ErrScanTooLarge", err)
		}
		if _, err := small.Scan(ctx, bytes.NewReader(make([]byte, 1000))); err != nil {
			t.Fatalf("at the limit: %v", err)
		}
	})
	t.Run("inspect", func(t *testing.T) {
		raw := testMessage(multipart("mixed", "b",
			textPart("hello"),
			attachment("text/plain", "eicar.txt", eicar()),
			attachment("application/pdf", "ok.pdf", samplePDF()),
		))
		res := inspect(t, raw, DefaultRules(), client)
		if len(res.Removed) != 1 || res.Removed[0].Path != "2" || !strings.HasPrefix(res.Removed[0].Reason, "virus Eicar-Test-Signature") {
			t.Fatalf("removed %+v", res.Removed)
		}
		if !bytes.Contains(res.Clean, []byte(`[mxdesk removed attachment "eicar.txt" (text/plain): a virus was found in it (Eicar-Test-Signature`)) {
			t.Errorf("note missing:\n%s", res.Clean)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		errs := make(chan error, 8)
		for range 8 {
			go func() {
				v, err := client.Scan(ctx, bytes.NewReader(eicar()))
				if err == nil && !v.Infected {
					err = errors.New("EICAR not found")
				}
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("stopped", func(t *testing.T) {
		d.stop()
		if err := client.Ping(ctx); !errors.Is(err, ErrScanUnavailable) {
			t.Errorf("ping: err = %v, want ErrScanUnavailable", err)
		}
		if _, err := client.Scan(ctx, bytes.NewReader(eicar())); !errors.Is(err, ErrScanUnavailable) {
			t.Errorf("scan: err = %v, want ErrScanUnavailable", err)
		}
		raw := testMessage(multipart("mixed", "b", textPart("hello"), attachment("application/pdf", "ok.pdf", samplePDF())))
		if _, err := Inspect(ctx, raw, DefaultRules(), client); !errors.Is(err, ErrScanUnavailable) {
			t.Errorf("inspect: err = %v, want ErrScanUnavailable", err)
		}
	})
}

// TestClamdTimeout: a clamd that accepts and never answers is
// unavailable once the timeout passes.
func TestClamdTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	client := NewClamd("tcp:"+ln.Addr().String(), 200*time.Millisecond)
	start := time.Now()
	_, err = client.Scan(context.Background(), bytes.NewReader([]byte("hello")))
	if !errors.Is(err, ErrScanUnavailable) {
		t.Fatalf("err = %v, want ErrScanUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timed out after %v", d)
	}
	// The context's end cuts a call short too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	slow := NewClamd("tcp:"+ln.Addr().String(), time.Minute)
	if err := slow.Ping(ctx); !errors.Is(err, ErrScanUnavailable) {
		t.Fatalf("ping: err = %v", err)
	}
}

// TestClamdAnswers checks how answers are read, with a fake clamd.
func TestClamdAnswers(t *testing.T) {
	for answer, want := range map[string]string{
		"stream: OK\x00":                          "clean",
		"stream: Win.Test.EICAR_HDB-1 FOUND\x00":  "infected Win.Test.EICAR_HDB-1",
		"INSTREAM size limit exceeded. ERROR\x00": "too large",
		"Can't allocate memory ERROR\x00":         "unavailable",
		"stream: OK":                              "unavailable", // no NUL: cut short
		"":                                        "unavailable",
		strings.Repeat("x", 5000):                 "unavailable",
		"stream: Eicar-Test-Signature FOUND\x00junk": "infected Eicar-Test-Signature",
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 100)
			c.Read(buf)
			c.Write([]byte(answer))
		}()
		v, err := NewClamd("tcp:"+ln.Addr().String(), time.Second).Scan(context.Background(), bytes.NewReader([]byte("x")))
		got := "clean"
		switch {
		case errors.Is(err, ErrScanTooLarge):
			got = "too large"
		case errors.Is(err, ErrScanUnavailable):
			got = "unavailable"
		case err != nil:
			got = "error " + err.Error()
		case v.Infected:
			got = "infected " + v.Signature
		}
		if got != want {
			t.Errorf("answer %.40q: got %s (%v), want %s", answer, got, err, want)
		}
		ln.Close()
	}
}

func TestParseClamdAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		"unix:/run/clamav/clamd.ctl": true,
		"tcp:127.0.0.1:3310":         true,
		"tcp:[::1]:3310":             true,
		"tcp:clamav:3310":            true,
		"unix:relative.sock":         false,
		"tcp:127.0.0.1":              false,
		"/run/clamd.ctl":             false,
		"udp:1.2.3.4:3310":           false,
		"":                           false,
	} {
		if _, _, err := ParseClamdAddr(addr); (err == nil) != ok {
			t.Errorf("ParseClamdAddr(%q): err = %v", addr, err)
		}
	}
	if err := NewClamd("bogus", time.Second).Ping(context.Background()); !errors.Is(err, ErrScanUnavailable) {
		t.Errorf("bad address: err = %v", err)
	}
}
