package config

import (
	"strings"
	"testing"
)

// withRating is base with [listen] http and Billing's [queue.rating]
// holding lines.
func withRating(lines ...string) string {
	return strings.Replace(strings.Replace(base, "smtp = \"0.0.0.0:25\"\n", "smtp = \"0.0.0.0:25\"\nhttp = \"127.0.0.1:8080\"\n", 1),
		"addresses = [\"billing@example.test\"]\n", "addresses = [\"billing@example.test\"]\n[queue.rating]\n"+strings.Join(lines, "\n")+"\n", 1)
}

func TestRatingDefaults(t *testing.T) {
	c, errs := parse(t, withRating(`enabled = true`, `base_url = "https://desk.example.test"`))
	if errs != nil {
		t.Fatal(errs)
	}
	r := c.QueueByName("Billing").Rating
	if !r.Enabled || r.Title != DefaultRatingTitle || r.Scale != DefaultRatingScale || r.Thanks != DefaultRatingThanks {
		t.Errorf("defaults: %+v", r)
	}
	if s := c.QueueByName("Support").Rating; s.Enabled || s.Scale != DefaultRatingScale {
		t.Errorf("a queue without [queue.rating]: %+v", s)
	}
}

func TestRatingValidation(t *testing.T) {
	tests := []struct {
		name, doc, key, msg string
		line                int
	}{
		{"scale too small", withRating(`scale = 1`), "queue[1].rating.scale", "want 2 to 10", 26},
		{"scale too large", withRating(`scale = 11`), "queue[1].rating.scale", "want 2 to 10", 26},
		{"scale zero", withRating(`scale = 0`), "queue[1].rating.scale", "want 2 to 10", 26},
		{"empty title", withRating(`title = ""`), "queue[1].rating.title", "one line", 26},
		{"empty thanks", withRating(`thanks = " "`), "queue[1].rating.thanks", "is empty", 26},
		{"no base_url", withRating(`enabled = true`), "queue[1].rating.base_url", "required", 0},
		{"bad base_url", withRating(`enabled = true`, `base_url = "desk.example.test"`), "queue[1].rating.base_url", "want an http or https URL", 27},
		{"no http listener", strings.Replace(withRating(`enabled = true`, `base_url = "https://desk.example.test"`), "http = \"127.0.0.1:8080\"\n", "http = \"\"\n", 1),
			"queue[1].rating.enabled", "needs [listen] http", 26},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parse(t, tt.doc)
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) && (tt.line == 0 || e.Line == tt.line) {
					return
				}
			}
			t.Errorf("want %s (line %d): %s, got %v", tt.key, tt.line, tt.msg, errs)
		})
	}
}
