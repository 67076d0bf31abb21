package imapserver

import (
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Thread answers THREAD and UID THREAD (RFC 5256) with ORDEREDSUBJECT or
// REFERENCES over the messages matching search.
func (s *session) Thread(kind imapserver.NumKind, algorithm imap.ThreadAlgorithm, search *imap.SearchCriteria) (threads []imapserver.ThreadNode, err error) {
	defer s.guard("THREAD", &err)
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	matches, err := s.matching(sel, search)
	if err != nil {
		return nil, err
	}
	msgs, err := s.sortData(sel.mailbox, matches, true)
	if err != nil {
		return nil, err
	}
	var roots []*threadNode
	if algorithm == imap.ThreadOrderedSubject {
		roots = threadBySubject(msgs)
	} else {
		roots = threadByReferences(msgs)
	}
	out := make([]imapserver.ThreadNode, len(roots))
	for i, n := range roots {
		out[i] = n.wire(kind)
	}
	return out, nil
}

// threadNode is a message in a thread, or a placeholder (msg nil) for a
// message referred to but not in the result.
type threadNode struct {
	msg      *sortData
	parent   *threadNode
	children []*threadNode
}

func (n *threadNode) wire(kind imapserver.NumKind) imapserver.ThreadNode {
	w := imapserver.ThreadNode{Children: make([]imapserver.ThreadNode, len(n.children))}
	if n.msg != nil {
		w.Num = numOf(kind, n.msg.ref)
	}
	for i, c := range n.children {
		w.Children[i] = c.wire(kind)
	}
	return w
}

func (n *threadNode) addChild(c *threadNode) {
	c.parent = n
	n.children = append(n.children, c)
}

func (n *threadNode) removeChild(c *threadNode) {
	n.children = slices.DeleteFunc(n.children, func(x *threadNode) bool { return x == c })
	c.parent = nil
}

// isAncestorOf reports whether n is c or one of c's ancestors.
func (n *threadNode) isAncestorOf(c *threadNode) bool {
	for ; c != nil; c = c.parent {
		if c == n {
			return true
		}
	}
	return false
}

// sortKey is the message a node sorts by: its own, or for a placeholder
// its first child's (RFC 5256 2.2 step 6, after the children are sorted).
func (n *threadNode) sortKey() *sortData {
	for n.msg == nil && len(n.children) > 0 {
		n = n.children[0]
	}
	return n.msg
}

// bySentDate orders nodes by sent date, then sequence number.
func bySentDate(a, b *threadNode) int {
	ka, kb := a.sortKey(), b.sortKey()
	if ka == nil || kb == nil {
		return 0
	}
	if n := ka.date.Compare(kb.date); n != 0 {
		return n
	}
	return int(ka.ref.seq) - int(kb.ref.seq)
}

// sortTree sorts every set of siblings under and including nodes.
func sortTree(nodes []*threadNode) {
	for _, n := range nodes {
		sortTree(n.children)
	}
	slices.SortStableFunc(nodes, bySentDate)
}

// threadBySubject is ORDEREDSUBJECT (RFC 5256 3): messages sorted by base
// subject then sent date; each run of one subject is a thread whose first
// message is the parent of all the others; threads ordered by the sent
// date of their first message.
func threadBySubject(msgs []sortData) []*threadNode {
	slices.SortStableFunc(msgs, func(a, b sortData) int {
		if n := compareKey(imapserver.SortKeySubject, &a, &b); n != 0 {
			return n
		}
		return a.date.Compare(b.date)
	})
	var roots []*threadNode
	for i := range msgs {
		n := &threadNode{msg: &msgs[i]}
		if last := len(roots) - 1; last >= 0 && roots[last].msg.subject == n.msg.subject {
			roots[last].addChild(n)
			continue
		}
		roots = append(roots, n)
	}
	slices.SortStableFunc(roots, bySentDate)
	return roots
}

// threadByReferences is REFERENCES (RFC 5256 2.2 and 3, after
// Zawinski): messages linked by Message-ID, References and In-Reply-To,
// placeholders pruned, threads of one base subject gathered, siblings
// sorted by sent date.
func threadByReferences(msgs []sortData) []*threadNode {
	roots := linkByReferences(msgs)
	roots = prune(roots, true)
	roots = gatherBySubject(roots)
	sortTree(roots)
	return roots
}

// linkByReferences is steps 1 and 2: it links every message under its
// last reference (no loops) and returns the nodes without parent.
func linkByReferences(msgs []sortData) []*threadNode {
	byID := map[string]*threadNode{}
	var all []*threadNode
	container := func(id string) *threadNode {
		if n := byID[id]; n != nil {
			return n
		}
		n := &threadNode{}
		byID[id] = n
		all = append(all, n)
		return n
	}
	for i := range msgs {
		m := &msgs[i]
		var node *threadNode
		if n := byID[m.messageID]; m.messageID != "" && n != nil && n.msg == nil {
			node = n // referred to before it came
		} else {
			// No Message-ID, or one already taken: a node of its own.
			node = &threadNode{}
			if m.messageID != "" && n == nil {
				byID[m.messageID] = node
			}
			all = append(all, node)
		}
		node.msg = m
		var prev *threadNode
		for _, ref := range m.references {
			c := container(ref)
			if prev != nil && c.parent == nil && !c.isAncestorOf(prev) {
				prev.addChild(c)
			}
			prev = c
		}
		if node.parent != nil {
			node.parent.removeChild(node) // a truncated References linked it elsewhere
		}
		if prev != nil && !node.isAncestorOf(prev) {
			prev.addChild(node)
		}
	}
	var roots []*threadNode
	for _, n := range all {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	return roots
}

// prune is step 4: placeholders without children go; a placeholder's
// children take its place, except at the top with two or more children.
func prune(nodes []*threadNode, top bool) []*threadNode {
	var out []*threadNode
	for _, n := range nodes {
		n.children = prune(n.children, false)
		switch {
		case n.msg != nil:
			out = append(out, n)
		case len(n.children) == 0:
		case top && len(n.children) > 1:
			out = append(out, n)
		default:
			for _, c := range n.children {
				c.parent = n.parent
				out = append(out, c)
			}
		}
	}
	return out
}

// gatherBySubject is step 5: top-level threads of one base subject are
// put together, under a placeholder or under the original message.
func gatherBySubject(roots []*threadNode) []*threadNode {
	table := map[string]*threadNode{}
	for _, r := range roots {
		k := r.sortKey().subject
		if t := table[k]; k != "" && (t == nil || preferred(r, t)) {
			table[k] = r
		}
	}
	holder := map[string]*threadNode{} // what holds the subject's thread now
	merged := map[*threadNode]bool{}
	for _, r := range roots {
		k := r.sortKey().subject
		t := table[k]
		if k == "" || t == r {
			continue
		}
		h := holder[k]
		if h == nil {
			h = t
		}
		switch {
		case h.msg == nil && r.msg == nil:
			for _, c := range r.children {
				h.addChild(c)
			}
		case h.msg == nil:
			h.addChild(r)
		case r.msg != nil && r.msg.replyOrFwd && !h.msg.replyOrFwd:
			h.addChild(r)
		default:
			d := &threadNode{}
			d.addChild(h)
			d.addChild(r)
			holder[k] = d
		}
		merged[r] = true
	}
	var out []*threadNode
	for _, r := range roots {
		if merged[r] {
			continue
		}
		if k := r.sortKey().subject; table[k] == r && holder[k] != nil {
			r = holder[k]
		}
		out = append(out, r)
	}
	return out
}

// preferred tells whether r should stand for its subject instead of t: a
// placeholder over a message, an original over a reply.
func preferred(r, t *threadNode) bool {
	if r.msg == nil || t.msg == nil {
		return r.msg == nil && t.msg != nil
	}
	return t.msg.replyOrFwd && !r.msg.replyOrFwd
}
