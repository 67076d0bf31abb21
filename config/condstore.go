package config

// DefaultExpungedKept is imap.expunged_kept: the expunged UIDs each
// mailbox remembers so that a client coming back with QRESYNC (RFC 7162)
// hears which of its messages vanished. Beyond it the oldest are
// forgotten, and a client that last synchronized before them is told that
// every UID the mailbox lacks vanished.
const DefaultExpungedKept = 10000

// maxExpungedKept keeps one expunge from pruning a huge backlog: each
// entry is a 20-byte key in the store.
const maxExpungedKept = 10_000_000

func (p *parser) checkExpungedKept() {
	if n := p.cfg.IMAP.ExpungedKept; n < 1 || n > maxExpungedKept {
		p.errorf("imap.expunged_kept", "must be between 1 and %d, not %d", maxExpungedKept, n)
	}
}
