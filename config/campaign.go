package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Campaign is [campaign]: what outbound campaigns (SPEC §13) need beyond
// a queue and a [[template]].
type Campaign struct {
	// LinkBaseURL is where recipients reach mxdesk's [listen] http
	// ("https://desk.example.com"): the start of every unsubscribe link.
	// Campaigns can't be created without it.
	LinkBaseURL string `toml:"link_base_url"`
	// SecretFile signs the unsubscribe links (one line: whsec_<base64>,
	// the format of crm.secret_file; the same file may serve both).
	SecretFile string `toml:"secret_file"`
}

// Enabled says whether campaigns can be created.
func (c Campaign) Enabled() bool { return c.LinkBaseURL != "" }

func (p *parser) checkCampaign() {
	c := p.cfg.Campaign
	if c.LinkBaseURL == "" {
		if c.SecretFile != "" {
			p.errorf("campaign.link_base_url", "is required with campaign.secret_file: the unsubscribe links start with it (\"https://desk.example.com\")")
		}
		return
	}
	if u, err := url.Parse(c.LinkBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.errorf("campaign.link_base_url", "%q: want an http or https URL such as \"https://desk.example.com\"", c.LinkBaseURL)
	}
	switch {
	case c.SecretFile == "":
		p.errorf("campaign.secret_file", "is required with campaign.link_base_url: it signs the unsubscribe links (one line whsec_<base64>)")
	default:
		if _, err := ReadCampaignSecret(c.SecretFile); err != nil {
			p.errorf("campaign.secret_file", "%v", err)
		}
	}
	if p.cfg.Listen.HTTP == "" {
		p.errorf("campaign.link_base_url", "needs [listen] http: the unsubscribe links are served there")
	}
	for i, t := range p.cfg.Template {
		if len(t.BodyHTML) > maxTemplateBody {
			p.errorf(fmt.Sprintf("template[%d].body_html", i), "longer than %d bytes", maxTemplateBody)
		}
	}
}

// ReadCampaignSecret reads campaign.secret_file.
func ReadCampaignSecret(path string) ([]byte, error) {
	b, err := ReadCRMSecret(path)
	if err != nil {
		return nil, fmt.Errorf("campaign.secret_file%s", strings.TrimPrefix(err.Error(), "crm.secret_file"))
	}
	return b, nil
}

// TemplateByName finds the [[template]] name for queue (one of that
// queue, else one of every queue), case-insensitively.
func (c *Config) TemplateByName(name, queue string) (Template, bool) {
	var shared *Template
	for i, t := range c.Template {
		if !strings.EqualFold(t.Name, name) {
			continue
		}
		if strings.EqualFold(t.Queue, queue) {
			return t, true
		}
		if t.Queue == "" {
			shared = &c.Template[i]
		}
	}
	if shared != nil {
		return *shared, true
	}
	return Template{}, false
}

// dayNames are the day names a campaign window takes, by time.Weekday.
var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWindow parses a campaign's sending window, "Mon-Fri 13:00-18:00"
// (days: a name, a range "Mon-Fri", or a list "Mon,Wed"; then one or more
// ranges "09:00-12:00,14:00-18:00"), into a schedule in the time zone and
// with the holidays of base (the queue's [queue.hours]).
func ParseWindow(spec string, base Hours) (Hours, error) {
	days, ranges, ok := strings.Cut(strings.TrimSpace(spec), " ")
	if !ok {
		return Hours{}, fmt.Errorf("window %q: want days and times, e.g. \"Mon-Fri 13:00-18:00\"", spec)
	}
	spans, err := parseDay(strings.TrimSpace(ranges))
	if err != nil {
		return Hours{}, fmt.Errorf("window %q: %v", spec, err)
	}
	on, err := parseDays(days)
	if err != nil {
		return Hours{}, fmt.Errorf("window %q: %v", spec, err)
	}
	h := Hours{Timezone: base.Timezone, Holidays: base.Holidays, loc: base.loc, holidays: base.holidays}
	for wd := range on {
		if on[wd] {
			h.spans[wd] = spans
		}
	}
	return h, nil
}

// parseDays parses "Mon-Fri", "Sat", "Mon,Wed,Fri" into the days it names.
func parseDays(s string) ([7]bool, error) {
	var on [7]bool
	for _, part := range strings.Split(strings.ToLower(s), ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, to := dayIndex(a), dayIndex(b)
		if !isRange {
			to = from
		}
		if from < 0 || to < 0 {
			return on, fmt.Errorf("%q is not a day or day range (want Mon, Tue, ... Sun, e.g. \"Mon-Fri\")", part)
		}
		for d := from; ; d = (d + 1) % 7 {
			on[d] = true
			if d == to {
				break
			}
		}
	}
	return on, nil
}

func dayIndex(s string) int {
	s = strings.TrimSpace(s)
	for i, n := range dayNames {
		if s == n || s == strings.ToLower(time.Weekday(i).String()) {
			return i
		}
	}
	return -1
}

// ParseRate parses a campaign's pace, "10/s", "30/m", "500/h", into the
// interval between two messages.
func ParseRate(s string) (time.Duration, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.Atoi(n)
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	if !ok || err != nil || count <= 0 || per == 0 {
		return 0, fmt.Errorf("rate %q: want a count per second, minute or hour, e.g. \"10/s\", \"30/m\", \"500/h\"", s)
	}
	if count > 1000 && unit == "s" {
		return 0, fmt.Errorf("rate %q: at most 1000/s", s)
	}
	return per / time.Duration(count), nil
}
