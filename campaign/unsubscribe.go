package campaign

import (
	"html/template"
	"net/http"

	"mxdesk/router"
)

var unsubscribePage = template.Must(template.New("u").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto">
<h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Button}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>{{end}}
</body></html>
`))

type pageData struct {
	Title, Text string
	Button      bool
}

// UnsubscribeHandler serves the unsubscribe links on [listen] http: GET
// shows a page with a button (mail scanners that follow links must not
// unsubscribe anyone), POST unsubscribes (what the button and RFC 8058
// one-click clients send). A link that was changed is 403.
func (s *Service) UnsubscribeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		session, ok := s.checkUnsubscribe(req.URL.Path)
		switch {
		case !ok:
			page(w, http.StatusForbidden, pageData{Title: "Invalid link", Text: "This unsubscribe link is not valid. Use the link of the message as it came."})
		case req.Method == http.MethodPost:
			s.unsubscribe(w, req, session)
		default:
			page(w, http.StatusOK, pageData{Title: "Unsubscribe", Text: "Press the button to receive no more of these messages.", Button: true})
		}
	})
}

func (s *Service) unsubscribe(w http.ResponseWriter, req *http.Request, session string) {
	addr, err := s.r.Unsubscribe(req.Context(), session, "one-click link")
	switch {
	case router.KindOf(err) == router.KindNotFound:
		page(w, http.StatusNotFound, pageData{Title: "Not found", Text: "This message is no longer known."})
	case err != nil:
		s.log.Error("campaign: unsubscribe", "session", session, "err", err)
		page(w, http.StatusServiceUnavailable, pageData{Title: "Try again later", Text: "The unsubscribe could not be recorded now. Please try again in a few minutes."})
	default:
		s.log.Info("unsubscribed", "session", session, "address", addr)
		page(w, http.StatusOK, pageData{Title: "Unsubscribed", Text: addr + " will receive no more of these messages."})
	}
}

func page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	unsubscribePage.Execute(w, d) // an error here is the client gone
}
