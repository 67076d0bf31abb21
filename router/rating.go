package router

import (
	"context"
	"errors"
	"fmt"
	"html"
	"maps"
	"strings"
	"sync"

	"mxdesk/config"
	"mxdesk/store"
)

// Satisfaction ratings ([queue.rating], issue 20): agents' replies end
// with one signed link per score (ratingBlock); a customer who follows
// one and confirms records the session's rating (Rate), last one wins.

// EventRated is the event kind of a recorded rating.
const EventRated = "rated"

// RatingLink makes the signed link of one score of a session's rating
// under base (rating.base_url): Options.RatingLink.
type RatingLink func(base, session string, score int) string

// ratingBlock is the rating's text and HTML for a reply in session of
// queue q: the title, then a link per score. Both are "" when the queue
// asks for no rating or no link maker is set.
func (r *Router) ratingBlock(q *config.Queue, session string) (text, htmlBlock string) {
	rc := q.Rating
	if !rc.Enabled || r.ratingLink == nil {
		return "", ""
	}
	var t, h strings.Builder
	t.WriteString(rc.Title + "\r\n")
	h.WriteString(`<div class="mxdesk-rating"><p>` + html.EscapeString(rc.Title) + "</p><p>")
	for score := 1; score <= rc.Scale; score++ {
		link := r.ratingLink(rc.BaseURL, session, score)
		fmt.Fprintf(&t, "  %d of %d: %s\r\n", score, rc.Scale, link)
		fmt.Fprintf(&h, `<a href="%s" title="%d of %d">%s</a> `, html.EscapeString(link), score, rc.Scale, stars(score))
	}
	h.WriteString("</p></div>")
	return t.String(), h.String()
}

// stars shows a score as that many stars.
func stars(score int) string { return strings.Repeat("\u2605", score) }

// RatingSettings is the rating configuration of session's queue: a
// KindNotFound error when there is no such session (any more) or its
// queue asks for no rating.
func (r *Router) RatingSettings(session string) (config.Rating, error) {
	var rc config.Rating
	err := r.st.View(func(rd store.Reader) error {
		s, err := rd.Session(session)
		if err != nil {
			return err
		}
		rc, err = r.queueRating(s)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return rc, errorf(KindNotFound, "no session %s", session)
	}
	return rc, err
}

func (r *Router) queueRating(s store.Session) (config.Rating, error) {
	q := r.config().QueueByName(s.Queue)
	if q == nil || !q.Rating.Enabled {
		return config.Rating{}, errorf(KindNotFound, "queue %s of session %s takes no rating", s.Queue, s.ID)
	}
	return q.Rating, nil
}

// Rate records score as session's rating (replacing an earlier one), with
// the session's agent and queue of now, and files a rated event, in one
// transaction. A score outside the queue's scale is KindInvalid.
func (r *Router) Rate(ctx context.Context, session string, score int) (store.Rating, error) {
	r.csat.mu.Lock() // the totals change with the commit
	defer r.csat.mu.Unlock()
	var rating store.Rating
	var previous *store.Rating
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		s, err := tx.Session(session)
		if err != nil {
			return err
		}
		rc, err := r.queueRating(s)
		if err != nil {
			return err
		}
		if score < 1 || score > rc.Scale {
			return errorf(KindInvalid, "score %d: the scale of queue %s is 1 to %d", score, s.Queue, rc.Scale)
		}
		previous = s.Rating
		rating = store.Rating{Score: score, Scale: rc.Scale, Queue: s.Queue, Agent: s.Agent, At: r.now()}
		s.Rating = &rating
		if err := tx.PutSession(s); err != nil {
			return err
		}
		return r.event(tx, s.ID, EventRated, "customer", fmt.Sprintf("%d of %d (agent %s)", score, rc.Scale, agentOrNone(s.Agent)))
	})
	if errors.Is(err, store.ErrNotFound) {
		return rating, errorf(KindNotFound, "no session %s", session)
	}
	if err == nil && r.csat.built {
		r.csat.count(previous, -1)
		r.csat.count(&rating, 1)
	}
	return rating, err
}

func agentOrNone(login string) string {
	if login == "" {
		return "none"
	}
	return login
}

// CSAT is the satisfaction of a queue's or an agent's ratings: how many,
// and how many satisfied (a score of at least 80 % of the scale: 4 or 5
// of 5, 8 to 10 of 10).
type CSAT struct {
	Ratings   int
	Satisfied int
}

// Percent is the share of satisfied ratings (0 without any).
func (c CSAT) Percent() int {
	if c.Ratings == 0 {
		return 0
	}
	return c.Satisfied * 100 / c.Ratings
}

// satisfied tells whether a rating counts as satisfied.
func satisfied(rt store.Rating) bool { return rt.Score*5 >= rt.Scale*4 }

// csatTotals are the ratings' totals per queue and per agent, read from
// every session once (at the first CSAT) and kept current by Rate.
type csatTotals struct {
	mu     sync.Mutex
	built  bool
	queues map[string]CSAT
	agents map[string]CSAT
}

// count adds (n = 1) or removes (n = -1) a rating from the totals.
func (c *csatTotals) count(rt *store.Rating, n int) {
	if rt == nil {
		return
	}
	add := func(m map[string]CSAT, key string) {
		v := m[key]
		v.Ratings += n
		if satisfied(*rt) {
			v.Satisfied += n
		}
		m[key] = v
	}
	add(c.queues, rt.Queue)
	if rt.Agent != "" {
		add(c.agents, rt.Agent)
	}
}

// CSAT returns the satisfaction per queue and per agent (the session's
// agent when it was rated).
func (r *Router) CSAT() (queues, agents map[string]CSAT, err error) {
	c := &r.csat
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.csatStale() { // on several nodes (nodes.go)
		c.built = false
	}
	if !c.built {
		c.queues, c.agents = map[string]CSAT{}, map[string]CSAT{}
		err := r.st.View(func(rd store.Reader) error {
			return rd.EachSession(func(s store.Session) error {
				c.count(s.Rating, 1)
				return nil
			})
		})
		if err != nil {
			return nil, nil, err
		}
		c.built = true
	}
	return maps.Clone(c.queues), maps.Clone(c.agents), nil
}
