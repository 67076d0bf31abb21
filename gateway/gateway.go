// Package gateway wires one mxdesk together: it opens the store, builds the
// router, starts the SMTP, IMAP and HTTP listeners of the configuration and
// stops them in order. It owns every long-running goroutine it starts.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mxdesk/api"
	"mxdesk/archive"
	"mxdesk/campaign"
	"mxdesk/config"
	"mxdesk/connector"
	"mxdesk/crm"
	"mxdesk/delivery"
	"mxdesk/imapserver"
	"mxdesk/msgauth"
	"mxdesk/msglink"
	"mxdesk/outboxloop"
	"mxdesk/ratelimit"
	"mxdesk/router"
	"mxdesk/smtpserver"
	"mxdesk/store"
	"mxdesk/store/badgerstore"
)

// Gateway is a running mxdesk.
type Gateway struct {
	cfg    *config.Config
	log    *slog.Logger
	store  store.Store // badger's or PostgreSQL's (storebackend.go)
	ping   storePing   // the database store's last answer (/readyz)
	router *router.Router
	// delivery sends the outbound queue; Start runs it with the timers.
	delivery *delivery.Worker
	// crm feeds the CRM's webhooks (nil: crm.url is empty); Start runs it.
	crm    *crm.Feed
	smtp   *smtpserver.Server
	submit *smtpserver.Server // submission: agents' outgoing mail
	imap   *imapserver.Server
	http   *http.Server
	tls    *tls.Config
	certs  *certStore       // nil without TLS
	conns  *ratelimit.Conns // connections per client address, every mail listener
	// listenerConns counts connections per mail listener (by name).
	listenerConns *ratelimit.Conns
	agentRcpts    *ratelimit.Window // recipients per agent per hour through submission
	inflight      *ratelimit.Bytes  // limits.inflight_message_bytes, the MX and submission together
	obs           *observability    // metrics registry, listener states for /readyz

	admin     *http.Server // the admin API on adminPath, once started
	adminPath string

	supervisor *supervisorFeed // the supervisor page on the HTTP listener
	api        *api.API        // the public HTTP API on the HTTP listener (api.go)
	links      *msglink.Signer // the CRM feed's message links; nil: feed off (msglink.go)
	ratings    *ratings        // the satisfaction rating links (rating.go)

	archiver *archive.Archiver // nil when archive.bucket is not set (archive.go)
	// archivedAtStart is closed when the run at start has ended.
	archivedAtStart chan struct{}
	archiveStarted  sync.Once

	duties *duties // which duties this node holds (duties.go)

	stopWork context.CancelFunc // ends the background work (session timers)
	reloadMu sync.Mutex         // one Reload or ReloadTLS at a time (reload.go)
	// backups hold storeMu shared while they read the store; Close takes
	// it before closing the store (admin_ops.go).
	storeMu     sync.RWMutex
	storeClosed bool

	// connector imports the [[account]] mailboxes (connector.go);
	// importHook, if set, is told of each import (tests).
	connector  *connector.Connector
	importHook atomic.Pointer[func(account string, d router.Delivered)]

	// campaigns sends the outbound campaigns on campaignLoop (campaign.go).
	campaigns    *campaign.Service
	campaignLoop *outboxloop.Loop

	mu    sync.Mutex
	addrs map[string]string // listener name -> bound address
	wg    sync.WaitGroup
	errs  chan error
}

// New opens the store in cfg.DataDir and builds the servers; Start opens
// the listeners.
func New(cfg *config.Config, log *slog.Logger) (*Gateway, error) {
	return newGateway(cfg, log, nil)
}

// newGateway is New with the router's clock (nil: time.Now), which tests
// move instead of waiting.
func newGateway(cfg *config.Config, log *slog.Logger, now func() time.Time) (*Gateway, error) {
	if log == nil {
		log = slog.Default()
	}
	st, err := openStore(cfg, log)
	if err != nil {
		return nil, err
	}
	obs := newObservability(cfg)
	commitMetrics(st, obs.set.Commit)
	spool, err := prepareSpool(cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	crmMetrics := &crmMetrics{}
	feed, err := newFeed(cfg, log, now, crmMetrics)
	if err != nil {
		st.Close()
		return nil, err
	}
	ropts := router.Options{Now: now, Logger: log, Metrics: obs.set, OnAutoReply: obs.set.AutoReply}
	if space, ok := st.(spaceGuard); ok {
		ropts.Space = space
	}
	ropts.SharedPresence = sharedPresence(st) // nil on badger (duties.go)
	rates, err := newRatings(cfg, obs.reg)
	if err != nil {
		st.Close()
		return nil, err
	}
	ropts.RatingLink = rates.links.URL
	if feed != nil {
		ropts.OnEvent = feed.OnEvent
	}
	r, err := router.New(cfg, st, ropts)
	if err != nil {
		st.Close()
		return nil, err
	}
	tlsConfig, certs, err := loadTLS(cfg.TLS)
	if err != nil {
		st.Close()
		return nil, err
	}
	dw, err := delivery.New(r, cfg, delivery.Options{Logger: log, AfterAttempt: obs.afterAttempt, Lease: deliveryLease(st, cfg)})
	if err != nil {
		st.Close()
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: log, store: st, router: r, delivery: dw, crm: feed, tls: tlsConfig, certs: certs, obs: obs, addrs: map[string]string{}, errs: make(chan error, 8),
		inflight: ratelimit.NewBytes(int64(cfg.Limits.InflightMessageBytes))}
	g.ratings = rates
	g.duties = newDuties(obs.reg)
	obs.reg.MustRegister(deskCollector{g})
	obs.reg.MustRegister(ccCollector{g})
	if err := g.newArchiver(now); err != nil {
		st.Close()
		return nil, err
	}
	*crmMetrics = *newCRMMetrics(g)
	obs.reg.MustRegister(crmMetrics)
	g.connector = g.newConnector()
	if err := g.newCampaigns(now); err != nil {
		st.Close()
		return nil, err
	}
	obs.reg.MustRegister(accountCollector{g})
	smtpOpts := smtpserver.Options{
		Hostname:            cfg.Hostname,
		TLSConfig:           tlsConfig,
		MaxMessageBytes:     cfg.SMTP.MaxMessageBytes,
		MaxRecipients:       cfg.SMTP.MaxRecipients,
		MaxLineLength:       cfg.SMTP.MaxLineLength,
		Inflight:            g.inflight,
		SpoolDir:            spool,
		SpoolThreshold:      int64(cfg.Limits.SpoolThreshold),
		ReadTimeout:         cfg.SMTP.ReadTimeout.Duration,
		WriteTimeout:        cfg.SMTP.WriteTimeout.Duration,
		TLSHandshakeTimeout: cfg.Limits.TLSHandshakeTimeout.Duration,
		Logger:              log,
		MaxCommands:         cfg.Limits.CommandsPerConnection,
		SenderLimit:         ratelimit.NewWindow(cfg.Limits.MessagesPerSenderPerHour, time.Hour, nil),
		Metrics:             obs.set,
	}
	mxOpts := smtpOpts
	mxOpts.Auth = msgauth.New(msgauth.Options{Resolver: cfg.Inbound.Resolver, Timeout: cfg.Inbound.DNSTimeout.Duration, Hostname: cfg.Hostname, Logger: log})
	mxOpts.DMARCReject, mxOpts.DMARCQuarantine = cfg.Inbound.DMARCReject, cfg.Inbound.DMARCQuarantine
	g.smtp = smtpserver.New(r, mxOpts)
	smtpOpts.SenderLimit = nil // agents are limited by their login, not per sender
	g.agentRcpts = ratelimit.NewWindow(cfg.Limits.SubmissionRecipientsPerHour, time.Hour, now)
	smtpOpts.AgentRecipients = g.agentRcpts
	g.conns = ratelimit.NewConns(cfg.Limits.ConnectionsPerIP)
	g.listenerConns = ratelimit.NewConns(cfg.Limits.ConnectionsPerListener)
	smtpOpts.InsecureAuth = cfg.TLS.InsecureAuth
	g.submit = smtpserver.NewSubmission(r, smtpOpts)
	g.imap = imapserver.New(r, imapserver.Options{
		TLSConfig:    tlsConfig,
		InsecureAuth: cfg.TLS.InsecureAuth,
		MaxAppend:    cfg.IMAP.MaxAppendBytes,
		Logger:       log,
		Metrics:      obs.set,
	})
	if g.links, err = messageLinks(g, now); err != nil {
		st.Close()
		return nil, err
	}
	if err := loadPDFFont(cfg); err != nil {
		st.Close()
		return nil, err
	}
	g.http = &http.Server{Handler: g.httpHandler(), ReadHeaderTimeout: httpHeaderTimeout, IdleTimeout: cfg.Limits.HTTPIdleTimeout.Duration}
	g.http.ErrorLog = httpErrorLog(log)
	return g, nil
}

// openStore opens the store of cfg: PostgreSQL's (store.backend =
// "postgres"), or badger's in data_dir/store.
func openStore(cfg *config.Config, log *slog.Logger) (store.Store, error) {
	if isPostgres(cfg) {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil { // the spool and the admin socket
			return nil, fmt.Errorf("data_dir: %w", err)
		}
		return openPostgres(cfg, log)
	}
	return openBadger(cfg, log)
}

// openBadger opens the badger store in data_dir/store.
func openBadger(cfg *config.Config, log *slog.Logger) (*badgerstore.Store, error) {
	if err := os.MkdirAll(storeDir(cfg), 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	st, err := badgerstore.Open(storeDir(cfg), storeOptions(cfg, log))
	// badger formats the flock error away (%+v), so only its text tells
	// that another process holds the store.
	if err != nil && strings.Contains(err.Error(), "Cannot acquire directory lock") {
		return nil, fmt.Errorf("data_dir %s is in use by another process (is mxdesk already running with it?): %w", cfg.DataDir, err)
	}
	var low *badgerstore.LowSpaceError
	if errors.As(err, &low) {
		// Refused before badger wrote anything: on a full disk its
		// memory-mapped files would end the process with SIGBUS.
		return nil, fmt.Errorf("data_dir %s: not starting: %d bytes free on its filesystem, below store.min_free_space = %d bytes: free some space (or lower store.min_free_space) and start again",
			cfg.DataDir, low.Free, low.Min)
	}
	if err != nil {
		return nil, fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
	}
	return st, nil
}

// listener is one configured listener and the server behind it.
type listener struct {
	name, addr string
	implicit   bool // implicit TLS
	serve      func(net.Listener) error
}

func (g *Gateway) listeners() []listener {
	l := g.cfg.Listen
	return []listener{
		{name: "smtp", addr: l.SMTP, serve: g.smtp.Serve},
		{name: "submission", addr: l.Submission, serve: g.submit.Serve},
		// Not implicit here: the server adds TLS above its connection
		// tracking, where go-smtp can see it.
		{name: "submissions", addr: l.Submissions, serve: g.submit.ServeTLS},
		{name: "imap", addr: l.IMAP, serve: g.imap.Serve},
		{name: "imaps", addr: l.IMAPS, implicit: true, serve: g.imap.Serve},
		{name: "http", addr: l.HTTP, serve: g.serveHTTP},
	}
}

// Start opens the admin socket and every configured listener and serves
// them in the background, and starts the session timers. A listener that can't be opened fails Start and
// names its config key (or the socket's path).
func (g *Gateway) Start() error {
	if err := g.startAdmin(); err != nil {
		return err
	}
	var opened []net.Listener
	for _, l := range g.listeners() {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			g.closeAdmin()
			return fmt.Errorf("listen.%s = %q: %w", l.name, l.addr, err)
		}
		opened = append(opened, ln)
		g.mu.Lock()
		g.addrs[l.name] = ln.Addr().String()
		g.mu.Unlock()
		if l.name != "http" {
			name := l.name
			ln = &limitListener{Listener: ln, name: name, perIP: g.conns, perListener: g.listenerConns, onDrop: func(ip, key string) {
				g.obs.set.ConnRefused(name)
				g.log.Warn("connection refused: too many connections", "listener", "listen."+name, "remote", ip, "limit", key)
			}}
			ln = &countingListener{Listener: ln, name: name, set: g.obs.set}
		}
		if l.implicit {
			ln = &handshakeListener{Listener: ln, conf: g.tls, timeout: g.cfg.Limits.TLSHandshakeTimeout.Duration}
		}
		g.wg.Add(1)
		g.obs.listening(l.name)
		go func(l listener, ln net.Listener) {
			defer g.wg.Done()
			err := l.serve(ln)
			if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
				g.obs.stopped(l.name, err)
				g.log.Error("listener stopped", "listener", "listen."+l.name, "err", err)
				g.errs <- fmt.Errorf("listen.%s: %w", l.name, err)
				return
			}
			g.obs.stopped(l.name, nil)
		}(l, ln)
		g.log.Info("listening", "listener", "listen."+l.name, "addr", ln.Addr().String())
	}
	work, stop := context.WithCancel(context.Background())
	g.stopWork = stop
	g.wg.Go(func() { g.delivery.Run(work) })
	g.startDuties(work) // timers, archive, CRM feed, connector, campaigns (duties.go)
	return nil
}

// Addr is the bound address of a listener ("smtp", "submission",
// "submissions", "imap", "imaps", "http"), or "" when it is off.
func (g *Gateway) Addr(name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addrs[name]
}

// Router is the gateway's router (for tests and admin commands).
func (g *Gateway) Router() *router.Router { return g.router }

// Delivery is the gateway's outbound delivery worker (for tests and
// metrics).
func (g *Gateway) Delivery() *delivery.Worker { return g.delivery }

// Run serves until ctx ends or a listener fails, then shuts down.
func (g *Gateway) Run(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-g.errs:
	}
	return errors.Join(err, g.Close())
}

// Close stops the admin socket and the listeners, ends the background
// work (session timers, delivery: attempts in progress are cut off and
// record what the remote accepted), waits for their goroutines and closes
// the store; what was acknowledged is already on disk.
func (g *Gateway) Close() error {
	errs := []error{g.closeAdmin(), g.smtp.Close(), g.submit.Close(), g.imap.Close(), g.http.Close()}
	if g.stopWork != nil {
		g.stopWork()
	}
	g.connector.Wait()
	g.wg.Wait()
	g.storeMu.Lock() // a backup cut off with its connection ends first
	g.storeClosed = true
	g.storeMu.Unlock()
	errs = append(errs, g.store.Close())
	return errors.Join(errs...)
}
