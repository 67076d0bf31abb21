// Package e2e holds mxdesk's end-to-end tests. They build the real mxdesk
// binary once per test binary (TestMain), start it with `mxdesk serve` on
// loopback with a configuration written into a temporary directory, and
// drive it from outside with go-smtp's client and go-imap v2's imapclient,
// as a customer's MTA and an agent's mail client would: a crash test that
// kill -9s the server under load and checks that every acknowledged message
// survived, a kill -9 in the middle of outbound delivery (every submitted
// message reaches a loopback smarthost, the confirmed ones exactly once,
// DKIM-signed with a key made by `mxdesk dkim-keygen`), a clean stop under
// load, UID and flag persistence across a restart, a smoke test of
// `mxdesk bench` (inbound, and submission with delivery to its own sink),
// `mxdesk session list|show` against the running server (over its admin
// socket) and the stopped one, the content policy and antivirus with a
// real clamd (`mxdesk quarantine`, 451 while clamd is down), the demo
// of `mxdesk serve` without flags, and several nodes on one PostgreSQL
// (cluster_test.go, multinode_test.go: IDLE on node B for mail delivered
// to node A, two agents on two nodes claiming one session, kill -9 of a
// node under load with its duties and a leased reply taken over,
// PostgreSQL restarted under load; an opt-in benchmark of intake on one
// and two nodes and of IDLE across nodes).
//
// Every listener is configured on 127.0.0.1:0 and the harness reads the
// bound addresses from the server's "msg=listening" log lines, so tests
// never guess a free port. The demo is the exception: its ports are fixed,
// so TestDemoStarts does not run in parallel and fails, naming the port,
// if another process holds one.
//
// A kill -9 shows that mxdesk answers 250 only after its commit has reached
// the kernel; that the commit also reached the disk (fsync) would take a
// power cut, which no test here simulates.
//
// When the tests run with -race, the server binary is built with -race as
// well and a data race it reports fails the test that started it.
//
// The package has only tests; run it with
//
//	go test -race ./e2e/
package e2e
