package config

import (
	"strings"
	"testing"
)

func TestWrapupValidation(t *testing.T) {
	billing := func(keys string) string {
		return edit(t, "addresses = [\"billing@example.test\"]\n", "addresses = [\"billing@example.test\"]\n"+keys+"\n")
	}
	for _, tt := range []struct {
		name, keys, key, msg string
		line                 int
	}{
		{"code missing", "[[queue.wrapup]]\nname = \"Refund\"", "queue[1].wrapup[0].code", "required", 24},
		{"code with a space", "[[queue.wrapup]]\ncode = \"re fund\"", "queue[1].wrapup[0].code", `"re fund": want at most 64 letters, digits, _ and -`, 25},
		{"code twice", "[[queue.wrapup]]\ncode = \"refund\"\n[[queue.wrapup]]\ncode = \"Refund\"", "queue[1].wrapup[1].code", "has this code already", 27},
		{"name on two lines", "[[queue.wrapup]]\ncode = \"refund\"\nname = \"a\\nb\"", "queue[1].wrapup[0].name", "one line", 26},
		{"unknown move", "wrapup_required = [\"close\"]\n[[queue.wrapup]]\ncode = \"refund\"", "queue[1].wrapup_required", `"close": want "resolve" or "transfer"`, 24},
		{"required without codes", "wrapup_required = [\"resolve\"]", "queue[1].wrapup_required", "needs the queue's wrap-up codes", 24},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parse(t, billing(tt.keys))
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					if e.Line != tt.line {
						t.Errorf("line %d, want %d: %v", e.Line, tt.line, e)
					}
					return
				}
			}
			t.Errorf("want an error with key %q containing %q, got:\n%v", tt.key, tt.msg, errs)
		})
	}
	c, errs := parse(t, billing("wrapup_required = [\"resolve\", \"transfer\"]\n[[queue.wrapup]]\ncode = \"refund\"\nname = \"Refund granted\"\n[[queue.wrapup]]\ncode = \"no-fault\""))
	if errs != nil {
		t.Fatal(errs)
	}
	q := c.QueueByName("Billing")
	if w, ok := q.WrapupByCode("REFUND"); !ok || w.Name != "Refund granted" || !q.WrapupRequiredOn("transfer") {
		t.Errorf("Billing: %+v", q)
	}
	if w, _ := q.WrapupByCode("no-fault"); w.Name != "no-fault" {
		t.Errorf("a code without a name is named %q, want the code", w.Name)
	}
}
