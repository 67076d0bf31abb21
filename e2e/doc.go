// Package e2e holds mxdesk's end-to-end tests. They build the real mxdesk
// binary once per test binary (TestMain), start it with `mxdesk serve` on
// loopback with a configuration written into a temporary directory, and
// drive it from outside with go-smtp's client and go-imap v2's imapclient,
// as a customer's MTA and an agent's mail client would: a crash test that
// kill -9s the server under load and checks that every acknowledged message
// survived, UID and flag persistence across a clean restart, a smoke test
// of `mxdesk bench`, and the demo of `mxdesk serve` without flags.
//
// When the tests run with -race, the server binary is built with -race as
// well and a data race it reports fails the test that started it.
//
// The package has only tests; run it with
//
//	go test -race ./e2e/
package e2e
