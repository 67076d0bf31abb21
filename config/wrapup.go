package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Wrapup is a wrap-up code of a queue (issue 19): what an agent records
// about how a session ended, as the IMAP keyword $wrapup_<code>, the
// email command "#wrapup <code>" or the API.
type Wrapup struct {
	Code string `toml:"code"` // letters, digits, "_" and "-"
	Name string `toml:"name"` // what people read; default: the code
}

// The moves wrapup_required may name.
const (
	WrapupOnResolve  = "resolve"
	WrapupOnTransfer = "transfer"
)

// MaxWrapupCode bounds a code: it is part of an IMAP keyword.
const MaxWrapupCode = 64

var wrapupCode = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// WrapupByCode returns the queue's wrap-up code code, in any case.
func (q *Queue) WrapupByCode(code string) (Wrapup, bool) {
	for _, w := range q.Wrapup {
		if strings.EqualFold(w.Code, code) {
			return w, true
		}
	}
	return Wrapup{}, false
}

// WrapupRequiredOn reports whether move ("resolve", "transfer") needs a
// wrap-up code in this queue.
func (q *Queue) WrapupRequiredOn(move string) bool {
	return slices.Contains(q.WrapupRequired, move)
}

// WrapupCodes lists the queue's codes, as written.
func (q *Queue) WrapupCodes() []string {
	out := make([]string, len(q.Wrapup))
	for i, w := range q.Wrapup {
		out[i] = w.Code
	}
	return out
}

// checkWrapups validates [[queue.wrapup]] and wrapup_required, and
// defaults each name to its code.
func (p *parser) checkWrapups() {
	for i := range p.cfg.Queue {
		q := &p.cfg.Queue[i]
		seen := map[string]bool{}
		for j := range q.Wrapup {
			w, key := &q.Wrapup[j], fmt.Sprintf("queue[%d].wrapup[%d]", i, j)
			switch lower := strings.ToLower(w.Code); {
			case w.Code == "":
				p.errorf(key+".code", "required: a token of letters, digits, _ and - (the keyword $wrapup_<code>)")
			case len(w.Code) > MaxWrapupCode || !wrapupCode.MatchString(w.Code):
				p.errorf(key+".code", "%q: want at most %d letters, digits, _ and - (the keyword $wrapup_<code>)", w.Code, MaxWrapupCode)
			case seen[lower]:
				p.errorf(key+".code", "%q: the queue has this code already (codes compare without case)", w.Code)
			default:
				seen[lower] = true
			}
			if strings.ContainsAny(w.Name, "\r\n") {
				p.errorf(key+".name", "must be one line")
			}
			if strings.TrimSpace(w.Name) == "" {
				w.Name = w.Code
			}
		}
		key := fmt.Sprintf("queue[%d].wrapup_required", i)
		for _, move := range q.WrapupRequired {
			if move != WrapupOnResolve && move != WrapupOnTransfer {
				p.errorf(key, "%q: want %q or %q", move, WrapupOnResolve, WrapupOnTransfer)
			}
		}
		if len(q.WrapupRequired) > 0 && len(q.Wrapup) == 0 {
			p.errorf(key, "needs the queue's wrap-up codes ([[queue.wrapup]] with code and name)")
		}
	}
}
