package gateway_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The messages in testdata/thunderbird153 are what Thunderbird 153 ESR
// (Debian) submitted, byte for byte, captured by a logging proxy in front
// of the submission port while an agent used it against the demo: a Reply
// All (the queue's address in To), a Reply All to the customer's answer
// (the session's reply address in To), an HTML reply sent twice to an
// older customer message, an inline forward and a Forward As Attachment
// to billing@. Replaying them checks that the desk understands the real
// client, not only messages shaped after it. Only the session's reply
// token, ID and note token, which differ per run, are filled in.

// thunderbirdMessage reads a captured message and fills in the session's
// values in place of those of the capture.
func thunderbirdMessage(t *testing.T, name string, fill *strings.Replacer) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "thunderbird153", name))
	if err != nil {
		t.Fatal(err)
	}
	if fill != nil {
		return fill.Replace(string(raw))
	}
	return string(raw)
}

func TestThunderbird153Messages(t *testing.T) {
	g, snk := gestureDesk(t, false)

	// Reply All, then Reply All to the customer's answer: to Erin and
	// Dave only, whether Thunderbird put the queue's address or the
	// session's reply address in To.
	erin := customerWrites(t, g, "support@example.test", `From: Erin Weber <erin@customer.test>
To: support@example.test
Cc: Dave Kim <dave@customer.test>
Subject: Invoice question for the team
Message-ID: <v2@customer.test>

Hi,
please look at my invoice, I copy Dave.
Erin
`)
	replyAll := func(name, toOurs, msgID string, fill *strings.Replacer) {
		t.Helper()
		text, err := submitAs(t, g, "alice@example.test", []string{"erin@customer.test", toOurs, "dave@customer.test"}, thunderbirdMessage(t, name, fill))
		if err != nil || !strings.Contains(text, "queued as "+erin.ID) {
			t.Fatalf("%s: %q %v, want 250 queued as %s", name, text, err, erin.ID)
		}
		h, rcpts := delivered(t, snk, msgID)
		if want := []string{"dave@customer.test", "erin@customer.test"}; !slices.Equal(rcpts, want) {
			t.Errorf("%s: delivered to %v, want %v", name, rcpts, want)
		}
		if to, cc := h.Get("To"), h.Get("Cc"); strings.Contains(to+cc, "example.test") || !strings.Contains(cc, "dave@customer.test") {
			t.Errorf("%s: To %q, Cc %q: want Erin, Dave in Cc, nothing of ours", name, to, cc)
		}
	}
	replyAll("reply-all.eml", "support@example.test", "f4eef1fe-1408-41fd-a0c9-50da42315b34@example.test", nil)
	token := "support+" + erin.Token + "@example.test"
	customerWrites(t, g, token, `From: Erin Weber <erin@customer.test>
To: `+token+`
Cc: Dave Kim <dave@customer.test>
Subject: Re: Invoice question for the team
Message-ID: <v2b@customer.test>
In-Reply-To: <f4eef1fe-1408-41fd-a0c9-50da42315b34@example.test>
References: <v2@customer.test> <f4eef1fe-1408-41fd-a0c9-50da42315b34@example.test>

Thanks, but why is VAT 25%?
Erin
`)
	replyAll("reply-all-to-reply-address.eml", token, "39a90df4-d346-4da2-ad63-a5b6a5562b6f@example.test",
		strings.NewReplacer("eirpq27nokjno", erin.Token))

	// An HTML reply to Hana's first message after she wrote again: the
	// first send is refused with what to do, the second (new boundary,
	// Date and Message-ID, same words) goes out.
	hana := customerWrites(t, g, "support@example.test", `From: Hana Berg <hana@customer.test>
To: support@example.test
Subject: Login does not work
Message-ID: <v5a@customer.test>

Hello,
I cannot log in.
Hana
`)
	customerWrites(t, g, "support@example.test", `From: Hana Berg <hana@customer.test>
To: support@example.test
Subject: Re: Login does not work
Message-ID: <v5b@customer.test>
In-Reply-To: <v5a@customer.test>
References: <v5a@customer.test>

Still nothing, please help.
`)
	_, err := submitAs(t, g, "alice@example.test", []string{"hana@customer.test"}, thunderbirdMessage(t, "stale-reply-html-1.eml", nil))
	if code, text := smtpCode(err); code != 550 || !strings.Contains(text, "not sent: the customer wrote again") || !strings.Contains(text, hana.ID) {
		t.Fatalf("stale HTML reply: %v, want 550 not sent: the customer wrote again … (%s)", err, hana.ID)
	}
	text, err := submitAs(t, g, "alice@example.test", []string{"hana@customer.test"}, thunderbirdMessage(t, "stale-reply-html-2.eml", nil))
	if err != nil || !strings.Contains(text, "queued as "+hana.ID) {
		t.Fatalf("the same HTML reply sent again: %q %v, want 250 queued as %s", text, err, hana.ID)
	}
	if _, rcpts := delivered(t, snk, "ba45b78d-2342-428a-a915-b24b78bb1770@example.test"); !slices.Equal(rcpts, []string{"hana@customer.test"}) {
		t.Errorf("the reply sent anyway went to %v", rcpts)
	}

	// Thunderbird's inline forward and Forward As Attachment to billing@
	// are transfers.
	for _, tc := range []struct{ file, from, subject, id string }{
		{"forward-inline.eml", "Frank Ode <frank@customer.test>", "Refund for order 881", "v3@customer.test"},
		{"forward-as-attachment.eml", "Gina Hart <gina@customer.test>", "Charged twice", "v4@customer.test"},
	} {
		s := customerWrites(t, g, "support@example.test", "From: "+tc.from+"\nTo: support@example.test\nSubject: "+tc.subject+
			"\nMessage-ID: <"+tc.id+">\n\nHello,\nsomething is wrong.\n")
		fill := strings.NewReplacer("S-4NARP", s.ID, "note-hxxlxctwn6fwg", "note-"+s.Token)
		text, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, thunderbirdMessage(t, tc.file, fill))
		if err != nil || !strings.Contains(text, s.ID+" transferred") {
			t.Fatalf("%s to billing@: %q %v, want 250 %s transferred", tc.file, text, err, s.ID)
		}
		if got := report(t, g, s.ID).Session; got.Queue != "Billing" || got.Agent != "" {
			t.Errorf("%s: session in %s with %q, want waiting in Billing", tc.file, got.Queue, got.Agent)
		}
	}
}
