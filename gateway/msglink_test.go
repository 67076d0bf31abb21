package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mxdesk/gateway"
	"mxdesk/msglink"
	"mxdesk/store"
	"mxdesk/testutil"
)

// linkDesk is a gateway with the CRM feed on ([crm] url is a loopback
// server answering 200) and the signer a CRM feed on the same
// configuration makes links with.
type linkDesk struct {
	g      *gateway.Gateway
	clock  *testutil.Clock
	signer *msglink.Signer
}

func startLinkDesk(t *testing.T) *linkDesk {
	t.Helper()
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	}))
	t.Cleanup(crm.Close)
	secret := make([]byte, 32)
	rand.Read(secret)
	secretFile := filepath.Join(t.TempDir(), "crm.secret")
	if err := os.WriteFile(secretFile, []byte("whsec_"+base64.StdEncoding.EncodeToString(secret)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	snk := startSink(t) // agents' replies leave through it
	cfg := testutil.Config(t, fmt.Sprintf("[delivery]\nsmarthost = %q\nsmarthost_tls = \"none\"\n[crm]\nurl = %q\nsecret_file = %q\nlink_base_url = \"https://desk.example.test/\"\n",
		snk.addr, crm.URL+"/hooks/mxdesk", secretFile))
	cfg.Listen.Submission = "127.0.0.1:0"
	clock := testutil.NewClock()
	g := startGatewayClock(t, cfg, clock)
	signer, err := msglink.ForCRM(cfg.CRM, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &linkDesk{g: g, clock: clock, signer: signer}
}

// link is the URL of the message with blob in session, on the gateway's
// HTTP listener.
func (d *linkDesk) link(session string, blob store.BlobID) string {
	return strings.Replace(d.signer.URL(session, blob), "https://desk.example.test", "http://"+d.g.Addr("http"), 1)
}

// latest returns the session of the message with Message-ID msgID and the
// body blob of the session's latest message.
func (d *linkDesk) latest(t *testing.T, msgID string) (string, store.BlobID) {
	t.Helper()
	var session string
	var latest store.Message
	err := d.g.Router().View(func(rd store.Reader) error {
		var err error
		if session, err = rd.SessionByMessageID(msgID); err != nil {
			return err
		}
		msgs, err := rd.SessionMessages(session)
		for _, m := range msgs {
			if m.InternalDate.After(latest.InternalDate) || m.InternalDate.Equal(latest.InternalDate) && m.Blob > latest.Blob {
				latest = m
			}
		}
		return err
	})
	if err != nil {
		t.Fatalf("session of <%s>: %v", msgID, err)
	}
	return session, latest.Blob
}

// TestMessageLinkShowsLatestMessage: the link of a session's latest
// message opens it (headers, escaped text, attachments); a changed link is
// 403, another session's message 404, and past crm.link_ttl (30 days by
// default) the link is 410.
func TestMessageLinkShowsLatestMessage(t *testing.T) {
	d := startLinkDesk(t)
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test",
		"From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: Broken printer\r\nMessage-ID: <ml-1@customer.test>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0100\r\n\r\nIt prints nothing.\r\n")
	d.clock.Advance(time.Minute)
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test",
		"From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: Re: Broken printer\r\nMessage-ID: <ml-2@customer.test>\r\nIn-Reply-To: <ml-1@customer.test>\r\n"+
			"Date: Mon, 2 Mar 2026 09:01:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"+
			"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nStill broken <script>alert(1)</script> — Ελληνικά\r\n"+
			"--b\r\nContent-Type: application/pdf; name=\"invoice 4471.pdf\"\r\nContent-Disposition: attachment; filename=\"invoice 4471.pdf\"\r\n\r\n%PDF-1.4 fake\r\n--b--\r\n")
	sendRawMX(t, d.g, "dan@other.test", "support@example.test",
		"From: dan@other.test\r\nTo: support@example.test\r\nSubject: Another matter\r\nMessage-ID: <ml-other@other.test>\r\n\r\nsecret of another customer\r\n")
	session, blob := d.latest(t, "ml-2@customer.test")
	if first, _ := d.latest(t, "ml-1@customer.test"); first != session {
		t.Fatalf("the follow-up started %s, not %s", session, first)
	}
	otherSession, otherBlob := d.latest(t, "ml-other@other.test")
	if otherSession == session {
		t.Fatal("another customer's mail joined the session")
	}

	resp, body := httpDo(t, "GET", d.link(session, blob), "")
	page := string(body)
	if resp.StatusCode != 200 {
		t.Fatalf("link: %s\n%s", resp.Status, page)
	}
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "private, no-store",
		"Content-Type":            "text/html; charset=utf-8",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	for _, want := range []string{
		"Still broken &lt;script&gt;alert(1)&lt;/script&gt; — Ελληνικά", // the text, escaped
		"Re: Broken printer", "Carla &lt;carla@customer.test&gt;", "Mon, 2 Mar 2026 09:01:00 &#43;0100", session,
		"invoice 4471.pdf (application/pdf,",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "It prints nothing") || strings.Contains(page, "<script>") {
		t.Errorf("page shows the first message or a script:\n%s", page)
	}

	link, _ := url.Parse(d.link(session, blob))
	q := link.Query()
	sig := []byte(q.Get("sig"))
	sig[3] ^= 1
	q.Set("sig", string(sig))
	link.RawQuery = q.Encode()
	refused := map[string]struct {
		url    string
		status int
	}{
		"tampered signature":        {link.String(), http.StatusForbidden},
		"no signature":              {"http://" + d.g.Addr("http") + msglink.Path + session + "/1", http.StatusForbidden},
		"longer expiry":             {strings.Replace(d.link(session, blob), "exp=", "exp=1", 1), http.StatusForbidden},
		"message of no session":     {d.link("S-ZZZZZ", blob), http.StatusNotFound},
		"no such message":           {d.link(session, blob+1000), http.StatusNotFound},
		"another session's message": {d.link(session, otherBlob), http.StatusNotFound},
	}
	for name, c := range refused {
		resp, body := httpDo(t, "GET", c.url, "")
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || len(body) > 200 || strings.Contains(string(body), "store") {
			t.Errorf("%s: %s %q (%s), want %d with a short plain page", name, resp.Status, body, resp.Header.Get("Content-Type"), c.status)
		}
	}

	good := d.link(session, blob)
	d.clock.Advance(30*24*time.Hour - time.Minute)
	if resp, _ := httpDo(t, "GET", good, ""); resp.StatusCode != 200 {
		t.Errorf("a link 30 days less a minute old: %s", resp.Status)
	}
	d.clock.Advance(2 * time.Minute)
	if resp, body := httpDo(t, "GET", good, ""); resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "expired") {
		t.Errorf("a link past crm.link_ttl: %s %q, want 410", resp.Status, body)
	}
}

// TestMessageLinkOffWithoutCRM: without [crm] url there is no message
// page.
func TestMessageLinkOffWithoutCRM(t *testing.T) {
	g := startGateway(t, "")
	if resp, _ := httpDo(t, "GET", "http://"+g.Addr("http")+msglink.Path+"S-ABCDE/1?exp=1&sig=x", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("message page with the CRM feed off: %s, want 404", resp.Status)
	}
}

// hostileHTML is an HTML mail that tries to load remote content and run
// script in every common way, with one inline image of its own (cid:).
func hostileHTML(t *testing.T, remote string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, img); err != nil {
		t.Fatal(err)
	}
	html := `<html><head><link rel="stylesheet" href="` + remote + `/style.css">
<style>@import url(` + remote + `/import.css); body { background: url(` + remote + `/bg.png) }</style>
<script>window.ranScript = true; fetch("` + remote + `/script-fetch")</script></head>
<body onload="window.ranOnload = true">
<p id="words">Please find the photo below.</p>
<img src="` + remote + `/track.png" width="1" height="1">
<img src="` + remote + `/broken.png" onerror="window.ranOnerror = true; new Image().src='` + remote + `/onerror.png'">
<img class="own" src="cid:photo-1@customer.test" alt="photo">
<img srcset="` + remote + `/srcset.png 2x">
<div style="background-image: url('` + remote + `/inline-style.png')">styled</div>
<iframe src="` + remote + `/frame.html"></iframe>
<object data="` + remote + `/object.swf"></object>
<video poster="` + remote + `/poster.png"></video>
<a href="javascript:window.ranHref = true">click</a>
<table background="` + remote + `/table.png"><tr><td>cell</td></tr></table>
<svg><image href="` + remote + `/svg.png"></image></svg>
<form action="` + remote + `/form"><input type="image" src="` + remote + `/input.png"></form>
</body></html>`
	return "From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: Photo\r\nMessage-ID: <hostile@customer.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n" +
		"--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n" +
		"--rel\r\nContent-Type: image/png; name=photo.png\r\nContent-Disposition: inline; filename=photo.png\r\nContent-ID: <photo-1@customer.test>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(pngData.Bytes()) + "\r\n--rel--\r\n"
}

// remoteHost is the "remote" web server a hostile mail points at: it
// records every path asked for.
type remoteHost struct {
	srv  *httptest.Server
	hits chan string
}

func startRemoteHost(t *testing.T) *remoteHost {
	t.Helper()
	r := &remoteHost{hits: make(chan string, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case r.hits <- req.URL.Path:
		default:
		}
		w.Header().Set("Content-Type", "image/png")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *remoteHost) paths() []string {
	var out []string
	for {
		select {
		case p := <-r.hits:
			out = append(out, p)
		default:
			return out
		}
	}
}

// TestMessagePageServesNoRemoteContent: the page of a hostile HTML mail
// has no reference to a remote host and no script, and its own cid: image
// inline as a data: URI.
func TestMessagePageServesNoRemoteContent(t *testing.T) {
	d := startLinkDesk(t)
	remote := startRemoteHost(t)
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", hostileHTML(t, remote.srv.URL))
	session, blob := d.latest(t, "hostile@customer.test")
	resp, body := httpDo(t, "GET", d.link(session, blob), "")
	if resp.StatusCode != 200 {
		t.Fatalf("link: %s\n%s", resp.Status, body)
	}
	page := string(body)
	host := strings.TrimPrefix(remote.srv.URL, "http://")
	for _, never := range []string{host, "<script", "onerror", "onload", "javascript:", "<iframe", "<object", "<link", "url(", "srcset"} {
		if strings.Contains(page, never) {
			t.Errorf("page has %q", never)
		}
	}
	for _, want := range []string{"Please find the photo below.", `src="data:image/png;base64,`, "photo.png (image/png,"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if t.Failed() || os.Getenv("MSGLINK_SHOW") != "" {
		t.Logf("page:\n%s", page)
	}
	if got := remote.paths(); len(got) > 0 {
		t.Errorf("the remote host was asked for %v", got)
	}
}

// TestMessagePageInBrowser: in headless Chromium the page of a hostile
// HTML mail shows its words and its own inline image, asks the remote
// host for nothing and runs none of its scripts.
func TestMessagePageInBrowser(t *testing.T) {
	exe := chromium(t)
	d := startLinkDesk(t)
	remote := startRemoteHost(t)
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", hostileHTML(t, remote.srv.URL))
	session, blob := d.latest(t, "hostile@customer.test")

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(d.link(session, blob))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	// Loaded: every image the page asks for has been asked for.
	poll(t, ctx, `document.readyState === "complete" && [...document.images].every(i => i.complete)`, "the page to load")
	if got := text(t, ctx, chromedp.CSS(`#words`)); got != "Please find the photo below." {
		t.Errorf("the mail's words: %q", got)
	}
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('img[alt="photo"]').naturalWidth`)); err != nil || w != 4 {
		t.Errorf("the mail's own cid: image: width %d (%v), want 4", w, err)
	}
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[string](`["ranScript", "ranOnload", "ranOnerror", "ranHref"].filter(k => window[k]).join(",")`))
	if err != nil || ran != "" {
		t.Errorf("scripts of the mail ran: %q (%v)", ran, err)
	}
	if got := remote.paths(); len(got) > 0 {
		t.Errorf("the browser asked the remote host for %v", got)
	}
}

// TestPDFFontUnusableRefusesStart: a crm.pdf_font that looks like a
// TrueType file but isn't one stops the start, naming the key.
func TestPDFFontUnusableRefusesStart(t *testing.T) {
	font := filepath.Join(t.TempDir(), "broken.ttf")
	if err := os.WriteFile(font, []byte("\x00\x01\x00\x00 not really a font"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t, fmt.Sprintf("[crm]\npdf_font = %q\n", font))
	g, err := gateway.New(cfg, quietLog())
	if err == nil {
		g.Close()
		t.Fatal("started with a broken crm.pdf_font")
	}
	if !strings.Contains(err.Error(), "crm.pdf_font "+font) {
		t.Errorf("error %q does not name crm.pdf_font and the file", err)
	}
}

// tbReply is Alice's answer as Thunderbird sends an HTML reply:
// multipart/alternative, the quote in <blockquote type="cite"> under a
// moz-cite-prefix line, the signature in a moz-signature block.
const tbReply = `From: Alice Rossi <alice@example.test>
To: Carla <carla@customer.test>
Subject: Re: Broken printer
Date: Mon, 2 Mar 2026 10:00:00 +0100
Message-ID: <4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b77@example.test>
In-Reply-To: <tb-1@customer.test>
References: <tb-1@customer.test>
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-US
Content-Type: multipart/alternative;
 boundary="------------r7Ywm8E2gOQ3Fx1Ak5W7Hd9t"

This is a multi-part message in MIME format.
--------------r7Ywm8E2gOQ3Fx1Ak5W7Hd9t
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

Please switch it off and on again.

On 02/03/2026 09:00, Carla wrote:
> It prints nothing.

-- 
Alice Rossi

--------------r7Ywm8E2gOQ3Fx1Ak5W7Hd9t
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 7bit

<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
  </head>
  <body>
    <p>Please switch it <b>off and on</b> again.</p>
    <div class="moz-cite-prefix">On 02/03/2026 09:00, Carla wrote:<br>
    </div>
    <blockquote type="cite" cite="mid:tb-1@customer.test">It prints nothing.
    </blockquote>
    <pre class="moz-signature" cols="72">-- 
Alice Rossi</pre>
  </body>
</html>
--------------r7Ywm8E2gOQ3Fx1Ak5W7Hd9t--
`

// TestMessageLinkShowsAgentsThunderbirdReply: when the latest message is
// an agent's Thunderbird HTML reply sent through submission, its link
// shows the reply as sent (From rewritten to the queue), its HTML with
// the quote and signature.
func TestMessageLinkShowsAgentsThunderbirdReply(t *testing.T) {
	d := startLinkDesk(t)
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test",
		"From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: Broken printer\r\nMessage-ID: <tb-1@customer.test>\r\n\r\nIt prints nothing.\r\n")
	d.clock.Advance(time.Minute)
	if _, err := submitAs(t, d.g, "alice@example.test", []string{"carla@customer.test"}, crlf(tbReply)); err != nil {
		t.Fatal(err)
	}
	session, blob := d.latest(t, "tb-1@customer.test")
	resp, body := httpDo(t, "GET", d.link(session, blob), "")
	page := string(body)
	if resp.StatusCode != 200 {
		t.Fatalf("link: %s\n%s", resp.Status, page)
	}
	for _, want := range []string{
		"Please switch it <b>off and on</b> again.",
		"<blockquote", "It prints nothing.", "Alice Rossi</pre>",
		"&#34;Alice Rossi via Support&#34; &lt;support@example.test&gt;", // From as the customer got it
		"Re: Broken printer",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
}
