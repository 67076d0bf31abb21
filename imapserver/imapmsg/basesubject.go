package imapmsg

import "strings"

// BaseSubject extracts the base subject of a decoded Subject (RFC 5256
// 2.1), the key SORT SUBJECT and THREAD compare, and tells whether the
// subject was that of a reply or forward (a "Re:", "Fwd:", "[fwd: ...]"
// was removed). The result is in upper case for ASCII letters: RFC 5256
// compares base subjects with i;ascii-casemap.
func BaseSubject(subject string) (base string, replyOrFwd bool) {
	s := strings.Join(strings.Fields(subject), " ") // step 1: one space for any run of WSP
	s = ASCIIUpper(s)
	for {
		s = trimTrailers(s) // step 2
		for changed := true; changed; {
			var leader bool
			s, leader = trimLeaders(s) // step 3
			replyOrFwd = replyOrFwd || leader
			s, changed = trimBlob(s) // step 4, then 3 again while it removes one (step 5)
		}
		// step 6: "[fwd: subject]"
		if strings.HasPrefix(s, "[FWD:") && strings.HasSuffix(s, "]") {
			s, replyOrFwd = s[len("[FWD:"):len(s)-1], true
			continue
		}
		return s, replyOrFwd
	}
}

// trimTrailers removes every trailing "(fwd)" and space.
func trimTrailers(s string) string {
	for {
		switch {
		case strings.HasSuffix(s, " "):
			s = s[:len(s)-1]
		case strings.HasSuffix(s, "(FWD)"):
			s = s[:len(s)-len("(FWD)")]
		default:
			return s
		}
	}
}

// trimLeaders removes every subj-leader: a space, or blobs followed by
// "re", "fw" or "fwd", spaces, an optional blob and ":".
func trimLeaders(s string) (string, bool) {
	removed := false
	for {
		if strings.HasPrefix(s, " ") {
			s = s[1:]
			continue
		}
		rest, ok := cutRefwd(skipBlobs(s))
		if !ok {
			return s, removed
		}
		s, removed = rest, true
	}
}

// cutRefwd cuts a subj-refwd from the start of s.
func cutRefwd(s string) (string, bool) {
	switch {
	case strings.HasPrefix(s, "RE"):
		s = s[2:]
	case strings.HasPrefix(s, "FWD"):
		s = s[3:]
	case strings.HasPrefix(s, "FW"):
		s = s[2:]
	default:
		return "", false
	}
	s = strings.TrimLeft(s, " ")
	if rest, ok := cutBlob(s); ok {
		s = rest
	}
	if !strings.HasPrefix(s, ":") {
		return "", false
	}
	return s[1:], true
}

// trimBlob removes a leading subj-blob unless the base subject would be
// empty without it (step 4).
func trimBlob(s string) (string, bool) {
	rest, ok := cutBlob(s)
	if !ok || rest == "" {
		return s, false
	}
	return rest, true
}

// skipBlobs cuts any number of subj-blobs from the start of s.
func skipBlobs(s string) string {
	for {
		rest, ok := cutBlob(s)
		if !ok {
			return s
		}
		s = rest
	}
}

// cutBlob cuts one subj-blob ("[" text without brackets "]" and spaces).
func cutBlob(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return "", false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return "", false
	}
	return strings.TrimLeft(s[end+2:], " "), true
}

// ASCIIUpper upper-cases ASCII letters only (i;ascii-casemap).
func ASCIIUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}
