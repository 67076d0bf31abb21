package policy

import (
	"errors"
	"fmt"
	"mime"
	"strings"
)

// Rules says which attachments a message may carry. A zero limit means
// its default (DefaultRules), except MaxAttachments: 0 keeps no
// attachment, as [policy] max_attachments = 0 means. A negative limit is
// invalid.
type Rules struct {
	// Allow and Block list types by name ("exe", "zip", "jpeg", or any
	// extension of a known type: "jpg"), by MIME type
	// ("application/zip"), or by family ("image/*"; "*/*" is every
	// type). The most specific entry that matches a type decides: a name
	// or MIME type beats a family, a family beats "*/*"; a type no entry
	// matches is allowed.
	Allow, Block []string

	MaxAttachments     int   // attachments kept per message
	MaxAttachmentBytes int64 // decoded bytes of the kept attachments, in total
	MaxDepth           int   // nesting of multiparts and attached messages
	MaxParts           int   // MIME parts per message, at any depth
	MaxHeaders         int   // header fields per part
	MaxHeaderBytes     int   // header bytes per part
}

// Default limits.
const (
	DefaultMaxAttachments     = 10
	DefaultMaxAttachmentBytes = 25 << 20
	DefaultMaxDepth           = 20
	DefaultMaxParts           = 1000
	DefaultMaxHeaders         = 1000
	DefaultMaxHeaderBytes     = 64 << 10
)

// DefaultRules are SPEC §9: executables and archives blocked; of images,
// video and audio only the formats the SPEC names allowed; every other
// document allowed.
func DefaultRules() Rules {
	return Rules{
		Block: []string{
			// executables and scripts
			"exe", "dll", "scr", "com", "bat", "cmd", "ps1", "vbs", "js", "wsf", "hta",
			"lnk", "reg", "msi", "jar", "apk", "elf", "macho", "sh", "bin",
			// archives and disk images
			"zip", "rar", "7z", "gz", "tar", "bz2", "xz", "zst", "lz", "z", "cab", "arj",
			"ace", "lzh", "cpio", "ar", "deb", "rpm", "xar", "iso", "img", "vhd", "dmg",
			// media other than the allowed formats
			"image/*", "video/*", "audio/*",
		},
		Allow: []string{
			"jpeg", "png", "gif", "tiff", "raw", "webp",
			"mp4", "mov", "avi", "wmv", "webm",
			"mp3", "wav",
			"dwg", "dxf", "djvu", // documents with image/ MIME types
		},
		MaxAttachments:     DefaultMaxAttachments,
		MaxAttachmentBytes: DefaultMaxAttachmentBytes,
		MaxDepth:           DefaultMaxDepth,
		MaxParts:           DefaultMaxParts,
		MaxHeaders:         DefaultMaxHeaders,
		MaxHeaderBytes:     DefaultMaxHeaderBytes,
	}
}

// Amend returns r changed by a configuration's lists: the types in
// allow are allowed and those in block are blocked, over r's own
// entries. An entry of allow takes out of r.Block the entries for the
// same type (the same name, a MIME type of that type, the same family),
// and an entry of block does the same in r.Allow. This is how the
// configuration's [policy] allow and block change DefaultRules:
// DefaultRules().Amend([]string{"zip"}, nil) allows ZIP files.
func (r Rules) Amend(allow, block []string) Rules {
	r.Allow = append(without(r.Allow, block), allow...)
	r.Block = append(without(r.Block, allow), block...)
	return r
}

// without returns list without the entries for the types in remove.
func without(list, remove []string) []string {
	out := []string{}
	for _, e := range list {
		keep := true
		for _, x := range remove {
			keep = keep && !sameEntry(e, x)
		}
		if keep {
			out = append(out, e)
		}
	}
	return out
}

// sameEntry says whether two list entries name the same type: equal
// after normalizing, or a type name and one of its MIME types.
func sameEntry(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSpace(a)), strings.ToLower(strings.TrimSpace(b))
	if a == "*" {
		a = "*/*"
	}
	if b == "*" {
		b = "*/*"
	}
	ta, tb := lookupName(a), lookupName(b)
	switch {
	case ta != nil && tb != nil:
		return ta == tb
	case ta != nil && !strings.HasSuffix(b, "/*"):
		return ta.has(b)
	case tb != nil && !strings.HasSuffix(a, "/*"):
		return tb.has(a)
	}
	return a == b
}

// Validate explains every problem in r: unknown type names, malformed
// MIME types, an entry both allowed and blocked, negative limits.
func (r Rules) Validate() error {
	var errs []error
	allow, aerrs := compileList("allow", r.Allow)
	block, berrs := compileList("block", r.Block)
	errs = append(append(errs, aerrs...), berrs...)
	for _, k := range allow.keys() {
		if block.hasKey(k) {
			errs = append(errs, fmt.Errorf("policy: %s is both allowed and blocked", k))
		}
	}
	for _, l := range []struct {
		key string
		v   int64
	}{
		{"max_attachments", int64(r.MaxAttachments)},
		{"max_attachment_bytes", r.MaxAttachmentBytes},
		{"max_depth", int64(r.MaxDepth)},
		{"max_parts", int64(r.MaxParts)},
		{"max_headers", int64(r.MaxHeaders)},
		{"max_header_bytes", int64(r.MaxHeaderBytes)},
	} {
		if l.v < 0 {
			errs = append(errs, fmt.Errorf("policy.%s: must not be negative", l.key))
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills in the zero limits.
func (r Rules) withDefaults() Rules {
	if r.MaxAttachmentBytes <= 0 {
		r.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if r.MaxDepth <= 0 {
		r.MaxDepth = DefaultMaxDepth
	}
	if r.MaxParts <= 0 {
		r.MaxParts = DefaultMaxParts
	}
	if r.MaxHeaders <= 0 {
		r.MaxHeaders = DefaultMaxHeaders
	}
	if r.MaxHeaderBytes <= 0 {
		r.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return r
}

// typeSet is a compiled Allow or Block list.
type typeSet struct {
	names    map[string]bool // type names
	mimes    map[string]bool // exact MIME types
	families map[string]bool // "image" for "image/*"
	all      bool            // "*/*"
}

func compileList(list string, entries []string) (typeSet, []error) {
	s := typeSet{names: map[string]bool{}, mimes: map[string]bool{}, families: map[string]bool{}}
	var errs []error
	for _, e := range entries {
		v := strings.ToLower(strings.TrimSpace(e))
		switch {
		case v == "*" || v == "*/*":
			s.all = true
		case strings.HasSuffix(v, "/*"):
			fam := strings.TrimSuffix(v, "/*")
			if _, _, err := mime.ParseMediaType(fam + "/x"); err != nil || strings.Contains(fam, "/") {
				errs = append(errs, fmt.Errorf("policy.%s: %q is not a MIME family like \"image/*\"", list, e))
				continue
			}
			s.families[fam] = true
		case strings.Contains(v, "/"):
			mt, params, err := mime.ParseMediaType(v)
			if err != nil || len(params) > 0 || strings.Count(mt, "/") != 1 {
				errs = append(errs, fmt.Errorf("policy.%s: %q is not a MIME type like \"application/zip\"", list, e))
				continue
			}
			s.mimes[mt] = true
		default:
			t := lookupName(v)
			if t == nil {
				errs = append(errs, fmt.Errorf("policy.%s: unknown type %q (use a type name such as %s, a MIME type, or a family such as \"image/*\")", list, e, knownNamesHint))
				continue
			}
			s.names[t.name] = true
		}
	}
	return s, errs
}

const knownNamesHint = `"exe", "zip", "pdf", "jpeg"`

func (s typeSet) keys() []string {
	var k []string
	for n := range s.names {
		k = append(k, "type "+n)
	}
	for m := range s.mimes {
		k = append(k, "MIME type "+m)
	}
	for f := range s.families {
		k = append(k, "family "+f+"/*")
	}
	if s.all {
		k = append(k, "*/*")
	}
	return k
}

func (s typeSet) hasKey(k string) bool {
	for _, x := range s.keys() {
		if x == k {
			return true
		}
	}
	return false
}

// Match strengths: the most specific entry decides.
const (
	noMatch = iota
	matchAll
	matchFamily
	matchExact
)

// match says how specifically s matches a judged type.
func (s typeSet) match(j judged) int {
	if j.t != nil && s.names[j.t.name] {
		return matchExact
	}
	for _, m := range j.mimes() {
		if s.mimes[m] {
			return matchExact
		}
	}
	fam, _, _ := strings.Cut(j.primary(), "/")
	if s.families[fam] {
		return matchFamily
	}
	if s.all {
		return matchAll
	}
	return noMatch
}

// ruleSet is a compiled Rules. The type lists are compiled on first use:
// most messages carry no attachment and never need them.
type ruleSet struct {
	Rules
	lists *compiledLists
}

type compiledLists struct{ allow, block typeSet }

func compile(r Rules) ruleSet {
	return ruleSet{Rules: r.withDefaults()}
}

// blocks reports whether the rules block a judged type: the more
// specific of the matching Allow and Block entries wins, Block on a tie,
// and a type nothing matches is allowed.
func (rs *ruleSet) blocks(j judged) bool {
	if rs.lists == nil {
		rs.lists = &compiledLists{}
		rs.lists.allow, _ = compileList("allow", rs.Allow)
		rs.lists.block, _ = compileList("block", rs.Block)
	}
	b, a := rs.lists.block.match(j), rs.lists.allow.match(j)
	return b != noMatch && b >= a
}
