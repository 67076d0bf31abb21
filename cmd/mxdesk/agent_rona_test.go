package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mxdesk/store"
	"mxdesk/store/badgerstore"
)

// TestAgentListShowsRona: an agent in RONA (durable) shows as rona in
// `agent list`, server or not, and `agent state LOGIN available` ends it.
func TestAgentListShowsRona(t *testing.T) {
	path, cfg := sessionConfig(t)
	st, err := badgerstore.Open(filepath.Join(cfg.DataDir, "store"), badgerstore.Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		return tx.PutAgentState(store.AgentState{Login: "alice@example.test", RonaSince: time.Now()})
	})
	if cerr := st.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	status, out, errOut := runCmd(t, "", "agent", "list", "--config", path)
	if status != 0 || out != "LOGIN               STATE  PRESENT  ACTIVE\nalice@example.test  rona   unknown  0\n" {
		t.Errorf("agent list in RONA: status %d, stderr %q\n%s", status, errOut, out)
	}
	if status, _, errOut = runCmd(t, "", "agent", "state", "alice@example.test", "available", "--config", path); status != 0 {
		t.Fatalf("agent state available: status %d, stderr %q", status, errOut)
	}
	status, out, _ = runCmd(t, "", "agent", "list", "--config", path)
	if status != 0 || out != "LOGIN               STATE                         PRESENT  ACTIVE\nalice@example.test  offline (server not running)  unknown  0\n" {
		t.Errorf("agent list after available:\n%s", out)
	}
}
