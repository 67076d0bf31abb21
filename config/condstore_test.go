package config

import (
	"strings"
	"testing"
)

func TestExpungedKept(t *testing.T) {
	c, errs := parse(t, base)
	if errs != nil {
		t.Fatal(errs)
	}
	if c.IMAP.ExpungedKept != DefaultExpungedKept {
		t.Errorf("default imap.expunged_kept = %d, want %d", c.IMAP.ExpungedKept, DefaultExpungedKept)
	}
	c, errs = parse(t, strings.Replace(base, "[listen]", "[imap]\nexpunged_kept = 500\n[listen]", 1))
	if errs != nil {
		t.Fatal(errs)
	}
	if c.IMAP.ExpungedKept != 500 {
		t.Errorf("imap.expunged_kept = %d, want 500", c.IMAP.ExpungedKept)
	}
	for _, v := range []string{"0", "-3", "20000000"} {
		_, errs := parse(t, strings.Replace(base, "[listen]", "[imap]\nexpunged_kept = "+v+"\n[listen]", 1))
		if len(errs) != 1 || errs[0].Key != "imap.expunged_kept" || errs[0].Line == 0 || !strings.Contains(errs[0].Msg, "must be between 1 and 10000000, not "+v) {
			t.Errorf("expunged_kept = %s: errors %v, want one naming imap.expunged_kept with its line", v, errs)
		}
	}
}
