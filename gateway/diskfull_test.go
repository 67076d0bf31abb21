package gateway_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/store/badgerstore"
	"mxdesk/testutil"
)

// The disk tests' filesystem: a tmpfs a little larger than the reserve,
// which is the least the store accepts for the default message size.
var (
	diskReserve = badgerstore.MinReserve(config.DefaultMaxMessageBytes + 64<<10)
	diskSize    = diskReserve + 32<<20
)

// smallDisk mounts a tmpfs of size bytes for the test and returns it;
// it is unmounted when the test ends, after the gateway has closed.
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk allocates a file in dir that leaves less than keep bytes free
// on its filesystem, and returns the file's path.
func fillDisk(t *testing.T, dir string, keep int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < keep {
		t.Fatalf("only %d bytes free on %s before filling", free, dir)
	}
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, free-keep+1<<20); err != nil {
		t.Fatalf("fill %s: %v", dir, err)
	}
	return path
}

// diskConfig is the test configuration with data_dir on dir and the
// smallest reserve, with submission on.
func diskConfig(t *testing.T, dir string) *config.Config {
	cfg := testutil.Config(t, "")
	cfg.DataDir = dir
	cfg.Store.MinFreeSpace = config.Size(diskReserve)
	cfg.Listen.Submission = "127.0.0.1:0"
	return cfg
}

// readyz is /readyz's status and body.
func readyz(t *testing.T, g *gateway.Gateway) (int, string) {
	resp, body := httpDo(t, "GET", "http://"+g.Addr("http")+"/readyz", "")
	return resp.StatusCode, string(body)
}

// TestDiskFullRefusesAndRecovers fills data_dir's filesystem below
// store.min_free_space under a running gateway: MAIL on the MX and on
// submission and a DATA begun before are answered 452 4.3.1, APPEND NO
// [OVERQUOTA], reads go on, /readyz, the metrics and the log say why;
// when the filler goes the next message is taken, without a restart.
func TestDiskFullRefusesAndRecovers(t *testing.T) {
	dir := smallDisk(t, diskSize)
	out := &testutil.SyncBuffer{}
	g, err := gateway.New(diskConfig(t, dir), slog.New(slog.NewTextHandler(out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("before", "support@example.test", ""))
	imapc := loginIMAP(t, g.Addr("imap"), "alice@example.test")

	// A transaction begun while there was room.
	early, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	if err := early.Mail("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := early.Rcpt("support@example.test", nil); err != nil {
		t.Fatal(err)
	}

	earlySubmit, err := smtp.Dial(g.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer earlySubmit.Close()
	if err := earlySubmit.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
		t.Fatal(err)
	}
	if err := earlySubmit.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := earlySubmit.Rcpt("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}

	filler := fillDisk(t, dir, diskReserve)
	waitFor(t, "/readyz to report the disk", func() bool { code, _ := readyz(t, g); return code == http.StatusServiceUnavailable })
	if _, body := readyz(t, g); !strings.Contains(body, "store.min_free_space") || !strings.Contains(body, "bytes free") {
		t.Errorf("/readyz = %q, want the free space and store.min_free_space", body)
	}

	for name, c := range map[string]*smtp.Client{"MX": early, "submission": earlySubmit} {
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(customerMail("during-data", "support@example.test", "")))
		if code, msg := smtpCode(w.Close()); code != 452 || !strings.Contains(msg, "Insufficient system storage") {
			t.Errorf("%s DATA below the reserve: %d %q, want 452 4.3.1", name, code, msg)
		}
	}
	mx, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer mx.Close()
	err = mx.Mail("carla@customer.test", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
		t.Errorf("MX MAIL below the reserve: %v, want 452 4.3.1", err)
	}
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, customerMail("submitted", "support@example.test", "")); !errors.As(err, &se) || se.Code != 452 {
		t.Errorf("submission MAIL below the reserve: %v, want 452 4.3.1", err)
	}
	draft := crlf("From: Alice Rossi <alice@example.test>\nSubject: draft\n\nlater\n")
	app := imapc.Append("Drafts", int64(len(draft)), nil)
	app.Write([]byte(draft))
	app.Close()
	var ie *imap.Error
	if _, err := app.Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodeOverQuota {
		t.Errorf("APPEND below the reserve: %v, want NO [OVERQUOTA]", err)
	}
	if got := readMailbox(t, imapc, "Queues/Support").Msgs; len(got) != 1 || !strings.Contains(got[0].Body, "before@customer.test") {
		t.Errorf("FETCH below the reserve: %d messages, want the one stored before", len(got))
	}
	if _, body := httpDo(t, "GET", "http://"+g.Addr("http")+"/metrics", ""); !strings.Contains(string(body), "\nmxdesk_store_low_space 1\n") {
		t.Error("metrics lack mxdesk_store_low_space 1")
	}
	if !strings.Contains(out.String(), "free space below store.min_free_space") {
		t.Errorf("no log line names store.min_free_space:\n%s", out)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz to recover", func() bool { code, _ := readyz(t, g); return code == http.StatusOK })
	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("after", "support@example.test", ""))
	if got := readMailbox(t, imapc, "Queues/Support").Msgs; len(got) != 2 {
		t.Errorf("Queues/Support holds %d messages after recovery, want 2", len(got))
	}
	if _, body := httpDo(t, "GET", "http://"+g.Addr("http")+"/metrics", ""); !strings.Contains(string(body), "\nmxdesk_store_low_space 0\n") {
		t.Error("metrics lack mxdesk_store_low_space 0 after recovery")
	}
	if !strings.Contains(out.String(), "free space back above store.min_free_space") {
		t.Errorf("no log line says the space returned:\n%s", out)
	}
}

// TestStartOnFullDisk starts on a filesystem already below the reserve:
// New refuses with data_dir, the free space and the key, before badger
// writes (on a full disk its memory-mapped files raise SIGBUS).
func TestStartOnFullDisk(t *testing.T) {
	dir := smallDisk(t, diskSize)
	// A store that existed before the disk filled.
	g, err := gateway.New(diskConfig(t, dir), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	fillDisk(t, dir, 1<<20)
	g, err = gateway.New(diskConfig(t, dir), quietLog())
	if err == nil {
		g.Close()
		t.Fatal("started on a full disk")
	}
	for _, want := range []string{"data_dir " + dir, "bytes free", "store.min_free_space"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestMinFreeSpaceTooSmall: a reserve smaller than one value log file and
// the memtables can't keep badger off a full disk, so it is refused at
// start with the least it must be.
func TestMinFreeSpaceTooSmall(t *testing.T) {
	cfg := testutil.Config(t, "[store]\nmin_free_space = \"100MB\"")
	g, err := gateway.New(cfg, quietLog())
	if err == nil {
		g.Close()
		t.Fatal("started with a 100MB reserve")
	}
	want := fmt.Sprintf("store.min_free_space = 100000000 bytes is less than the %d bytes", diskReserve)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

// TestDiskMessageWouldCrossReserve: with room above the reserve for a
// small message but not a large one, the large one is refused at DATA
// (452) and the small one taken: the messages admitted are counted
// against the free space, so many at once can't fill the disk together.
func TestDiskMessageWouldCrossReserve(t *testing.T) {
	dir := smallDisk(t, diskSize)
	g := startGatewayCfg(t, diskConfig(t, dir))
	fillDisk(t, dir, diskReserve+8<<20)
	// Stored after the fill: its commit measures the space left.
	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("small-1", "support@example.test", ""))

	large := customerMail("large", "support@example.test", "") + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 5<<20/78)
	c, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.SendMail("carla@customer.test", []string{"support@example.test"}, strings.NewReader(large))
	if code, msg := smtpCode(err); code != 452 || !strings.Contains(msg, "Insufficient system storage") {
		t.Errorf("a 5 MiB message with 8 MiB above the reserve: %v, want 452 4.3.1", err)
	}
	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("small-2", "support@example.test", ""))
	if code, body := readyz(t, g); code != http.StatusOK {
		t.Errorf("/readyz = %d %q, want 200 while above the reserve", code, body)
	}
}
