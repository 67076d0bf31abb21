package policy

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"mxdesk/testutil/clamdtest"
)

// TestClamd runs every check against one real clamd (clamdtest: its
// signature database holds EICAR only), stopped at the end.
func TestClamd(t *testing.T) {
	start := time.Now()
	d := clamdtest.Start(t)
	t.Logf("clamd ready in %v", time.Since(start).Round(time.Millisecond))
	client := NewClamd(d.Addr, 10*time.Second)
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
		if !v.Infected || !strings.HasPrefix(v.Signature, clamdtest.Signature) {
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
		big := NewClamd(d.Addr, 10*time.Second)
		big.StreamMaxLength = 0 // let clamd's own limit stop it
		_, err := big.Scan(ctx, bytes.NewReader(make([]byte, 3*clamdtest.StreamMaxLength)))
		if !errors.Is(err, ErrScanTooLarge) || !strings.Contains(err.Error(), "StreamMaxLength") {
			t.Fatalf("err = %v, want ErrScanTooLarge", err)
		}
	})
	t.Run("client size limit", func(t *testing.T) {
		small := NewClamd(d.Addr, 10*time.Second)
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
		d.Stop()
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
