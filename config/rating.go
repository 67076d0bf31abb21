package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Rating is a queue's satisfaction rating (issue 20): agents' replies end
// with one signed link per score, on [listen] http, that records the
// customer's rating of the session.
type Rating struct {
	Enabled bool `toml:"enabled"`
	// Title is the line above the links ("Rate our service").
	Title string `toml:"title"`
	// Scale is the highest score: the links go from 1 to Scale (2..10,
	// default 5).
	Scale int `toml:"scale"`
	// Thanks is what the customer reads once the rating is recorded.
	Thanks string `toml:"thanks"`
	// BaseURL is where customers reach mxdesk's [listen] http
	// ("https://desk.example.com"): the links start with it.
	BaseURL string `toml:"base_url"`
}

// The rating defaults.
const (
	DefaultRatingTitle  = "Rate our service"
	DefaultRatingScale  = 5
	DefaultRatingThanks = "Thank you for your rating."
	// MaxRatingScale bounds the links a reply carries.
	MaxRatingScale = 10
)

// ratingKeys tells which keys the i-th queue's [queue.rating] sets.
func (p *parser) ratingKeys(i int) map[string]any {
	var elem any
	switch q := p.raw["queue"].(type) {
	case []map[string]any:
		if i < len(q) {
			elem = q[i]
		}
	case []any:
		if i < len(q) {
			elem = q[i]
		}
	}
	m, _ := elem.(map[string]any)
	r, _ := m["rating"].(map[string]any)
	return r
}

// checkRatings fills the absent keys of every queue's rating and checks
// them.
func (p *parser) checkRatings() {
	for i := range p.cfg.Queue {
		r, key := &p.cfg.Queue[i].Rating, fmt.Sprintf("queue[%d].rating", i)
		set := p.ratingKeys(i)
		if _, ok := set["scale"]; !ok {
			r.Scale = DefaultRatingScale
		}
		if _, ok := set["title"]; !ok {
			r.Title = DefaultRatingTitle
		}
		if _, ok := set["thanks"]; !ok {
			r.Thanks = DefaultRatingThanks
		}
		if r.Scale < 2 || r.Scale > MaxRatingScale {
			p.errorf(key+".scale", "%d: want 2 to %d (the highest score)", r.Scale, MaxRatingScale)
		}
		if strings.TrimSpace(r.Title) == "" || strings.ContainsAny(r.Title, "\r\n") {
			p.errorf(key+".title", "%q: want one line of text, such as %q", r.Title, DefaultRatingTitle)
		}
		if strings.TrimSpace(r.Thanks) == "" {
			p.errorf(key+".thanks", "is empty: customers read it once they rated")
		}
		if !r.Enabled {
			continue
		}
		if r.BaseURL == "" {
			p.errorf(key+".base_url", "is required with rating enabled: the links start with it (\"https://desk.example.com\")")
		} else if u, err := url.Parse(r.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.errorf(key+".base_url", "%q: want an http or https URL such as \"https://desk.example.com\"", r.BaseURL)
		}
		if p.cfg.Listen.HTTP == "" {
			p.errorf(key+".enabled", "needs [listen] http: the rating links are served there")
		}
	}
}
