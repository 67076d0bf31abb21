package imapmsg

import "testing"

// RFC 5256 2.1's steps, each with the subject that needs it.
func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		reply    bool
	}{
		{"Hello", "HELLO", false},
		{"  hello \t  world  ", "HELLO WORLD", false},         // step 1
		{"Hello (fwd) (FWD)  ", "HELLO", false},               // step 2
		{"Re: Hello", "HELLO", true},                          // step 3
		{"RE: re:Fwd: fw: Hello", "HELLO", true},              // step 3 repeated
		{"Re[2]: Hello", "HELLO", true},                       // refwd with a blob
		{"[support] Re: Hello", "HELLO", true},                // blob before refwd
		{"[support] Hello", "HELLO", false},                   // step 4
		{"[support]", "[SUPPORT]", false},                     // step 4: not when it is all
		{"Re: [support] Re: Hello", "HELLO", true},            // blobs in a leader
		{"[a] [b] Hello", "HELLO", false},                     // step 5: step 4 again
		{"[Fwd: Re: Hello]", "HELLO", true},                   // step 6
		{"[fwd: [fwd: Hello (fwd)]]", "HELLO", true},          // step 6 then 2 again
		{"Réponse: Grüße", "RéPONSE: GRüßE", false},           // only ASCII letters fold
		{"Recall: meeting", "RECALL: MEETING", false},         // "re" must be followed by ":"
		{"[unclosed Re: Hello", "[UNCLOSED RE: HELLO", false}, // no blob
		{"Fw : Hello", "HELLO", true},                         // WSP before ":"
		{"", "", false},
	} {
		got, reply := BaseSubject(tc.in)
		if got != tc.want || reply != tc.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, got, reply, tc.want, tc.reply)
		}
	}
}
