package router

import (
	"bytes"
	"strings"
	"testing"
)

// TestSessionAlphabetHasNoLookAlikes: an agent reading an ID over the
// phone never has to say which of two similar characters it is.
func TestSessionAlphabetHasNoLookAlikes(t *testing.T) {
	for _, c := range "0O1IL2Z5S8BUV" {
		if strings.ContainsRune(sessionAlphabet, c) {
			t.Errorf("sessionAlphabet %q has the look-alike %q", sessionAlphabet, c)
		}
	}
	seen := map[rune]bool{}
	for _, c := range sessionAlphabet {
		if seen[c] || !strings.ContainsRune(legacySessionAlphabet, c) {
			t.Errorf("%q: repeated, or not matched by the subject tag's alphabet", c)
		}
		seen[c] = true
	}
}

// TestSessionIDsAreUnbiased feeds every byte value, ten times over, to
// the draw: with the out-of-range bytes drawn again each character comes
// out exactly as often as every other (b % len alone favours the first
// 256 % len characters).
func TestSessionIDsAreUnbiased(t *testing.T) {
	const rounds = 10
	var src bytes.Buffer
	for range rounds {
		for b := range 256 {
			src.WriteByte(byte(b))
		}
	}
	n := rounds * unbiasedBytes // the characters the bytes can give
	id, err := drawSessionID(&src, n)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[rune]int{}
	for _, c := range strings.TrimPrefix(id, "S-") {
		counts[c]++
	}
	want := n / len(sessionAlphabet)
	for _, c := range sessionAlphabet {
		if counts[c] != want {
			t.Errorf("%q drawn %d times out of %d, want %d", c, counts[c], n, want)
		}
	}
}
