package config

import (
	"strings"
	"testing"
	"time"
)

func TestCampaignValidation(t *testing.T) {
	secret := crmSecretFile(t)
	for _, tt := range []struct {
		name, keys, key, msg string
	}{
		{"needs http", "link_base_url = \"https://desk.example.test\"\nsecret_file = \"" + secret + "\"", "campaign.link_base_url", "needs [listen] http"},
		{"not a URL", "link_base_url = \"desk\"\nsecret_file = \"" + secret + "\"", "campaign.link_base_url", "want an http or https URL"},
		{"secret required", "link_base_url = \"https://desk.example.test\"", "campaign.secret_file", "is required with campaign.link_base_url"},
		{"secret unreadable", "link_base_url = \"https://desk.example.test\"\nsecret_file = \"/nonexistent/secret\"", "campaign.secret_file", "no such file"},
		{"secret alone", "secret_file = \"" + secret + "\"", "campaign.link_base_url", "is required with campaign.secret_file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parse(t, edit(t, "[listen]", "[campaign]\n"+tt.keys+"\n[listen]\nhttp = \"\""))
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) && e.Line > 0 {
					return
				}
			}
			t.Errorf("want an error with key %q (and its line) containing %q, got:\n%v", tt.key, tt.msg, errs)
		})
	}
	cfg, errs := parse(t, edit(t, "[listen]", "[campaign]\nlink_base_url = \"https://desk.example.test\"\nsecret_file = \""+secret+"\"\n[listen]\nhttp = \"127.0.0.1:8080\""))
	if errs != nil || !cfg.Campaign.Enabled() {
		t.Errorf("a valid [campaign]: %v", errs)
	}
}

func TestCampaignWindowAndRate(t *testing.T) {
	rome, _ := time.LoadLocation("Europe/Rome")
	base := Hours{loc: rome, holidays: map[int]bool{dateKey(2026, 12, 25): true}}
	h, err := ParseWindow("Mon-Fri 13:00-18:00", base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 12, 7, 13, 0, 0, 0, rome), true},      // Monday 13:00 in Rome
		{time.Date(2026, 12, 7, 12, 30, 0, 0, time.UTC), true}, // 13:30 in Rome
		{time.Date(2026, 12, 7, 18, 0, 0, 0, rome), false},
		{time.Date(2026, 12, 5, 14, 0, 0, 0, rome), false},  // Saturday
		{time.Date(2026, 12, 25, 14, 0, 0, 0, rome), false}, // a Friday, a holiday of the queue
	} {
		if got := h.Open(tt.at); got != tt.open {
			t.Errorf("open at %v = %v, want %v", tt.at, got, tt.open)
		}
	}
	if h, _ := ParseWindow("Sat,sunday 09:00-12:00,14:00-16:00", base); !h.Open(time.Date(2026, 12, 6, 15, 0, 0, 0, rome)) || h.Open(time.Date(2026, 12, 7, 15, 0, 0, 0, rome)) {
		t.Errorf("Sat,sunday with two ranges")
	}
	for _, bad := range []string{"Mon-Fri", "Mo-Fr 13:00-18:00", "Mon-Fri 18:00-13:00", "Mon-Fri 13:00"} {
		if _, err := ParseWindow(bad, base); err == nil || !strings.Contains(err.Error(), "window") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	for spec, want := range map[string]time.Duration{"10/s": 100 * time.Millisecond, "30/m": 2 * time.Second, "500/h": 7200 * time.Millisecond} {
		if got, err := ParseRate(spec); err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"10", "0/s", "ten/s", "10/d", "2000/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
