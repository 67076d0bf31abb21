package main

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// damageStore writes keys into the store of data_dir dir behind mxdesk's
// back, in its key layout (store/badgerstore/tx.go), as a bug would: an
// agent-load entry of no session and a wrong reference count of body 1.
func damageStore(t *testing.T, dataDir string) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dataDir, "store")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("act/bob@example.test\x00S-GONE0"), nil); err != nil {
			return err
		}
		return txn.Set(binary.BigEndian.AppendUint64([]byte("br/"), 1), binary.BigEndian.AppendUint32(nil, 9))
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestCheckStore(t *testing.T) {
	path, cfg := sessionConfig(t)
	if status, _, errOut := runCmd(t, "", "check-store", "--config", path); status != 1 || !strings.Contains(errOut, "no store in data_dir") {
		t.Errorf("before the first start: status %d, stderr %q", status, errOut)
	}
	deliverBlockedOffline(t, cfg, "a-1@customer.test", "a-2@customer.test")

	status, out, errOut := runCmd(t, "", "check-store", "--config", path)
	want := "store consistent: 2 sessions, 14 mailboxes, 4 messages, 4 bodies, 0 queued outbound, 2 quarantined\n"
	if status != 0 || out != want || errOut != "" {
		t.Errorf("consistent store: status %d, stdout %q, stderr %q; want 0, %q", status, out, errOut, want)
	}

	startServer(t, cfg)
	status, out, errOut = runCmd(t, "", "check-store", "--config", path)
	if status != 1 || out != "" || !strings.Contains(errOut, "in use by a running mxdesk server") {
		t.Errorf("server running: status %d, stdout %q, stderr %q", status, out, errOut)
	}
}

func TestCheckStoreReportsDamage(t *testing.T) {
	path, cfg := sessionConfig(t)
	deliverBlockedOffline(t, cfg, "a-1@customer.test")
	damageStore(t, cfg.DataDir)

	status, out, errOut := runCmd(t, "", "check-store", "--config", path)
	for _, w := range []string{
		"act/bob@example.test/S-GONE0: dangling index entry: no record has it\n",
		"br/1: reference count is 9, records hold 2 references\n",
		"store inconsistent: 2 problems (1 sessions,",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if status != 1 || errOut != "" {
		t.Errorf("status %d, stderr %q; want 1 and nothing", status, errOut)
	}
}

func TestCheckStoreUsage(t *testing.T) {
	if status, _, errOut := runCmd(t, "", "check-store"); status != 2 || !strings.Contains(errOut, "--config") {
		t.Errorf("without --config: status %d, stderr %q", status, errOut)
	}
	if status, out, _ := runCmd(t, "", "check-store", "--help"); status != 0 || !strings.Contains(out, "Usage: mxdesk check-store --config FILE") {
		t.Errorf("--help: status %d, stdout %q", status, out)
	}
}
