package smtpserver

import (
	"github.com/emersion/go-sasl"
)

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login), which go-sasl implements only for clients
// and which Outlook and older clients still use. The exchange:
//
//	C: AUTH LOGIN              (or AUTH LOGIN <username> as initial response)
//	S: 334 VXNlcm5hbWU6        "Username:", skipped after an initial response
//	C: <username>
//	S: 334 UGFzc3dvcmQ6        "Password:"
//	C: <password>
//
// Each line is base64; go-smtp does the encoding and the "*" cancel.
type loginServer struct {
	step         loginStep
	username     string
	authenticate func(username, password string) error
}

type loginStep int

const (
	loginStart loginStep = iota
	loginUsername
	loginPassword
	loginDone
)

// The challenges are exactly these strings: go-sasl's LOGIN client, for
// one, compares the password prompt byte for byte.
var (
	usernameChallenge = []byte("Username:")
	passwordChallenge = []byte("Password:")
)

func newLoginServer(authenticate func(username, password string) error) sasl.Server {
	return &loginServer{authenticate: authenticate}
}

// Next implements sasl.Server. response is nil only for an AUTH command
// without an initial response.
func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case loginStart:
		if response == nil {
			l.step = loginUsername
			return usernameChallenge, false, nil
		}
		l.username, l.step = string(response), loginPassword
		return passwordChallenge, false, nil
	case loginUsername:
		l.username, l.step = string(response), loginPassword
		return passwordChallenge, false, nil
	case loginPassword:
		l.step = loginDone
		return nil, true, l.authenticate(l.username, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}
