package router

import (
	"slices"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mxdesk/store"
)

// localRcpt is a recipient inside our domains that is not an agent: a
// queue address, a session's reply address or its note address.
type localRcpt struct {
	addr    string // lower-case
	queue   string
	session string // "" for a queue address
	note    bool
}

// meansSession tells whether l only stands for session s: an address of
// its queue or its own reply address. Reply All copies those from the
// customer's message; they are dropped rather than taken for a transfer.
func meansSession(l localRcpt, s store.Session) bool {
	if s.ID == "" || l.note {
		return false
	}
	return l.session == s.ID || (l.session == "" && l.queue == s.Queue)
}

// sessionAddresses are the addresses that mean session s: those of its
// queue and its reply address, lower-case.
func (r *Router) sessionAddresses(s store.Session) []string {
	q := r.config().QueueByName(s.Queue)
	if q == nil {
		return nil
	}
	var out []string
	for _, a := range q.Addresses {
		out = append(out, strings.ToLower(a))
	}
	return append(out, strings.ToLower(tokenAddress(q, s.Token, "")))
}

// withoutRecipients removes the addresses in drop from the To and Cc
// header fields of in (display names of the others are kept) and from its
// recipient lists. A field left empty is removed.
func withoutRecipients(in inbound, drop []string) inbound {
	if len(drop) == 0 {
		return in
	}
	dropped := func(addr string) bool { return slices.Contains(drop, strings.ToLower(addr)) }
	in.header = in.header.Copy()
	for _, field := range []string{"To", "Cc"} {
		dropAddresses(&in.header, field, dropped)
	}
	in.to = slices.DeleteFunc(slices.Clone(in.to), dropped)
	in.cc = slices.DeleteFunc(slices.Clone(in.cc), dropped)
	return in
}

// dropAddresses rewrites field without the addresses drop matches. A
// field that can't be parsed is left as it is.
func dropAddresses(h *textproto.Header, field string, drop func(string) bool) {
	mh := mail.Header{Header: message.Header{Header: *h}}
	list, err := mh.AddressList(field)
	if err != nil || !slices.ContainsFunc(list, func(a *mail.Address) bool { return drop(a.Address) }) {
		return
	}
	list = slices.DeleteFunc(list, func(a *mail.Address) bool { return drop(a.Address) })
	if len(list) == 0 {
		h.Del(field)
		return
	}
	mh.SetAddressList(field, list)
	*h = mh.Header.Header
}
