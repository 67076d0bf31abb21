package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mxdesk/store"
)

// maxResponse is how much of the CRM's answer is read (its ticket_id).
const maxResponse = 64 << 10

// maxBackoff caps the wait between two attempts of an event.
const maxBackoff = time.Hour

// maxTicketID bounds the ticket ID the CRM may give a session.
const maxTicketID = 128

// post sends body as event h once and classifies the outcome.
func (f *Feed) post(ctx context.Context, h store.Hook, body []byte) Report {
	rep := Report{Hook: h}
	// The wall clock, not the router's: the CRM checks the timestamp
	// against its own clock to refuse replays.
	ts := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.cfg.URL, bytes.NewReader(body))
	if err != nil {
		rep.Err = fmt.Errorf("crm.url: %w", err)
		return rep
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mxdesk")
	req.Header.Set("webhook-id", h.WebhookID)
	req.Header.Set("webhook-timestamp", timestampHeader(ts))
	req.Header.Set("webhook-signature", sign(f.secret, h.WebhookID, ts.Unix(), body))
	resp, err := f.client.Do(req)
	if err != nil {
		rep.Err = err
		return rep
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	rep.Status = resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300 && err != nil:
		rep.Err = fmt.Errorf("reading the answer: %w", err)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		rep.Result = ResultDelivered
		rep.TicketID = ticketIDOf(answer)
	default:
		rep.Err = fmt.Errorf("%s: %s", resp.Status, firstLine(answer))
		if permanent(resp.StatusCode) {
			rep.Result = ResultDead
		} else if wait, ok := retryAfter(resp.Header.Get("Retry-After"), f.now()); ok && resp.StatusCode == http.StatusTooManyRequests {
			rep.Hook.NextAttempt = f.now().Add(wait)
		}
	}
	return rep
}

// permanent says whether an HTTP status fails an event for good: a 4xx
// other than 408 (timeout) and 429 (too many requests).
func permanent(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// ticketIDOf reads "ticket_id" (a string or a number) from a JSON
// answer; "" when there is none or it is unusable.
func ticketIDOf(answer []byte) string {
	var v struct {
		TicketID json.RawMessage `json:"ticket_id"`
	}
	if json.Unmarshal(answer, &v) != nil || len(v.TicketID) == 0 {
		return ""
	}
	var id string
	if json.Unmarshal(v.TicketID, &id) != nil {
		var n json.Number
		if json.Unmarshal(v.TicketID, &n) != nil {
			return ""
		}
		id = n.String()
	}
	id = strings.TrimSpace(id)
	if len(id) > maxTicketID || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return id
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}

// record commits the outcome of an attempt: a delivered event leaves the
// outbox (its ticket_id, if any, becomes the session's); a failed one
// waits its backoff or becomes a dead letter.
func (f *Feed) record(ctx context.Context, rep *Report) {
	h := rep.Hook
	if rep.Result == ResultDelivered {
		if err := f.r.HookDelivered(ctx, h.ID, rep.TicketID); err != nil && !errors.Is(err, store.ErrNotFound) {
			f.log.Error("crm: removing a delivered event from the outbox", "crm_event", h.ID, "session", h.Session, "err", err)
		}
		f.log.Info("crm: event delivered", "crm_event", h.ID, "webhook_id", h.WebhookID, "type", h.Type, "session", h.Session, "status", rep.Status)
		return
	}
	now := f.now()
	h.Attempts++
	h.LastError = rep.Err.Error()
	if h.NextAttempt.After(now) { // Retry-After
		rep.Result = ResultRetry
	} else {
		h.NextAttempt = now.Add(f.backoff(h.Attempts))
	}
	if rep.Result != ResultDead && h.NextAttempt.After(h.Since.Add(f.cfg.RetryFor.Duration)) {
		rep.Result = ResultDead
		h.LastError += fmt.Sprintf(" (retried for crm.retry_for = %s)", f.cfg.RetryFor.Duration)
	}
	if rep.Result == ResultDead {
		h.Dead = true
	} else {
		rep.Result = ResultRetry
	}
	rep.Hook = h
	if err := f.r.HookFailed(ctx, h); err != nil && !errors.Is(err, store.ErrNotFound) {
		f.log.Error("crm: recording a failed attempt", "crm_event", h.ID, "session", h.Session, "err", err)
	}
	level := slog.LevelWarn
	if rep.Result == ResultDead {
		level = slog.LevelError
	}
	f.log.Log(ctx, level, "crm: event failed", "crm_event", h.ID, "webhook_id", h.WebhookID, "type", h.Type, "session", h.Session,
		"key", "crm.url", "attempts", h.Attempts, "result", rep.Result, "next_attempt", h.NextAttempt, "err", h.LastError)
}

// backoff is the wait after the n-th failed attempt: crm.retry_initial
// doubled each time up to an hour, with jitter (between half and the
// whole of it) so a CRM coming back is not hit by every event at once.
func (f *Feed) backoff(n int) time.Duration {
	d := f.cfg.RetryInitial.Duration
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}
