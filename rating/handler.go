package rating

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

// Rater looks up and records ratings (router.Router).
type Rater interface {
	RatingSettings(session string) (config.Rating, error)
	Rate(ctx context.Context, session string, score int) (store.Rating, error)
}

// Response headers of every page: nothing loaded from elsewhere, no
// script, the form posting only here, never cached, framed or sent on
// in a Referer (the URL carries the signature).
var pageHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"Cache-Control":           "private, no-store",
	"X-Frame-Options":         "DENY",
}

var page = template.Must(template.New("rating").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em}.stars{font-size:2em;color:#d4a017}button{font-size:1.2em;padding:.5em 1.5em}</style>
</head><body>
{{if .Message}}<h1 id="message">{{.Message}}</h1>
{{else if .Thanks}}<h1 id="thanks">{{.Thanks}}</h1><p class="stars">{{.Stars}}</p><p>Your rating: {{.Score}} of {{.Scale}}</p>
{{else}}<h1>{{.Title}}</h1><p class="stars">{{.Stars}}</p><p>Your rating: {{.Score}} of {{.Scale}}</p>
<form method="post" action="{{.Action}}"><button type="submit" id="rate">Send my rating</button></form>
{{end}}</body></html>
`))

type pageData struct {
	Title, Stars, Thanks, Message, Action string
	Score, Scale                          int
}

// Handler serves Path: GET the confirmation page, POST the rating.
// onRated, if set, is told of every rating recorded (the metric). A
// forged or changed link is 403, one of no session (or of a queue that
// takes no rating, or a score off its scale) 404, each a short page.
func Handler(l *Links, r Rater, onRated func(store.Rating), log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &handler{links: l, rater: r, onRated: onRated, log: log}
}

type handler struct {
	links   *Links
	rater   Rater
	onRated func(store.Rating)
	log     *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	for k, v := range pageHeaders {
		w.Header().Set(k, v)
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		show(w, http.StatusMethodNotAllowed, pageData{Title: "Rating", Message: "Open the link from the email."})
		return
	}
	session, score, err := h.links.verify(req.URL)
	if err != nil {
		h.log.Debug("rating link refused", "path", req.URL.Path, "err", err)
		status := http.StatusNotFound
		if errors.Is(err, errForged) {
			status = http.StatusForbidden
		}
		show(w, status, pageData{Title: "Rating", Message: "This rating link is not valid."})
		return
	}
	rc, err := h.rater.RatingSettings(session)
	if err == nil && score > rc.Scale {
		err = errNoLink
	}
	if err != nil {
		h.refuse(w, session, err)
		return
	}
	d := pageData{Title: rc.Title, Stars: strings.Repeat("\u2605", score), Score: score, Scale: rc.Scale, Action: req.URL.RequestURI()}
	if req.Method == http.MethodPost {
		rating, err := h.rater.Rate(req.Context(), session, score)
		if err != nil {
			h.refuse(w, session, err)
			return
		}
		h.log.Info("rated", "session", session, "score", score, "queue", rating.Queue, "agent", rating.Agent)
		if h.onRated != nil {
			h.onRated(rating)
		}
		d.Thanks = rc.Thanks
	}
	show(w, http.StatusOK, d)
}

// refuse answers a link that leads nowhere (404) or a store that failed
// (500, logged; the customer reads no internal text).
func (h *handler) refuse(w http.ResponseWriter, session string, err error) {
	if k := router.KindOf(err); errors.Is(err, errNoLink) || k == router.KindNotFound || k == router.KindInvalid {
		h.log.Debug("rating link refused", "session", session, "err", err)
		show(w, http.StatusNotFound, pageData{Title: "Rating", Message: "This rating link is not known (any more)."})
		return
	}
	h.log.Error("recording a rating", "session", session, "err", err)
	show(w, http.StatusInternalServerError, pageData{Title: "Rating", Message: "Your rating could not be recorded just now. Please try again later."})
}

func show(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	page.Execute(w, d) // an error here is the client gone
}
