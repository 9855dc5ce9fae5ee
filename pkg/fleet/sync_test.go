package fleet

import (
	"path/filepath"
	"testing"
	"time"
)

func TestSyncDefaults(t *testing.T) {
	s, err := Load(filepath.Join("..", "..", "testdata", "fleet", "good", "sync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range s.SyncedClients() {
		names = append(names, c.Name)
	}
	if len(names) != 1 || names[0] != "acme-corp" {
		t.Errorf("synced clients %v, want the SQLite one", names)
	}
	iv, full, lease, renew := s.Sync.Timings()
	if iv != time.Second || full != 30*time.Second || lease != 8*time.Second || renew != 2*time.Second {
		t.Errorf("timings %v %v %v %v", iv, full, lease, renew)
	}
	nodes := s.Sync.NodeList()
	if len(nodes) != 2 || nodes[0] != (SyncNode{"openwebui-sync-node-a", 9443}) || nodes[1] != (SyncNode{"openwebui-sync-node-b", 9444}) {
		t.Errorf("nodes %v", nodes)
	}
	def, tables := s.Sync.Strategy()
	if def != "source_wins" || tables["chat"] != "newest_wins" || s.Sync.SyncBindAddress() != "127.0.0.1" {
		t.Errorf("strategy %s %v", def, tables)
	}
	if SyncRoleName("acme-corp", "") != "fleetctl_sync_acme_corp" || SyncRoleName("acme-corp", "teamb") != "teamb_fleetctl_sync_acme_corp" {
		t.Error(SyncRoleName("acme-corp", ""), SyncRoleName("acme-corp", "teamb"))
	}
	refs := map[SecretRef]bool{}
	for _, r := range s.Refs() {
		refs[r] = true
	}
	if !refs["${env:SYNC_DATABASE_URL}"] || !refs["${env:SYNC_ADMIN_TOKEN}"] {
		t.Errorf("refs %v", s.Refs())
	}
}

func TestSyncNamespaceNames(t *testing.T) {
	s, err := Load(filepath.Join("..", "..", "testdata", "fleet", "good", "sync-namespace.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sync.MetaSchema() + " " + s.Sync.ClientSchema("acme-corp"); got != "blue_sync_metadata blue_client_acme_corp" {
		t.Errorf("namespaced names %s", got)
	}
	var none Sync // unset: the old system's names
	if got := none.MetaSchema() + " " + none.ClientSchema("acme-corp"); got != "sync_metadata client_acme_corp" {
		t.Errorf("default names %s", got)
	}
}
