package gateway_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

// chromium finds the headless browser the page is tested in. Without it
// the test fails: CI installs Debian's chromium (.ci/run).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("no chromium on PATH: the supervisor page is tested in a headless browser; install it (Debian: apt-get install chromium)")
	return ""
}

// TestSupervisorPageInBrowser: in a real browser the page shows every
// queue, and its waiting count follows a message sent over SMTP without a
// reload. SUPERVISOR_SCREENSHOT=file.png saves what the page looked like.
func TestSupervisorPageInBrowser(t *testing.T) {
	exe := chromium(t)
	cfg := testutil.Config(t, "")
	cfg.Queue[0].KPIWaitAlarm = config.Duration{Duration: 10 * time.Minute}
	clock := testutil.NewClock()
	g := startGatewayClock(t, cfg, clock)
	support := chromedp.CSS(`tr[data-queue="Support"] td.waiting`)
	ctx := openSupervisorPage(t, exe, g, "carol@example.test", support)
	if got := text(t, ctx, support); got != "0" {
		t.Errorf("Support waiting %q, want 0", got)
	}
	if got := text(t, ctx, chromedp.CSS(`tr[data-queue="Billing"] td.name`)); got != "Billing" {
		t.Errorf("Billing row shows %q", got)
	}
	// Once the stream is open, what arrives is pushed.
	poll(t, ctx, `document.getElementById("live-text").textContent === "live"`, "the event stream to open")
	// Marks this document: a reload would lose the mark.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}

	sendToQueue(t, g, "support@example.test", "<browser-1@customer.test>", "Invoice 4471 is wrong, please check")
	poll(t, ctx, `document.querySelector('tr[data-queue="Support"] td.waiting').textContent === "1"`, "Support's waiting count to become 1")
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !ok {
		t.Errorf("the page reloaded instead of updating in place (%v)", err)
	}
	if got := text(t, ctx, chromedp.CSS(`#waiting tbody tr td.subject`)); got != "Invoice 4471 is wrong, please check" {
		t.Errorf("waiting sessions list shows subject %q", got)
	}
	// Eleven minutes later a second one arrives: the pushed update marks
	// the first, over Support's 10-minute threshold, in red, and only it.
	clock.Advance(11 * time.Minute)
	sendToQueue(t, g, "support@example.test", "<browser-2@customer.test>", "second")
	poll(t, ctx, `document.querySelectorAll('#waiting tbody tr').length === 2`, "the second waiting session")
	if got := text(t, ctx, chromedp.CSS(`#waiting tbody tr.alarm td.subject`)); got != "Invoice 4471 is wrong, please check" {
		t.Errorf("the red row of the waiting list shows %q, want the session waiting 11 minutes", got)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#waiting tbody tr.alarm').length`)); err != nil || n != 1 {
		t.Errorf("%d red rows (%v), want 1", n, err)
	}
	if path := os.Getenv("SUPERVISOR_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// openSupervisorPage opens g's supervisor page in a headless exe, logged
// in as login, and waits until visible is; the context ends with the
// test (a minute at most).
func openSupervisorPage(t *testing.T, exe string, g *gateway.Gateway, login string, visible chromedp.CSS) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// The browser lives as long as the context of its first run: start it
	// without the timeout, which then bounds each step.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(cancel)

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(login+":"+testutil.Password))
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
			return err
		}),
		chromedp.Navigate("http://"+g.Addr("http")+"/supervisor"),
		chromedp.WaitVisible(visible),
	)
	if err != nil {
		t.Fatalf("open the page: %v", err)
	}
	return ctx
}

// text is the text of the element sel, read in one evaluation: the
// page's script replaces table rows whenever an update comes, so a node
// found by one protocol call may be gone by the next.
func text(t *testing.T, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, string(sel))))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// poll waits, in the page, until expr is true.
func poll(t *testing.T, ctx context.Context, expr, what string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
