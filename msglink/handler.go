package msglink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"mxdesk/config"
	"mxdesk/store"
	"mxdesk/transcript"
)

// DefaultTTL is how long a link stays valid when crm.link_ttl is not set.
const DefaultTTL = 30 * 24 * time.Hour

// ForCRM is the Signer of the CRM feed's configuration: its key derived
// from crm.secret_file (KeyFromSecret), links under crm.link_base_url,
// valid for crm.link_ttl (DefaultTTL when zero). Every node with the same
// configuration makes and accepts the same links.
func ForCRM(c config.CRM, now func() time.Time) (*Signer, error) {
	secret, err := config.ReadCRMSecret(c.SecretFile)
	if err != nil {
		return nil, err
	}
	ttl := c.LinkTTL.Duration
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return New(KeyFromSecret(secret), c.LinkBaseURL, ttl, now), nil
}

// Response headers of every answer: the page loads nothing from anywhere
// (images only as data: URIs), runs no script, is never cached or sniffed,
// and its URL (which carries the signature) never leaves in a Referer.
var pageHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"Cache-Control":           "private, no-store",
	"X-Frame-Options":         "DENY",
}

// Handler serves GET Path<session>/<blob>?exp=&sig=: the message as a
// self-contained HTML page. A changed link is 403, an expired one 410, a
// message not (or no longer) in that session 404, each a short plain page.
func Handler(st store.Store, s *Signer) http.Handler {
	return HandlerLog(st, s, nil)
}

// HandlerLog is Handler that logs, at debug level, why a link was refused
// and, as an error, a store that failed to answer.
func HandlerLog(st store.Store, s *Signer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &handler{st: st, signer: s, log: log}
}

type handler struct {
	st     store.Store
	signer *Signer
	log    *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range pageHeaders {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		refuse(w, http.StatusMethodNotAllowed, "Only GET is served here.")
		return
	}
	session, blob, err := h.signer.Verify(r.URL)
	switch {
	case errors.Is(err, ErrExpired):
		h.log.Debug("message link expired (crm.link_ttl)", "path", r.URL.Path)
		refuse(w, http.StatusGone, "This link has expired. Ask for a new one in the CRM, or open the message in the mail client.")
		return
	case err != nil:
		h.log.Debug("message link refused: bad signature", "path", r.URL.Path)
		refuse(w, http.StatusForbidden, "This link is not valid.")
		return
	}
	raw, found, err := h.message(session, blob)
	if err != nil {
		h.log.Error("message link: reading the store", "session", session, "blob", blob, "err", err)
		refuse(w, http.StatusServiceUnavailable, "The message can't be read right now. Try again later.")
		return
	}
	if !found {
		refuse(w, http.StatusNotFound, "This message is no longer here.")
		return
	}
	var page bytes.Buffer
	if err := pageTemplate.Execute(&page, newPageData(session, transcript.Parse(raw))); err != nil {
		h.log.Error("message link: rendering", "session", session, "blob", blob, "err", err)
		refuse(w, http.StatusInternalServerError, "The message can't be shown.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page.Bytes())
}

// message reads blob if it is filed in session.
func (h *handler) message(session string, blob store.BlobID) (raw []byte, found bool, err error) {
	err = h.st.View(func(rd store.Reader) error {
		msgs, err := rd.SessionMessages(session)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Blob == blob {
				raw, err = rd.Blob(blob)
				found = err == nil
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	return raw, found, err
}

// refuse answers status with a short plain page, never an internal error.
func refuse(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(text + "\n"))
}

// maxPageHTML is the largest HTML body shown as HTML; a larger one is
// shown as its (bounded) text.
const maxPageHTML = 2 << 20

type pageData struct {
	Session     string
	Subject     string
	Headers     [][2]string
	Text        string        // a text/plain body
	HTML        template.HTML // a sanitized HTML body
	Truncated   bool
	Attachments []transcript.Attachment
}

func newPageData(session string, p transcript.Parsed) pageData {
	d := pageData{Session: session, Subject: p.Subject, Attachments: p.Attachments}
	for _, f := range [][2]string{{"From", p.From}, {"To", p.To}, {"Cc", p.Cc}, {"Date", p.DateText}, {"Subject", p.Subject}} {
		if f[1] != "" {
			d.Headers = append(d.Headers, f)
		}
	}
	if p.IsHTML && len(p.HTML) <= maxPageHTML {
		d.HTML = template.HTML(SanitizeHTML(p.HTML, p.Images))
	} else {
		d.Text, d.Truncated = p.Text, p.Truncated // bounded at transcript.MaxBodyText
	}
	return d
}

// policy is bluemonday's UGC policy: no script, style, form, frame or
// event handler; links open in a new tab without a Referer; images only
// as data: URIs (cid: ones are turned into data: URIs by inlineImages
// first).
var policy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowDataURIImages()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// SanitizeHTML makes an HTML body safe to show: cid: images replaced by
// the message's own image parts as data: URIs, every other non-data:
// image source removed (a remote image is a read receipt), then the UGC
// policy.
func SanitizeHTML(src string, images []transcript.Image) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return policy.Sanitize(src)
	}
	inlineImages(doc, images)
	var b strings.Builder
	if err := html.Render(&b, doc); err != nil {
		return ""
	}
	return policy.Sanitize(b.String())
}

// inlineImages rewrites every <img src> (and drops srcset and background
// attributes): cid: to a data: URI of the part with that Content-ID,
// data: kept, anything else removed.
func inlineImages(n *html.Node, images []transcript.Image) {
	if n.Type == html.ElementNode {
		kept := n.Attr[:0]
		for _, a := range n.Attr {
			switch key := strings.ToLower(a.Key); {
			case key == "srcset", key == "background", key == "poster", key == "lowsrc", key == "dynsrc":
				continue
			case key == "src" && n.DataAtom == atom.Img:
				if a.Val = imageSource(a.Val, images); a.Val == "" {
					continue
				}
			}
			kept = append(kept, a)
		}
		n.Attr = kept
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		inlineImages(c, images)
	}
}

func imageSource(src string, images []transcript.Image) string {
	src = strings.TrimSpace(src)
	lower := strings.ToLower(src)
	switch {
	case strings.HasPrefix(lower, "data:image/"):
		return src
	case strings.HasPrefix(lower, "cid:"):
		cid := strings.Trim(src[len("cid:"):], "<>")
		for _, img := range images {
			if img.ContentID != "" && strings.EqualFold(img.ContentID, cid) {
				return "data:" + img.Type + ";base64," + base64.StdEncoding.EncodeToString(img.Data)
			}
		}
	}
	return ""
}

var pageTemplate = template.Must(template.New("message").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Subject}} ({{.Session}})</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d232b; background: #f4f6f9; }
main { max-width: 60rem; margin: 1.5rem auto; background: #fff; border: 1px solid #d8dde5; border-radius: 6px; }
header { padding: 1rem 1.25rem; border-bottom: 1px solid #d8dde5; }
header .session { color: #5b6573; font-size: 13px; }
table.headers th { text-align: left; color: #5b6573; font-weight: 600; padding-right: 1rem; vertical-align: top; }
table.headers td { overflow-wrap: anywhere; }
.body { padding: 1rem 1.25rem; overflow-wrap: anywhere; }
.body pre.text { white-space: pre-wrap; font: 14px/1.45 ui-monospace, monospace; margin: 0; }
.body img { max-width: 100%; height: auto; }
.body blockquote { margin: .5rem 0; padding-left: .75rem; border-left: 3px solid #c6ccd6; color: #4a5360; }
.note { color: #8a5a00; }
footer { padding: .75rem 1.25rem; border-top: 1px solid #d8dde5; font-size: 14px; }
footer ul { margin: .25rem 0 0; padding-left: 1.25rem; }
</style>
</head>
<body>
<main>
<header>
<div class="session">Session {{.Session}}</div>
<table class="headers">
{{range .Headers}}<tr><th>{{index . 0}}</th><td class="h-{{index . 0}}">{{index . 1}}</td></tr>
{{end}}</table>
</header>
<div class="body">
{{if .HTML}}{{.HTML}}{{else}}<pre class="text">{{.Text}}</pre>{{end}}
{{if .Truncated}}<p class="note">The message is longer: the rest is in the mail client.</p>{{end}}
</div>
{{if .Attachments}}<footer>Attachments:
<ul class="attachments">{{range .Attachments}}<li>{{if .Name}}{{.Name}}{{else}}(no name){{end}} ({{.Type}}, {{.Size}} bytes)</li>
{{end}}</ul>
</footer>{{end}}
</main>
</body>
</html>
`))
