package gateway

import (
	"context"
	"fmt"
	"reflect"

	"mxdesk/config"
)

// ReloadResult is what a reload put in force; it is also the answer of
// POST /v1/reload.
type ReloadResult struct {
	Path string `json:"path"` // the file read
	// Restart lists the keys that changed but apply only at the next
	// start; until then the running values stay in force.
	Restart []string `json:"restart"`
}

// Reload reads the configuration file at path ("" : the file the
// gateway was started with) and puts it in force without dropping a
// connection (SPEC §13): the router's keys (queues, agents, routes,
// templates, hours, sessions, policy, send_only, login limits) and the
// connections per address apply to
// the next operation and the TLS certificate is read again. Keys that
// only a restart applies keep their running values and are logged as a
// warning and returned in the result. An invalid file changes nothing:
// the error (a config.ValidationErrors) says why, and is logged.
func (g *Gateway) Reload(path string) (ReloadResult, error) {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	if path == "" {
		path = g.cfg.Path()
	}
	res := ReloadResult{Path: path, Restart: []string{}}
	cfg, err := config.Load(path)
	if err != nil {
		g.log.Error("configuration reload failed, keeping the running configuration", "path", path, "err", err)
		return res, err
	}
	old := g.router.Config()
	res.Restart = restartKeys(old, cfg)
	keepRestartKeys(old, cfg)
	// The certificate first: if it can't be loaded nothing else changes.
	// (A newer certificate with the old configuration is harmless.)
	if err := g.reloadCerts(cfg.TLS); err != nil {
		return res, err
	}
	if err := g.router.Reload(context.Background(), cfg); err != nil {
		g.log.Error("configuration reload failed, keeping the running configuration", "path", path, "err", err)
		return res, err
	}
	g.conns.SetMax(cfg.Limits.ConnectionsPerIP)
	g.listenerConns.SetMax(cfg.Limits.ConnectionsPerListener)
	g.agentRcpts.SetLimit(cfg.Limits.SubmissionRecipientsPerHour)
	g.api.SetRate(cfg.API.RequestsPerMinute)
	g.connector.Apply(cfg)
	g.delivery.SetAccounts(cfg)
	g.campaigns.SetConfig(cfg)
	if g.supervisor != nil {
		g.supervisor.changed() // queues or agents may differ; supervisors may not be any more
	}
	for _, key := range res.Restart {
		g.log.Warn("configuration key changed: it applies at the next restart, the running value stays", "key", key, "path", path)
	}
	g.log.Info("configuration reloaded", "path", path, "queues", len(cfg.Queue), "agents", len(cfg.Agent))
	return res, nil
}

// reloadCerts reads the certificate again, from new paths if tls.cert or
// tls.key changed. Turning TLS on or off needs a restart (restartKeys).
func (g *Gateway) reloadCerts(c config.TLS) error {
	if g.certs == nil || c.Cert == "" {
		return nil
	}
	if err := g.certs.setPaths(c); err != nil {
		g.log.Error("certificate reload failed, keeping the old one", "err", err)
		return err
	}
	g.log.Info("certificate reloaded", "cert", c.Cert)
	return nil
}

// restartKeys names the keys that differ between old and cfg and that
// only a restart applies: what the listeners, the SMTP, IMAP and delivery
// servers and the store copied when they were built.
func restartKeys(old, cfg *config.Config) []string {
	var keys []string
	if old.Hostname != cfg.Hostname {
		keys = append(keys, "hostname")
	}
	if old.DataDir != cfg.DataDir {
		keys = append(keys, "data_dir")
	}
	for _, s := range []struct {
		name     string
		old, new any
	}{
		{"listen", old.Listen, cfg.Listen},
		{"smtp", old.SMTP, cfg.SMTP},
		{"imap", old.IMAP, cfg.IMAP},
		{"store", old.Store, cfg.Store},
		{"delivery", old.Delivery, cfg.Delivery},
		{"inbound", old.Inbound, cfg.Inbound},
		{"log", old.Log, cfg.Log},
		{"limits", restartLimits(old.Limits), restartLimits(cfg.Limits)},
		{"crm", old.CRM, cfg.CRM},
		{"archive", archiveConnection(old.Archive), archiveConnection(cfg.Archive)},
	} {
		keys = append(keys, diffFields(s.name, reflect.ValueOf(s.old), reflect.ValueOf(s.new))...)
	}
	if old.TLS.InsecureAuth != cfg.TLS.InsecureAuth {
		keys = append(keys, "tls.insecure_auth")
	}
	if (old.TLS.Cert == "") != (cfg.TLS.Cert == "") {
		keys = append(keys, "tls.cert")
	}
	return append(keys, dkimKeys(old, cfg)...)
}

// restartLimits is l without the limits that apply live: the login
// lock, connections per address and per listener, the caps on automatic
// mail (the router reads them), on agents' recipients through submission
// and on their folders.
func restartLimits(l config.Limits) config.Limits {
	l.LoginLockAfter, l.LoginLockFor, l.ConnectionsPerIP, l.ConnectionsPerListener = 0, config.Duration{}, 0, 0
	l.AutoMailPerAddressPerDay, l.AutoMailBouncePause = 0, config.Duration{}
	l.SubmissionRecipientsPerMessage, l.SubmissionRecipientsPerHour = 0, 0
	l.PersonalFoldersPerAgent = 0 // the router reads it at each CREATE
	return l
}

// archiveConnection is a without the keys that apply live (retention,
// prefix, the run's bound): the bucket's client and the schedule are
// made at start.
func archiveConnection(a config.Archive) config.Archive {
	a.RetentionDays, a.AddressRetentionDays, a.Prefix, a.MaxSessionsPerRun = 0, nil, "", 0
	return a
}

// diffFields names the fields (by their TOML keys under prefix) that
// differ between the structs a and b.
func diffFields(prefix string, a, b reflect.Value) []string {
	var keys []string
	for i := range a.NumField() {
		f := a.Type().Field(i)
		tag := f.Tag.Get("toml")
		if !f.IsExported() || tag == "" {
			continue
		}
		x, y := a.Field(i), b.Field(i)
		if x.Kind() == reflect.Pointer && !x.IsNil() && !y.IsNil() {
			x, y = x.Elem(), y.Elem()
		}
		if !reflect.DeepEqual(x.Interface(), y.Interface()) {
			keys = append(keys, prefix+"."+tag)
		}
	}
	return keys
}

// dkimKeys names the DKIM settings that changed: the delivery worker
// loaded the keys when it started.
func dkimKeys(old, cfg *config.Config) []string {
	was := map[string]config.Domain{}
	for _, d := range old.Domain {
		was[d.Name] = d
	}
	var keys []string
	for i, d := range cfg.Domain {
		o := was[d.Name]
		if o.DKIMSelector != d.DKIMSelector || o.DKIMKey != d.DKIMKey {
			keys = append(keys, fmt.Sprintf("domain[%d].dkim_key (%s)", i, d.Name))
		}
	}
	return keys
}

// keepRestartKeys sets the restart-only keys of cfg to their running
// values in old, so that what the router reads agrees with what the
// servers use until the restart.
func keepRestartKeys(old, cfg *config.Config) {
	cfg.Hostname, cfg.DataDir = old.Hostname, old.DataDir
	cfg.Listen, cfg.SMTP, cfg.IMAP, cfg.Store = old.Listen, old.SMTP, old.IMAP, old.Store
	cfg.Delivery, cfg.Inbound, cfg.Log, cfg.CRM = old.Delivery, old.Inbound, old.Log, old.CRM
	live := archiveConnection(old.Archive)
	live.RetentionDays, live.AddressRetentionDays = cfg.Archive.RetentionDays, cfg.Archive.AddressRetentionDays
	live.Prefix, live.MaxSessionsPerRun = cfg.Archive.Prefix, cfg.Archive.MaxSessionsPerRun
	cfg.Archive = live
	limits := cfg.Limits
	cfg.Limits = old.Limits
	cfg.Limits.LoginLockAfter, cfg.Limits.LoginLockFor = limits.LoginLockAfter, limits.LoginLockFor
	cfg.Limits.ConnectionsPerIP, cfg.Limits.ConnectionsPerListener = limits.ConnectionsPerIP, limits.ConnectionsPerListener
	cfg.Limits.SubmissionRecipientsPerMessage = limits.SubmissionRecipientsPerMessage
	cfg.Limits.SubmissionRecipientsPerHour = limits.SubmissionRecipientsPerHour
	cfg.Limits.PersonalFoldersPerAgent = limits.PersonalFoldersPerAgent
	cfg.TLS.InsecureAuth = old.TLS.InsecureAuth
	if (old.TLS.Cert == "") != (cfg.TLS.Cert == "") {
		cfg.TLS = old.TLS
	}
}

// config is the configuration in force (the router holds it; a reload
// swaps it). g.cfg is the one the gateway started with.
func (g *Gateway) config() *config.Config { return g.router.Config() }
