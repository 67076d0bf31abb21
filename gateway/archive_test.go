package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/minio/minio-go/v7"

	"mxdesk/archive"
	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// adminPost POSTs path on the admin socket and returns status and body.
func adminPost(t *testing.T, sock, path string) (int, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Post("http://mxdesk"+path, "application/json", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// archiveRun runs the archive over the admin socket and decodes its
// answer.
func archiveRun(t *testing.T, cfg *config.Config, dry bool) gateway.AdminArchiveRun {
	t.Helper()
	path := "/v1/archive/run"
	if dry {
		path += "?dry_run=1"
	}
	status, body := adminPost(t, gateway.AdminSocket(cfg), path)
	var out gateway.AdminArchiveRun
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("POST %s: %d %s", path, status, body)
	}
	return out
}

// archiveDesk is a gateway archiving to a fresh bucket of the shared S3
// server after 30 days, on a clock the test moves.
type archiveDesk struct {
	g      *gateway.Gateway
	cfg    *config.Config
	clock  *testutil.Clock
	bucket string
	s3     *testutil.S3
}

func startArchiveDesk(t *testing.T, s3 *testutil.S3, extra string) *archiveDesk {
	t.Helper()
	bucket := testutil.BucketName(t)
	cfg := testutil.Config(t, testutil.ArchiveConfig(t, s3, bucket, 30, `prefix = "mxdesk/{domain}"`)+extra)
	clock := testutil.NewClock()
	return newArchiveDesk(t, cfg, clock, bucket, s3)
}

// newArchiveDesk starts the gateway and waits for its archive run at
// start, so that only the test's runs archive.
func newArchiveDesk(t *testing.T, cfg *config.Config, clock *testutil.Clock, bucket string, s3 *testutil.S3) *archiveDesk {
	t.Helper()
	g := startGatewayClock(t, cfg, clock)
	select {
	case <-g.ArchivedAtStart():
	case <-time.After(10 * time.Second):
		t.Fatal("the archive run at start did not end within 10s")
	}
	return &archiveDesk{g: g, cfg: cfg, clock: clock, bucket: bucket, s3: s3}
}

// closeSession: alice resolves the customer's message msgID from the
// queue with Thunderbird's MOVE to Resolved; 31 days later the timers
// close it. It returns the session.
func (d *archiveDesk) closeSession(t *testing.T, msgID string) store.Session {
	t.Helper()
	return d.closeIn(t, "alice@example.test", "Queues/Support", msgID)
}

// closeIn is closeSession by agent login from queue folder.
func (d *archiveDesk) closeIn(t *testing.T, login, folder, msgID string) store.Session {
	t.Helper()
	c := loginIMAP(t, d.g.Addr("imap"), login)
	moveByMessageID(t, c, folder, msgID, "Resolved")
	d.clock.Advance(config.Days(31))
	if _, err := d.g.Router().RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := sessionOf(t, d.g, msgID)
	if s.Status != router.StatusClosed {
		t.Fatalf("session %s is %s, want Closed", s.ID, s.Status)
	}
	return s
}

// fetchRaw returns the whole message msgID in folder as the IMAP server
// gives it (BODY.PEEK[]).
func fetchRaw(t *testing.T, c *imapclient.Client, folder, msgID string) []byte {
	t.Helper()
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatalf("SELECT %s: %v", folder, err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: msgID}}}, nil).Wait()
	if err != nil || len(found.AllUIDs()) != 1 {
		t.Fatalf("SEARCH %s in %s: %v %v", msgID, folder, err, found)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSetNum(found.AllUIDs()[0]), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil || len(bufs) != 1 {
		t.Fatalf("FETCH %s: %v", msgID, err)
	}
	return bufs[0].FindBodySection(section)
}

// readFolder reads a session's folder back from the bucket: the manifest
// and every object it lists, each checked against its SHA-256.
func readFolder(t *testing.T, s3 *testutil.S3, bucket, folder string) (archive.Manifest, map[string][]byte) {
	t.Helper()
	c, err := s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) []byte {
		obj, err := c.GetObject(context.Background(), bucket, folder+name, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("get %s%s: %v", folder, name, err)
		}
		defer obj.Close()
		data, err := io.ReadAll(obj)
		if err != nil {
			t.Fatalf("get %s%s: %v", folder, name, err)
		}
		return data
	}
	var m archive.Manifest
	if err := json.Unmarshal(get(archive.ManifestName), &m); err != nil {
		t.Fatalf("manifest of %s: %v", folder, err)
	}
	objects := map[string][]byte{}
	for _, o := range m.Objects {
		data := get(o.Name)
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != o.SHA256 || int64(len(data)) != o.Size {
			t.Errorf("%s%s read back: SHA-256 %x (%d bytes), the manifest says %s (%d bytes)", folder, o.Name, sum, len(data), o.SHA256, o.Size)
		}
		objects[o.Name] = data
	}
	return m, objects
}

// listBucket lists every object name in bucket.
func listBucket(t *testing.T, s3 *testutil.S3, bucket string) []string {
	t.Helper()
	c, err := s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		names = append(names, o.Key)
	}
	return names
}

// A Closed session past its retention is written to the bucket (every
// message byte-exact, the transcript, the metadata, a manifest with their
// SHA-256) and then removed from the store: a supervisor watching
// All/Support gets the EXPUNGE; the metrics count it.
func TestArchiveClosedSession(t *testing.T) {
	d := startArchiveDesk(t, testutil.SharedS3(t), "")
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", customerMail("arch-1", "support@example.test", ""))
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", customerMail("arch-2", "support@example.test", "arch-1@customer.test"))
	carol := loginIMAP(t, d.g.Addr("imap"), "carol@example.test")
	raw1 := fetchRaw(t, carol, "All/Support", "arch-1@customer.test")
	raw2 := fetchRaw(t, carol, "All/Support", "arch-2@customer.test")
	s := d.closeSession(t, "arch-1@customer.test")

	if run := archiveRun(t, d.cfg, false); len(run.Due) != 0 {
		t.Fatalf("closed for 0 days, retention 30: due %+v", run.Due)
	}
	d.clock.Advance(config.Days(30) + time.Hour)
	dry := archiveRun(t, d.cfg, true)
	wantFolder := "mxdesk/example.test/Support/2026/03/" + s.ID + "/"
	if len(dry.Due) != 1 || dry.Due[0].Session != s.ID || dry.Due[0].Folder != "s3://"+d.bucket+"/"+wantFolder || len(dry.Archived) != 0 {
		t.Fatalf("dry run: %+v, want %s due to %s", dry, s.ID, wantFolder)
	}
	if names := listBucket(t, d.s3, d.bucket); len(names) != 0 {
		t.Fatalf("a dry run wrote %v", names)
	}

	expunged := make(chan uint32, 8)
	watcher, err := imapclient.DialInsecure(d.g.Addr("imap"), &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { expunged <- seq },
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	if err := watcher.Login("carol@example.test", testutil.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if sel, err := watcher.Select("All/Support", nil).Wait(); err != nil || sel.NumMessages != 2 {
		t.Fatalf("SELECT All/Support: %v %+v", err, sel)
	}
	idle, err := watcher.Idle()
	if err != nil {
		t.Fatal(err)
	}

	run := archiveRun(t, d.cfg, false)
	if len(run.Archived) != 1 || run.Archived[0] != s.ID || len(run.Failed) != 0 || run.Bytes == 0 {
		t.Fatalf("run: %+v", run)
	}
	for range 2 {
		select {
		case <-expunged:
		case <-time.After(10 * time.Second):
			t.Fatal("no EXPUNGE in All/Support within 10s of the archive run")
		}
	}
	idle.Close()
	idle.Wait()

	m, objects := readFolder(t, d.s3, d.bucket, wantFolder)
	if !bytes.Equal(objects["0001.eml"], raw1) || !bytes.Equal(objects["0002.eml"], raw2) {
		t.Errorf("the .eml objects are not the messages as stored:\n%q\n%q", objects["0001.eml"], raw1)
	}
	if !bytes.HasPrefix(objects[archive.TranscriptName], []byte("%PDF-")) || !json.Valid(objects[archive.MetadataName]) {
		t.Errorf("transcript %q, metadata %q", objects[archive.TranscriptName], objects[archive.MetadataName])
	}
	if m.Session.ID != s.ID || len(m.Messages) != 2 || len(m.Events) == 0 {
		t.Errorf("manifest: %+v", m)
	}

	err = d.g.Router().View(func(rd store.Reader) error {
		if _, err := rd.Session(s.ID); err != store.ErrNotFound {
			t.Errorf("session %s after archiving: %v, want not found", s.ID, err)
		}
		if msgs, _ := rd.SessionMessages(s.ID); len(msgs) != 0 {
			t.Errorf("%d messages of %s left", len(msgs), s.ID)
		}
		if evs, _ := rd.Events(s.ID); len(evs) != 0 {
			t.Errorf("%d events of %s left", len(evs), s.ID)
		}
		a, err := rd.Archived(s.ID)
		if err != nil || a.Location != "s3://"+d.bucket+"/"+wantFolder || a.Token != s.Token {
			t.Errorf("archived record: %+v %v", a, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countIn(t, carol, "All/Support"); n != 0 {
		t.Errorf("%d messages in All/Support after archiving", n)
	}
	sc := scrapeMetrics(t, d.g)
	if sc.value("mxdesk_archive_sessions_total", "result", "archived") != 1 || sc.value("mxdesk_archive_bytes_total") < float64(len(raw1)+len(raw2)) ||
		sc.value("mxdesk_archive_oldest_due_seconds") != 0 {
		t.Errorf("metrics: archived %v, bytes %v, oldest due %v", sc.value("mxdesk_archive_sessions_total", "result", "archived"),
			sc.value("mxdesk_archive_bytes_total"), sc.value("mxdesk_archive_oldest_due_seconds"))
	}
}

// archived runs d to the point where the customer's session of msgID is
// archived, and returns it.
func (d *archiveDesk) archived(t *testing.T, msgID string) store.Session {
	t.Helper()
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", customerMail(strings.TrimSuffix(msgID, "@customer.test"), "support@example.test", ""))
	s := d.closeSession(t, msgID)
	d.clock.Advance(config.Days(31))
	if run := archiveRun(t, d.cfg, false); len(run.Archived) != 1 || run.Archived[0] != s.ID {
		t.Fatalf("archive run: %+v, want %s archived", run, s.ID)
	}
	return s
}

// A customer who writes late to an archived session, to its reply token
// address (mutt's reply to an agent's answer) or only referencing its
// Message-ID, is never refused: a new session continues the archived one
// and its history says where the old one is in the bucket.
func TestArchiveLateReplies(t *testing.T) {
	d := startArchiveDesk(t, testutil.SharedS3(t), "")
	old := d.archived(t, "late-1@customer.test")
	where := "s3://" + d.bucket + "/mxdesk/example.test/Support/2026/03/" + old.ID + "/"

	tokenAddr := "support+" + old.Token + "@example.test"
	sendRawMX(t, d.g, "carla@customer.test", tokenAddr, customerMail("late-2", tokenAddr, "late-1@customer.test"))
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", "From: carla@customer.test\r\nTo: support@example.test\r\n"+
		"Subject: Re: about late-1\r\nMessage-ID: <late-3@customer.test>\r\nReferences: <late-1@customer.test>\r\n\r\nstill there?\r\n")
	for _, id := range []string{"late-2@customer.test", "late-3@customer.test"} {
		s := sessionOf(t, d.g, id)
		if s.ID == old.ID || s.Previous != old.ID || s.Queue != "Support" {
			t.Errorf("<%s> went to %s (previous %q, queue %s), want a new Support session continuing %s", id, s.ID, s.Previous, s.Queue, old.ID)
		}
		if ev := lastEvent(report(t, d.g, s.ID), "continued"); !strings.Contains(ev, old.ID) || !strings.Contains(ev, where) {
			t.Errorf("session of <%s>: continued event %q, want it to name %s at %s", id, ev, old.ID, where)
		}
	}
	carol := loginIMAP(t, d.g.Addr("imap"), "carol@example.test")
	if raw := fetchRaw(t, carol, "All/Support", "late-2@customer.test"); !strings.Contains(string(raw), "X-Mxdesk-Previous-Session: "+old.ID) {
		t.Errorf("the late reply does not name the archived session:\n%s", raw)
	}
}

// mxdesk archive restore brings an archived session back, read-only in
// All/<queue> with its history; it is archived again, to the same
// folder, one retention period later.
func TestArchiveRestore(t *testing.T) {
	d := startArchiveDesk(t, testutil.SharedS3(t), "")
	carol := loginIMAP(t, d.g.Addr("imap"), "carol@example.test")
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", customerMail("rest-1", "support@example.test", ""))
	raw := fetchRaw(t, carol, "All/Support", "rest-1@customer.test")
	s := d.closeSession(t, "rest-1@customer.test")
	d.clock.Advance(config.Days(31))
	if run := archiveRun(t, d.cfg, false); len(run.Archived) != 1 {
		t.Fatalf("archive run: %+v", run)
	}
	folder := "mxdesk/example.test/Support/2026/03/" + s.ID + "/"
	_, before := readFolder(t, d.s3, d.bucket, folder)

	sock := gateway.AdminSocket(d.cfg)
	for path, want := range map[string]int{"/v1/archive/restore/S-NOPE1": 404, "/v1/archive/restore/not-an-id": 400} {
		if status, body := adminPost(t, sock, path); status != want || bytes.Contains(body, []byte("internal")) {
			t.Errorf("POST %s: %d %s, want %d", path, status, body, want)
		}
	}
	status, body := adminPost(t, sock, "/v1/archive/restore/"+strings.ToLower(s.ID))
	var res gateway.AdminArchiveRestore
	if status != 200 || json.Unmarshal(body, &res) != nil || res.Session != s.ID || res.From != "s3://"+d.bucket+"/"+folder {
		t.Fatalf("restore: %d %s", status, body)
	}
	if again, _ := adminPost(t, sock, "/v1/archive/restore/"+s.ID); again != http.StatusConflict {
		t.Errorf("restoring a session in the store again: %d, want 409", again)
	}
	if got := fetchRaw(t, carol, "All/Support", "rest-1@customer.test"); !bytes.Equal(got, raw) {
		t.Errorf("restored message differs:\n%q\n%q", got, raw)
	}
	back := sessionOf(t, d.g, "rest-1@customer.test")
	if back.ID != s.ID || back.Status != router.StatusClosed || back.Token != s.Token {
		t.Errorf("restored session: %+v", back)
	}
	if ev := lastEvent(report(t, d.g, s.ID), "restored"); !strings.Contains(ev, folder) {
		t.Errorf("restored event %q", ev)
	}
	if len(archiveRun(t, d.cfg, true).Due) != 0 {
		t.Error("a restored session is due again at once")
	}
	d.clock.Advance(config.Days(31))
	if run := archiveRun(t, d.cfg, false); len(run.Archived) != 1 || run.Archived[0] != s.ID {
		t.Fatalf("archiving the restored session again: %+v", run)
	}
	if _, after := readFolder(t, d.s3, d.bucket, folder); !bytes.Equal(after["0001.eml"], before["0001.eml"]) {
		t.Error("archived again, the message differs")
	}
}

// local counts what the store holds of session id: its messages in every
// folder and its events.
func local(t *testing.T, g *gateway.Gateway, id string) (msgs, events int) {
	t.Helper()
	err := g.Router().View(func(rd store.Reader) error {
		m, err := rd.SessionMessages(id)
		if err != nil {
			return err
		}
		e, err := rd.Events(id)
		msgs, events = len(m), len(e)
		return err
	})
	if err != nil {
		t.Fatalf("session %s: %v", id, err)
	}
	return msgs, events
}

// With the S3 server down, the run fails for the session and removes
// nothing; once the server is back, the next run archives it.
func TestArchiveS3Down(t *testing.T) {
	s3, err := testutil.StartS3(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s3.Stop)
	d := startArchiveDesk(t, s3, "")
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", customerMail("down-1", "support@example.test", ""))
	s := d.closeSession(t, "down-1@customer.test")
	msgs, events := local(t, d.g, s.ID)
	d.clock.Advance(config.Days(31))

	s3.Stop()
	run := archiveRun(t, d.cfg, false)
	if len(run.Archived) != 0 || len(run.Failed) != 1 || run.Failed[0].Session != s.ID {
		t.Fatalf("run with S3 down: %+v", run)
	}
	if m, e := local(t, d.g, s.ID); m != msgs || e != events || sessionOf(t, d.g, "down-1@customer.test").ID != s.ID {
		t.Errorf("after a failed run: %d messages, %d events, want %d and %d", m, e, msgs, events)
	}
	sc := scrapeMetrics(t, d.g)
	if sc.value("mxdesk_archive_sessions_total", "result", "failed") != 1 || sc.value("mxdesk_archive_oldest_due_seconds") < (24*time.Hour).Seconds() {
		t.Errorf("metrics after a failed run: failed %v, oldest due %vs", sc.value("mxdesk_archive_sessions_total", "result", "failed"), sc.value("mxdesk_archive_oldest_due_seconds"))
	}

	if err := s3.Start(); err != nil {
		t.Fatal(err)
	}
	if run := archiveRun(t, d.cfg, false); len(run.Archived) != 1 || run.Archived[0] != s.ID {
		t.Fatalf("run with S3 back: %+v", run)
	}
}

// A write that fails half way (the server refuses the transcript after
// the messages were written) leaves the session whole in the store and
// no manifest in the bucket; the next run completes the folder.
func TestArchiveHalfWritten(t *testing.T) {
	s3, err := testutil.StartS3(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s3.Stop)
	d := startArchiveDesk(t, s3, "")
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", customerMail("half-1", "support@example.test", ""))
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", customerMail("half-2", "support@example.test", "half-1@customer.test"))
	s := d.closeSession(t, "half-1@customer.test")
	msgs, events := local(t, d.g, s.ID)
	d.clock.Advance(config.Days(31))

	// A directory where an object's file would go: the posix backend
	// fails that PUT. First the transcript (after both messages were
	// stored), then the manifest (after every other object was).
	folder := "mxdesk/example.test/Support/2026/03/" + s.ID + "/"
	for _, refused := range []string{archive.TranscriptName, archive.ManifestName} {
		obstacle := filepath.Join(s3.Dir, d.bucket, folder, refused)
		if err := os.MkdirAll(filepath.Join(obstacle, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		run := archiveRun(t, d.cfg, false)
		if len(run.Archived) != 0 || len(run.Failed) != 1 || !strings.Contains(run.Failed[0].Err, refused) {
			t.Fatalf("run with %s refused: %+v", refused, run)
		}
		names := listBucket(t, d.s3, d.bucket)
		if !slices.Contains(names, folder+"0002.eml") || slices.Contains(names, folder+archive.ManifestName) {
			t.Errorf("bucket after %s was refused: %v, want the messages and no manifest", refused, names)
		}
		if m, e := local(t, d.g, s.ID); m != msgs || e != events {
			t.Errorf("after %s was refused: %d messages, %d events, want %d and %d", refused, m, e, msgs, events)
		}
		if err := os.RemoveAll(obstacle); err != nil {
			t.Fatal(err)
		}
	}
	if run := archiveRun(t, d.cfg, false); len(run.Archived) != 1 {
		t.Fatalf("run after the obstacle went: %+v", run)
	}
	readFolder(t, d.s3, d.bucket, folder)
}

// A session's retention comes from its queue's addresses: the address's
// own (archive.address_retention_days), else its domain's, else the
// [archive] default; 0 keeps for ever.
func TestArchiveRetentionPerAddress(t *testing.T) {
	s3 := testutil.SharedS3(t)
	bucket := testutil.BucketName(t)
	cfg := testutil.Config(t, testutil.ArchiveConfig(t, s3, bucket, 30, `
[archive.address_retention_days]
"billing@example.test" = 90
"help@example.test" = 45
`))
	// Support's addresses are in example.test: 60 days from the domain
	// (testutil's [[domain]] table can't take the key from extra TOML).
	cfg.Domain[0].RetentionDays = 60
	clock := testutil.NewClock()
	d := newArchiveDesk(t, cfg, clock, bucket, s3)
	sendRawMX(t, d.g, "carla@customer.test", "support@example.test", customerMail("ret-s", "support@example.test", ""))
	sendRawMX(t, d.g, "carla@customer.test", "billing@example.test", customerMail("ret-b", "billing@example.test", ""))
	support := d.closeSession(t, "ret-s@customer.test")
	billing := d.closeIn(t, "bob@example.test", "Queues/Billing", "ret-b@customer.test")

	due := func() []string {
		var ids []string
		for _, s := range archiveRun(t, d.cfg, true).Due {
			ids = append(ids, s.Session)
		}
		return ids
	}
	// Support closed 31 days ago; 46 days: help@'s 45 days don't
	// shorten support@'s 60 (the longest of a queue's addresses wins).
	if got := due(); len(got) != 0 {
		t.Errorf("due with Support closed for 31 days: %v, want none (the domain's 60 days)", got)
	}
	d.clock.Advance(config.Days(15))
	if got := due(); len(got) != 0 {
		t.Errorf("due with Support closed for 46 days: %v, want none (support@ keeps 60 days)", got)
	}
	d.clock.Advance(config.Days(16)) // Support closed 62 days ago, Billing 31
	if got := due(); !slices.Equal(got, []string{support.ID}) {
		t.Errorf("due after 60 days: %v, want only Support's %s (the domain's 60 days; Billing's address keeps 90)", got, support.ID)
	}
	d.clock.Advance(config.Days(30)) // Billing closed 61 days ago
	if got := due(); !slices.Equal(got, []string{support.ID}) {
		t.Errorf("due with Billing closed for 61 days: %v, want only Support's (billing@ keeps 90 days)", got)
	}
	d.clock.Advance(config.Days(30))
	if got := due(); len(got) != 2 || !slices.Contains(got, billing.ID) {
		t.Errorf("due with Billing closed for 91 days: %v, want both", got)
	}
}
