package router

import (
	"slices"
	"sync"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// Service level (issue 19 item 4). A session the customer started counts
// once: when its first agent reply is sent within the queue's
// service_level_within (answered in time), or when it has waited longer
// than that unanswered (failed, counted at that moment, whether or not a
// reply comes later). Waiting counts only while the queue's [queue.hours]
// are open (a queue without hours is always open). A session resolved,
// closed or filed as spam before its threshold without a reply is not
// counted. SL = answered in time / counted, over the last hour and today
// (midnight in the queue's time zone).
//
// The router keeps an in-memory book of the sessions that matter for
// those windows: it is rebuilt from the store at start (one scan of the
// sessions, as Reschedule does) and kept current after each commit from
// what the commit noted (the durable fields ServiceFrom and FirstReplyAt
// of store.Session), so a restart loses nothing and a figure costs no
// store read.

// SL windows.
const (
	WindowHour  = "1h"
	WindowToday = "today"
)

// slKeep is how long a decided session stays in the book: more than any
// window (today starts at most 24 h ago, in any zone).
const slKeep = 26 * time.Hour

// slBook is the in-memory service-level book.
type slBook struct {
	mu       sync.Mutex
	sessions map[string]*slEntry
}

// slEntry is what the book knows of one counted session.
type slEntry struct {
	queue   string
	from    time.Time // ServiceFrom
	replied time.Time // FirstReplyAt, zero: none
	ended   time.Time // resolved, closed or spam without a reply; zero: open
	// crossing is from plus the queue's threshold in open time, for
	// the configuration cfg (recomputed after a reload).
	crossing time.Time
	never    bool // the schedule never opens long enough
	cfg      *config.Config
}

// slNote is what a commit tells the book about a session.
type slNote struct {
	queue                string
	from, replied, ended time.Time
}

// noteServiceLevel notes, from commit, the service-level state of s for
// the book (applied once the transaction committed).
func noteServiceLevel(tx store.Tx, s store.Session) {
	if s.ServiceFrom.IsZero() {
		return
	}
	n := slNoteOf(s)
	note(tx, s.ID, func(o *observation) { o.sl = &n })
}

// slNoteOf reads the book's view of a session. A session that ended
// unanswered ended at its latest status change (or update, for spam).
func slNoteOf(s store.Session) slNote {
	n := slNote{queue: s.Queue, from: s.ServiceFrom, replied: s.FirstReplyAt}
	if s.FirstReplyAt.IsZero() {
		switch {
		case s.Spam:
			n.ended = s.Updated
		case s.Status == StatusResolved || s.Status == StatusClosed:
			n.ended = s.StatusSince
		}
	}
	return n
}

// track records n for session id.
func (b *slBook) track(id string, n slNote) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sessions == nil {
		b.sessions = map[string]*slEntry{}
	}
	e := b.sessions[id]
	if e == nil {
		e = &slEntry{}
		b.sessions[id] = e
	}
	if e.queue != n.queue || !e.from.Equal(n.from) {
		e.cfg = nil // recompute the crossing
	}
	e.queue, e.from, e.replied, e.ended = n.queue, n.from, n.replied, n.ended
}

// rebuildServiceLevel fills the book from the store (at start).
func (r *Router) rebuildServiceLevel() error {
	keepFrom := r.now().Add(-slKeep)
	book := map[string]*slEntry{}
	err := r.st.View(func(rd store.Reader) error {
		return rd.EachSession(func(s store.Session) error {
			if s.ServiceFrom.IsZero() {
				return nil
			}
			n := slNoteOf(s)
			if (!n.replied.IsZero() && n.replied.Before(keepFrom)) || (!n.ended.IsZero() && n.ended.Before(keepFrom)) {
				return nil // decided before any window
			}
			book[s.ID] = &slEntry{queue: n.queue, from: n.from, replied: n.replied, ended: n.ended}
			return nil
		})
	})
	if err != nil {
		return err
	}
	r.sl.mu.Lock()
	r.sl.sessions = book
	r.sl.mu.Unlock()
	return nil
}

// outcome says whether e counts at now: counted, in time, and when it
// was decided.
func (e *slEntry) outcome(q *config.Queue, cfg *config.Config, now time.Time) (counted, inTime bool, at time.Time) {
	if e.cfg != cfg {
		e.crossing, e.cfg = time.Time{}, cfg
		c, ok := q.Hours.AddOpen(e.from, q.ServiceLevelWithin.Duration)
		e.crossing, e.never = c, !ok
	}
	switch {
	case !e.replied.IsZero() && (e.never || !e.replied.After(e.crossing)):
		return true, true, e.replied
	case e.never:
		return false, false, time.Time{}
	case !e.ended.IsZero() && e.ended.Before(e.crossing):
		return false, false, time.Time{} // gone before its time: not counted
	case !e.crossing.After(now):
		return true, false, e.crossing
	}
	return false, false, time.Time{} // still within its time
}

// ServiceLevel is one queue's service level over one window.
type ServiceLevel struct {
	Queue    string
	Window   string // WindowHour or WindowToday
	Target   float64
	Within   time.Duration
	Answered int // counted sessions answered in time
	Counted  int
}

// Ratio is Answered/Counted; ok is false with nothing counted.
func (s ServiceLevel) Ratio() (float64, bool) {
	if s.Counted == 0 {
		return 0, false
	}
	return float64(s.Answered) / float64(s.Counted), true
}

// Below reports whether the level is under its target (with something
// counted).
func (s ServiceLevel) Below() bool {
	r, ok := s.Ratio()
	return ok && r < s.Target
}

// ServiceLevels reports, for every queue with a service level, its
// level over the last hour and today, in configuration order.
func (r *Router) ServiceLevels() []ServiceLevel {
	r.refreshServiceLevel() // on several nodes (nodes.go)
	cfg, now := r.config(), r.now()
	r.sl.mu.Lock()
	defer r.sl.mu.Unlock()
	var out []ServiceLevel
	for i := range cfg.Queue {
		q := &cfg.Queue[i]
		if !q.HasServiceLevel() {
			continue
		}
		y, m, d := now.In(q.Hours.Location()).Date()
		starts := map[string]time.Time{WindowHour: now.Add(-time.Hour), WindowToday: time.Date(y, m, d, 0, 0, 0, 0, q.Hours.Location())}
		levels := map[string]*ServiceLevel{}
		for _, w := range []string{WindowHour, WindowToday} {
			levels[w] = &ServiceLevel{Queue: q.Name, Window: w, Target: q.ServiceLevel, Within: q.ServiceLevelWithin.Duration}
		}
		for _, e := range r.sl.sessions {
			if e.queue != q.Name {
				continue
			}
			counted, inTime, at := e.outcome(q, cfg, now)
			if !counted || at.After(now) {
				continue
			}
			for w, lv := range levels {
				if !at.Before(starts[w]) {
					lv.Counted++
					if inTime {
						lv.Answered++
					}
				}
			}
		}
		out = append(out, *levels[WindowHour], *levels[WindowToday])
	}
	r.pruneServiceLevel(cfg, now)
	return out
}

// pruneServiceLevel forgets sessions decided before every window, and
// those of queues without a service level (r.sl.mu held).
func (r *Router) pruneServiceLevel(cfg *config.Config, now time.Time) {
	keepFrom := now.Add(-slKeep)
	for id, e := range r.sl.sessions {
		q := cfg.QueueByName(e.queue)
		if q == nil || !q.HasServiceLevel() {
			continue // kept: a reload may give it one
		}
		counted, _, at := e.outcome(q, cfg, now)
		gone := !e.ended.IsZero() && e.ended.Before(keepFrom)
		if (counted && at.Before(keepFrom)) || gone {
			delete(r.sl.sessions, id)
		}
	}
}

// Queue alarm kinds (mxdesk_queue_alarm).
const (
	AlarmWaiting      = "waiting"       // more sessions waiting than alarm_waiting
	AlarmOldest       = "oldest"        // the oldest waits longer than alarm_oldest
	AlarmServiceLevel = "service_level" // the last hour's level is below the target
)

// AlarmKinds lists every queue alarm kind.
var AlarmKinds = []string{AlarmWaiting, AlarmOldest, AlarmServiceLevel}

// QueueAlarms says which real-time thresholds of q are crossed, given
// its waiting figures and service levels (from ServiceLevels).
func QueueAlarms(q *config.Queue, w QueueWaiting, levels []ServiceLevel) map[string]bool {
	out := map[string]bool{
		AlarmWaiting: q.AlarmWaiting > 0 && w.Waiting > q.AlarmWaiting,
		AlarmOldest:  q.AlarmOldest.Duration > 0 && w.Oldest > q.AlarmOldest.Duration,
	}
	i := slices.IndexFunc(levels, func(l ServiceLevel) bool { return l.Queue == q.Name && l.Window == WindowHour })
	out[AlarmServiceLevel] = i >= 0 && levels[i].Below()
	return out
}
