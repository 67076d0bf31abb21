// Package panics counts the panics that mxdesk recovers, so that none
// passes silently. Every recover() in mxdesk calls Recovered, which logs
// the panic at error level with its stack and counts it under the place
// it was recovered; panics that a library recovers and logs itself
// (go-smtp, go-imap, net/http) are counted through Reported by the log
// adapters that receive them. The metrics package exports the counts as
// mxdesk_panics_total{where}.
//
// The counts belong to the process, not to one gateway: they are what a
// test binary checks when its tests are done. Every package's TestMain
// exits through Guard, which fails the run when any panic was recovered,
// even one that a test did not look for:
//
//	func TestMain(m *testing.M) { os.Exit(panics.Guard(m.Run())) }
package panics

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// Places where mxdesk recovers panics: the values of the where label.
const (
	IMAPCommand     = "imap_command"     // an IMAP session method (the guard answers NO [SERVERBUG])
	IMAPUpdates     = "imap_updates"     // applying committed store changes to the IMAP sessions' views
	IMAPConnection  = "imap_connection"  // go-imap's own code, which drops the connection
	SMTPSession     = "smtp_session"     // an SMTP session handler, recovered by go-smtp (421)
	HTTPHandler     = "http_handler"     // an HTTP handler, recovered by net/http
	StoreWriter     = "store_writer"     // an update function on the store's writer
	DeliveryWorker  = "delivery_worker"  // the outbound queue's loop, which then stops
	DeliveryAttempt = "delivery_attempt" // one delivery attempt, retried later
	MsgAuth         = "msgauth"          // an SPF, DKIM or DMARC check, turned into a temperror
	CRMFeed         = "crm_feed"         // the CRM outbox's loop, which then stops
	CRMAttempt      = "crm_attempt"      // one webhook attempt, retried later
	CampaignSender  = "campaign_sender"  // the campaigns' sending loop, which then stops
)

// Places lists every where value, so that the metric shows each at zero.
var Places = []string{IMAPCommand, IMAPUpdates, IMAPConnection, SMTPSession,
	HTTPHandler, StoreWriter, DeliveryWorker, DeliveryAttempt, MsgAuth, CRMFeed, CRMAttempt, CampaignSender}

// Deliberate is the panic value of a test that makes mxdesk panic on
// purpose to see the panic handled. It is counted and logged like any
// other, but Guard does not fail the run for it.
type Deliberate string

// deliberateMark starts a Deliberate value's text, which is how Reported
// knows one in a library's log line.
const deliberateMark = "deliberate panic of a test: "

func (d Deliberate) String() string { return deliberateMark + string(d) }

// recovered is the process's count of panics per place; deliberate the
// part of it that tests caused on purpose.
var (
	mu         sync.Mutex
	recovered  = map[string]int64{}
	deliberate = map[string]int64{}
	// firsts keeps the first unplanned panics with their stacks, so that
	// Guard can show them: a test's log lines are only printed when that
	// test fails, and a recovered panic fails none.
	firsts []string
)

// maxFirsts bounds firsts.
const maxFirsts = 5

// Recovered counts the panic v recovered at where and logs msg at error
// level with v, the stack and attrs. Call it in the deferred function that
// recovered v: the stack then still shows where the panic happened. The
// line is logged before the count moves, so whoever sees the count can
// find the line.
func Recovered(log *slog.Logger, where, msg string, v any, attrs ...any) {
	stack := string(debug.Stack())
	log.Error(msg, append([]any{"where", where, "panic", fmt.Sprint(v), "stack", stack}, attrs...)...)
	_, planted := v.(Deliberate)
	count(where, planted, fmt.Sprintf("%s: %v\n%s", where, v, stack))
}

// Reported counts a panic that a library recovered at where and logs msg
// at error level with detail, the library's own log line (it holds the
// panic and its stack).
func Reported(log *slog.Logger, where, msg, detail string) {
	log.Error(msg, "where", where, "detail", detail)
	count(where, strings.Contains(detail, deliberateMark), where+": "+detail)
}

func count(where string, planted bool, report string) {
	mu.Lock()
	defer mu.Unlock()
	recovered[where]++
	if planted {
		deliberate[where]++
	} else if len(firsts) < maxFirsts {
		firsts = append(firsts, report)
	}
}

// Counts is the number of panics recovered so far, per place.
func Counts() map[string]int64 {
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(recovered)
}

// unplanned is the number of panics recovered so far that were not
// Deliberate, per place with any.
func unplanned() map[string]int64 {
	mu.Lock()
	defer mu.Unlock()
	out := map[string]int64{}
	for where, n := range recovered {
		if n -= deliberate[where]; n > 0 {
			out[where] = n
		}
	}
	return out
}

// Guard is the exit code of a test binary whose tests ended with code:
// code itself, or 1 when they passed but a panic (other than a Deliberate
// one) was recovered during the run, which it reports on stderr with the
// places. A recovered panic leaves no failed test behind, so without the
// guard it would pass unseen.
func Guard(code int) int { return guard(code, os.Stderr) }

func guard(code int, report io.Writer) int {
	got := unplanned()
	if len(got) == 0 {
		return code
	}
	var places []string
	for _, where := range slices.Sorted(maps.Keys(got)) {
		places = append(places, fmt.Sprintf("%s=%d", where, got[where]))
	}
	fmt.Fprintf(report, "FAIL: panics recovered during the tests (see the error log lines with their stacks): %s\n", strings.Join(places, " "))
	mu.Lock()
	for _, f := range firsts {
		fmt.Fprintf(report, "\n%s\n", f)
	}
	mu.Unlock()
	if code == 0 {
		code = 1
	}
	return code
}
