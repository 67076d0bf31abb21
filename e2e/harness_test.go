package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"mxdesk/panics"
	"mxdesk/testutil/dovecottest"
	"mxdesk/testutil/pgtest"
)

// mxdeskBin is the binary TestMain built.
var mxdeskBin string

// Bounds of the harness's waits. They are generous because the server may
// be built with -race on a loaded two-core machine; none is a sleep.
const (
	readyTimeout = 60 * time.Second // process start to /readyz answering 200
	stopTimeout  = 30 * time.Second // SIGTERM or SIGKILL to exit
	pollInterval = 20 * time.Millisecond
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mxdesk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	mxdeskBin = filepath.Join(dir, "mxdesk")
	if err := buildBinary(mxdeskBin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build mxdesk:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := pgtest.StopShared(dovecottest.StopShared(panics.Guard(m.Run())))
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinary builds cmd/mxdesk into out, with -race if this test binary
// has it.
func buildBinary(out string) error {
	args := []string{"build", "-o", out}
	if raceEnabled() {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "mxdesk/cmd/mxdesk")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// Test deployment: one domain, one queue, one agent.
const (
	testQueueAddr = "support@example.test"
	testFolder    = "Queues/Support"
	testLogin     = "alice@example.test"
	testPassword  = "alice-e2e-password"
)

// testEnv is one deployment's configuration file and data directory; it
// outlives the processes started on it, as a real data_dir does.
type testEnv struct {
	dir        string
	configPath string
}

// newEnv writes a configuration with every listener on 127.0.0.1:0. The
// harness learns the ports from the server's "listening" log lines, so no
// port is ever guessed and two tests never collide.
func newEnv(t testing.TB) *testEnv {
	t.Helper()
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{dir: dir, configPath: filepath.Join(dir, "mxdesk.toml")}
	cfg := fmt.Sprintf(configTemplate, filepath.Join(dir, "data"), string(hash))
	if err := os.WriteFile(env.configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return env
}

const configTemplate = `hostname = "mx.example.test"
data_dir = %q
company  = "Example Inc."

[listen]
smtp       = "127.0.0.1:0"
submission = ""
imap       = "127.0.0.1:0"
http       = "127.0.0.1:0"

[tls]
insecure_auth = true

[inbound]
resolver = "127.0.0.1:1"   # nothing answers: DNS checks fail fast

[limits]
messages_per_sender_per_hour = 0   # the load tests send thousands from one sender
commands_per_connection = 0        # ... over few connections

[store]
sync = true

[[domain]]
name = "example.test"

[[queue]]
name = "Support"
addresses = ["support@example.test"]

[[agent]]
login = "alice@example.test"
name = "Alice Rossi"
password_hash = %q
queues = ["Support"]
`

// start runs `mxdesk serve --config` on env and waits until it is ready.
func (e *testEnv) start(t testing.TB) *proc {
	t.Helper()
	return startProc(t, e.dir, []string{"smtp", "imap", "http"}, "serve", "--config", e.configPath)
}

// proc is one running mxdesk process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout *lineLog
	stderr *lineLog
	addrs  map[string]string // listener name ("smtp") -> bound address

	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // its exit status, valid after exited
}

// startProc starts mxdesk with args in dir and waits until it has logged a
// listening line for each of listeners and /readyz answers 200.
func startProc(t testing.TB, dir string, listeners []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, stdout: newLineLog(), stderr: newLineLog(), exited: make(chan struct{})}
	p.cmd = exec.Command(mxdeskBin, args...)
	p.cmd.Dir = dir
	if err := p.launch(); err != nil {
		t.Fatalf("start mxdesk %s: %v", strings.Join(args, " "), err)
	}
	t.Cleanup(p.cleanup)
	if err := p.waitReady(listeners); err != nil {
		t.Fatalf("mxdesk %s did not become ready: %v\n%s", strings.Join(args, " "), err, p.logs())
	}
	return p
}

// launch starts the process and the goroutines that copy its output and
// wait for it.
func (p *proc) launch() error {
	outPipe, err := p.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := p.cmd.Start(); err != nil {
		return err
	}
	var copying sync.WaitGroup
	copying.Go(func() { p.stdout.copyFrom(outPipe) })
	copying.Go(func() { p.stderr.copyFrom(errPipe) })
	go func() {
		copying.Wait() // Wait closes the pipes: read them to the end first
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return nil
}

// readyClient polls /readyz; a server that accepts and never answers is
// not ready.
var readyClient = &http.Client{Timeout: 5 * time.Second}

// listeningLine matches the gateway's log line for one bound listener.
var listeningLine = regexp.MustCompile(`msg=listening listener=listen\.(\w+) addr=(\S+)`)

// waitReady polls the log for the listeners' addresses, then /readyz.
func (p *proc) waitReady(listeners []string) error {
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := p.checkReady(listeners)
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited (%v) before it was ready", p.waitErr)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", readyTimeout, err)
		}
	}
}

// checkReady is one poll of waitReady.
func (p *proc) checkReady(listeners []string) error {
	p.addrs = map[string]string{}
	for _, m := range listeningLine.FindAllStringSubmatch(p.stderr.String(), -1) {
		p.addrs[m[1]] = m[2]
	}
	for _, l := range listeners {
		if p.addrs[l] == "" {
			return fmt.Errorf("no listening line for listen.%s yet", l)
		}
	}
	resp, err := readyClient.Get("http://" + p.addrs["http"] + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}

// waitStdout waits until the process has printed want and returns all it
// printed.
func (p *proc) waitStdout(want string) string {
	p.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		out := p.stdout.String()
		if strings.Contains(out, want) {
			return out
		}
		select {
		case <-p.exited:
			p.t.Fatalf("mxdesk exited (%v) without printing %q\n%s", p.waitErr, want, p.logs())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("mxdesk did not print %q within %v\n%s", want, readyTimeout, p.logs())
		}
	}
}

// addr is the bound address of a listener.
func (p *proc) addr(name string) string {
	a := p.addrs[name]
	if a == "" {
		p.t.Fatalf("mxdesk has no %s listener", name)
	}
	return a
}

// stop sends SIGTERM and fails the test unless mxdesk exits cleanly.
func (p *proc) stop() {
	p.t.Helper()
	p.checkPanics()
	if err := p.signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("mxdesk did not stop on SIGTERM: %v\n%s", err, p.logs())
	}
	if p.waitErr != nil {
		p.t.Fatalf("mxdesk exited with %v after SIGTERM\n%s", p.waitErr, p.logs())
	}
	p.checkLog()
}

// kill sends SIGKILL, as a crash or the OOM killer would.
func (p *proc) kill() {
	p.t.Helper()
	p.checkPanics()
	if err := p.signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("mxdesk did not die on SIGKILL: %v", err)
	}
	p.checkLog()
}

// signal sends sig and waits for the process to exit.
func (p *proc) signal(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return fmt.Errorf("already exited: %v", p.waitErr)
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return err
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("still running %v after %v", stopTimeout, sig)
	}
}

// checkLog fails the test if the server reported a data race or a panic.
func (p *proc) checkLog() {
	p.t.Helper()
	log := p.stderr.String()
	// "panic serving" is go-smtp's log line for a handler panic it recovered.
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "panic serving"} {
		if strings.Contains(log, bad) {
			p.t.Errorf("mxdesk logged %q\n%s", bad, p.logs())
			return
		}
	}
}

// checkPanics fails the test if the running server has recovered a panic,
// which leaves no trace a client would see: it reads mxdesk_panics_total
// on /metrics. A server whose /metrics does not answer (hung, or no HTTP
// listener) is left to checkLog.
func (p *proc) checkPanics() {
	p.t.Helper()
	addr := p.addrs["http"]
	if addr == "" {
		return
	}
	resp, err := readyClient.Get("http://" + addr + "/metrics")
	if err != nil {
		p.t.Logf("no /metrics to check mxdesk_panics_total: %v", err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "mxdesk_panics_total{") && !strings.HasSuffix(line, " 0") {
			p.t.Errorf("mxdesk recovered a panic: %s\n%s", line, p.logs())
		}
	}
}

// cleanup kills a process the test left running and shows its log if the
// test failed.
func (p *proc) cleanup() {
	select {
	case <-p.exited:
	default:
		p.checkPanics()
		p.cmd.Process.Kill()
		<-p.exited
		p.checkLog()
	}
	if p.t.Failed() {
		p.t.Logf("mxdesk %s log:\n%s", strings.Join(p.cmd.Args[1:], " "), p.logs())
	}
}

// logs is the tail of the process's output, for failure messages.
func (p *proc) logs() string {
	return "--- stdout:\n" + p.stdout.tail(40) + "--- stderr:\n" + p.stderr.tail(150)
}

// lineLog collects a process's output.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func newLineLog() *lineLog { return &lineLog{} }

func (l *lineLog) copyFrom(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.mu.Unlock()
	}
	io.Copy(io.Discard, r) // after an overlong line, keep the pipe drained
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n") + "\n"
}

func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := max(0, len(l.lines)-n)
	s := strings.Join(l.lines[from:], "\n") + "\n"
	if from > 0 {
		s = fmt.Sprintf("[%d earlier lines]\n%s", from, s)
	}
	return s
}

// checkPortFree fails with a clear message if addr can't be bound.
func checkPortFree(t testing.TB, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("%s is taken by another process (%v); the demo listens on fixed ports, stop whatever holds it", addr, err)
	}
	ln.Close()
}

// testMessage is a small RFC 5322 message with Message-ID <id>.
func testMessage(id, subject string) []byte {
	return []byte("From: Customer <customer@client.example>\r\n" +
		"To: <" + testQueueAddr + ">\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + id + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello,\r\nthis is " + id + ".\r\n")
}

// deliver sends one message to the queue over a new SMTP connection.
func deliver(t testing.TB, smtpAddr, id string) {
	t.Helper()
	if err := sendOne(smtpAddr, id); err != nil {
		t.Fatalf("deliver %s: %v", id, err)
	}
}

func sendOne(smtpAddr, id string) error {
	c, err := dialSMTP(smtpAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := smtpTransaction(c, id); err != nil {
		return err
	}
	return c.Quit()
}

// dialSMTP connects and says EHLO, with timeouts so that no test hangs on
// a stuck server.
func dialSMTP(addr string) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = 30*time.Second, 30*time.Second
	if err := c.Hello("client.example"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// smtpTransaction sends the test message id to the queue address; nil
// means the server answered 250 to the end of DATA.
func smtpTransaction(c *smtp.Client, id string) error {
	if err := c.Mail("customer@client.example", nil); err != nil {
		return err
	}
	if err := c.Rcpt(testQueueAddr, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(testMessage(id, "Test "+id)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// loginIMAP connects to addr and logs in; the connection is closed when
// the test ends.
func loginIMAP(t testing.TB, addr, login, password string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("IMAP connect %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(login, password).Wait(); err != nil {
		t.Fatalf("IMAP LOGIN %s: %v", login, err)
	}
	return c
}

// folderMessage is what the tests read of one message in a folder.
type folderMessage struct {
	UID       imap.UID
	Flags     []string // without \Recent, which depends on who looked first
	MessageID string   // without angle brackets
}

// readFolder selects folder and fetches UID, flags and Message-ID of every
// message in it.
func readFolder(t testing.TB, c *imapclient.Client, folder string) (*imap.SelectData, []folderMessage) {
	t.Helper()
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", folder, err)
	}
	if sel.NumMessages == 0 {
		return sel, nil
	}
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
	var all imap.SeqSet
	all.AddRange(1, 0) // 1:*
	bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:* in %s: %v", folder, err)
	}
	msgs := make([]folderMessage, len(bufs))
	for i, b := range bufs {
		msgs[i] = folderMessage{UID: b.UID, Flags: flagStrings(b.Flags), MessageID: headerMessageID(b)}
	}
	return sel, msgs
}

func flagStrings(flags []imap.Flag) []string {
	var s []string
	for _, f := range flags {
		if f != "\\Recent" {
			s = append(s, string(f))
		}
	}
	slices.Sort(s)
	return s
}

// headerMessageID is the Message-ID in the header section fetched in b.
func headerMessageID(b *imapclient.FetchMessageBuffer) string {
	if len(b.BodySection) == 0 {
		return ""
	}
	header := b.BodySection[0].Bytes
	msg, err := mail.ReadMessage(bytes.NewReader(append(header, '\r', '\n')))
	if err != nil {
		return ""
	}
	return strings.Trim(strings.TrimSpace(msg.Header.Get("Message-ID")), "<>")
}
