package imapserver

import "github.com/emersion/go-imap/v2"

// SEARCHRES (RFC 5182): SEARCH RETURN (SAVE) keeps its result in the
// selection as UIDs, so an expunged message drops out of "$" by itself and
// "$" means the same in sequence-number and UID commands. A new selection
// (SELECT, EXAMINE) starts with none; CLOSE and UNSELECT drop it with the
// selection.

// savedMatches is what SAVE keeps of a result (RFC 5182 2.4): with MIN
// and/or MAX as the only other return options, just those messages;
// otherwise every match.
func savedMatches(matches []msgRef, opts *imap.SearchOptions) []msgRef {
	if opts.ReturnAll || opts.ReturnCount || len(matches) == 0 {
		return matches
	}
	var kept []msgRef
	if opts.ReturnMin {
		kept = append(kept, matches[0])
	}
	if opts.ReturnMax && (!opts.ReturnMin || len(matches) > 1) {
		kept = append(kept, matches[len(matches)-1])
	}
	return kept
}

// save replaces the saved result by refs.
func (sel *selection) save(refs []msgRef) {
	var uids imap.UIDSet
	for _, r := range refs {
		uids.AddNum(imap.UID(r.uid))
	}
	sel.h.mu.Lock()
	sel.saved = uids
	sel.h.mu.Unlock()
}

// savedUIDs is the saved result, nil before any SAVE.
func (sel *selection) savedUIDs() imap.UIDSet {
	sel.h.mu.Lock()
	defer sel.h.mu.Unlock()
	return sel.saved
}

// resolveSaved is resolve for "$": the saved messages the client still
// knows, ascending; none before any SAVE (RFC 5182 2.1: not an error).
// h.mu must be held.
func (sel *selection) resolveSaved() []msgRef {
	return sel.resolveUID(sel.saved)
}
