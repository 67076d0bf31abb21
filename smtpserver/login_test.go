package smtpserver

import (
	"errors"
	"testing"

	"github.com/emersion/go-sasl"
)

func TestLoginServer(t *testing.T) {
	errBad := errors.New("bad")
	check := func(user, pass string) error {
		if user == "alice@example.test" && pass == "pw" {
			return nil
		}
		return errBad
	}
	type step struct {
		response  []byte // nil: AUTH without initial response
		challenge string
		done      bool
		err       error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"prompted", []step{
			{nil, "Username:", false, nil},
			{[]byte("alice@example.test"), "Password:", false, nil},
			{[]byte("pw"), "", true, nil},
		}},
		{"initial response", []step{
			{[]byte("alice@example.test"), "Password:", false, nil},
			{[]byte("pw"), "", true, nil},
		}},
		{"wrong password", []step{
			{nil, "Username:", false, nil},
			{[]byte("alice@example.test"), "Password:", false, nil},
			{[]byte("nope"), "", true, errBad},
		}},
		{"empty username and password", []step{
			{[]byte{}, "Password:", false, nil},
			{[]byte{}, "", true, errBad},
		}},
		{"a response too many", []step{
			{[]byte("alice@example.test"), "Password:", false, nil},
			{[]byte("pw"), "", true, nil},
			{[]byte("more"), "", true, sasl.ErrUnexpectedClientResponse},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoginServer(check)
			for i, s := range tc.steps {
				challenge, done, err := l.Next(s.response)
				if string(challenge) != s.challenge || done != s.done || !errors.Is(err, s.err) {
					t.Fatalf("step %d: Next(%q) = %q, %v, %v; want %q, %v, %v",
						i, s.response, challenge, done, err, s.challenge, s.done, s.err)
				}
			}
		})
	}
}
