package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"mxdesk/archive"
	"mxdesk/config"
	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/testutil"
)

// archiveSessions is how many closed sessions the crash test archives:
// enough that the kill lands in the middle of the run.
const archiveSessions = 40

// kill -9 of mxdesk during an archive run: after the restart every due
// session is either archived whole (complete folder, manifest with the
// objects' SHA-256) and gone from the store, or still whole in the store;
// nothing is lost and a later run archives the rest.
func TestArchiveCrashMidRun(t *testing.T) {
	s3, err := testutil.StartS3(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s3.Stop)
	env := newEnv(t)
	bucket := testutil.BucketName(t)
	base, err := os.ReadFile(env.configPath)
	if err != nil {
		t.Fatal(err)
	}
	writeConfig := func(days int) *config.Config {
		text := string(base) + testutil.ArchiveConfig(t, s3, bucket, days, "")
		if err := os.WriteFile(env.configPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(env.configPath)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := writeConfig(30)
	storeDir := filepath.Join(cfg.DataDir, "store")
	ids := testutil.ClosedSessions(t, cfg, testutil.Closed{StoreDir: storeDir, Login: testLogin, Passwd: testPassword,
		Address: testQueueAddr, Folder: testFolder, N: archiveSessions, BodyBytes: 4 << 10})
	whole := localCounts(t, storeDir, ids)

	srv := env.start(t) // the server archives what is due when it starts
	srv.waitStderrCount("session archived and removed", 4)
	srv.kill()

	// Started again with no retention, nothing more is archived: what the
	// kill left is what we look at.
	writeConfig(0)
	srv = env.start(t)
	srv.stop()
	archived, local := checkArchiveOutcome(t, s3, bucket, storeDir, whole)
	t.Logf("killed mid-run: %d sessions archived, %d still in the store", archived, local)
	if archived == 0 || local == 0 {
		t.Errorf("the kill did not land mid-run: %d archived, %d local", archived, local)
	}
	checkStoreConsistent(t, env)

	writeConfig(30)
	srv = env.start(t)
	srv.waitStderrCount("session archived and removed", local)
	srv.stop()
	if archived, local := checkArchiveOutcome(t, s3, bucket, storeDir, whole); archived != len(ids) || local != 0 {
		t.Errorf("after the next run: %d archived, %d local; want all %d archived", archived, local, len(ids))
	}
	checkStoreConsistent(t, env)
}

// waitStderrCount waits until the process has logged want at least n
// times.
func (p *proc) waitStderrCount(want string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for strings.Count(p.stderr.String(), want) < n {
		select {
		case <-p.exited:
			p.t.Fatalf("mxdesk exited (%v) before logging %q %d times\n%s", p.waitErr, want, n, p.logs())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("mxdesk logged %q %d times within %v, want %d", want, strings.Count(p.stderr.String(), want), readyTimeout, n)
		}
	}
}

// counts is what the store holds of a session.
type counts struct{ messages, events int }

// localCounts reads, in the stopped server's store, what it holds of each
// of ids.
func localCounts(t *testing.T, storeDir string, ids []string) map[string]counts {
	t.Helper()
	out := map[string]counts{}
	viewStore(t, storeDir, func(rd store.Reader) {
		for _, id := range ids {
			msgs, err := rd.SessionMessages(id)
			events, err2 := rd.Events(id)
			if err != nil || err2 != nil || len(msgs) == 0 || len(events) == 0 {
				t.Fatalf("%s: %d messages (%v), %d events (%v)", id, len(msgs), err, len(events), err2)
			}
			out[id] = counts{len(msgs), len(events)}
		}
	})
	return out
}

// viewStore opens the stopped server's store read-only for fn.
func viewStore(t *testing.T, storeDir string, fn func(rd store.Reader)) {
	t.Helper()
	st, err := badgerstore.Open(storeDir, badgerstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.View(func(rd store.Reader) error { fn(rd); return nil }); err != nil {
		t.Fatal(err)
	}
}

// checkArchiveOutcome opens the stopped server's store and checks that
// each session of whole is either whole in the store (as many messages
// and events as it had) or archived: no session record, an archived
// record whose folder has a manifest listing every object with its
// SHA-256.
func checkArchiveOutcome(t *testing.T, s3 *testutil.S3, bucket, storeDir string, whole map[string]counts) (archived, local int) {
	t.Helper()
	client, err := s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	viewStore(t, storeDir, func(rd store.Reader) {
		for id, want := range whole {
			_, sErr := rd.Session(id)
			a, aErr := rd.Archived(id)
			switch {
			case sErr == nil && errors.Is(aErr, store.ErrNotFound):
				msgs, _ := rd.SessionMessages(id)
				events, _ := rd.Events(id)
				if got := (counts{len(msgs), len(events)}); got != want {
					t.Errorf("%s is in the store with %+v, it had %+v", id, got, want)
				}
				local++
			case errors.Is(sErr, store.ErrNotFound) && aErr == nil:
				checkFolder(t, client, bucket, strings.TrimPrefix(a.Location, "s3://"+bucket+"/"), id)
				archived++
			default:
				t.Errorf("%s: session %v, archived record %v: half removed", id, sErr, aErr)
			}
		}
	})
	return archived, local
}

// checkFolder reads a session's folder back: the manifest, and each
// object it lists with its SHA-256.
func checkFolder(t *testing.T, c *minio.Client, bucket, folder, id string) {
	t.Helper()
	get := func(name string) []byte {
		obj, err := c.GetObject(context.Background(), bucket, folder+name, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("%s: %v", folder+name, err)
		}
		defer obj.Close()
		data, err := io.ReadAll(obj)
		if err != nil {
			t.Fatalf("%s: %v", folder+name, err)
		}
		return data
	}
	var m archive.Manifest
	if err := json.Unmarshal(get(archive.ManifestName), &m); err != nil || m.Session.ID != id || len(m.Objects) != 3 {
		t.Fatalf("manifest of %s: %v %+v", id, err, m.Objects)
	}
	for _, o := range m.Objects {
		sum := sha256.Sum256(get(o.Name))
		if hex.EncodeToString(sum[:]) != o.SHA256 {
			t.Errorf("%s%s: SHA-256 is not the manifest's", folder, o.Name)
		}
	}
}
