package runtime

import (
	"context"

	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/nats-io/nats.go/jetstream"
	"net"
	"net/http"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/ingress"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// rebillySim is the built-in Rebilly simulator of `run`: a listener
// reserved before the ingress starts (the ingress confirms through it) and
// the simulator, built once the ingress's address is known (its webhooks
// go there).
type rebillySim struct {
	ln   net.Listener
	url  string
	sim  *rebillysim.Simulator
	http *http.Server
}

// reserveRebillySimulator listens on simulator.rebilly_listen and fills in
// what the Rebilly applications need to talk to a simulator: its URL, the
// simulator's API key, and a webhook password made up for this process
// (never a published one).
func (r *Runtime) reserveRebillySimulator() error {
	apps := r.cfg.ApplicationsOf(subjects.Rebilly)
	if len(apps) == 0 {
		return nil
	}
	org := apps[0].Rebilly.OrganizationID
	for _, a := range apps[1:] {
		if a.Rebilly.OrganizationID != org {
			return fmt.Errorf("applications (%s): the built-in Rebilly simulator serves one organization; give every Rebilly application organization_id %q, or set rebilly.base_url", a.Name, org)
		}
	}
	ln, err := net.Listen("tcp", r.cfg.Simulator.RebillyListen)
	if err != nil {
		return fmt.Errorf("simulator.rebilly_listen %s: %w", r.cfg.Simulator.RebillyListen, err)
	}
	r.rebSim = &rebillySim{ln: ln, url: "http://" + ln.Addr().String()}
	r.cfg.Rebilly.BaseURL, r.cfg.Rebilly.Simulated = r.rebSim.url, true
	for i := range r.cfg.Applications {
		a := &r.cfg.Applications[i]
		if !a.IsRebilly() {
			continue
		}
		if a.Rebilly.APIKey == "" {
			a.Rebilly.APIKey = config.SimulatorAPIKey
		}
		if a.Rebilly.Webhook.Auth != config.WebhookAuthNone && a.Rebilly.WebhookPassword == "" {
			b := make([]byte, 16)
			if _, err := rand.Read(b); err != nil {
				return fmt.Errorf("webhook password for the Rebilly simulator: %w", err)
			}
			a.Rebilly.WebhookPassword = hex.EncodeToString(b)
		}
		if a.Rebilly.Webhook.Username == "" {
			a.Rebilly.Webhook.Username = "rebilly"
		}
	}
	return nil
}

// startRebillySimulator builds the simulator behind the reserved listener,
// with one webhook per organization pointing at the first Rebilly
// application's webhook path on this process's ingress.
func (r *Runtime) startRebillySimulator() error {
	if r.rebSim == nil {
		return nil
	}
	apps := r.cfg.ApplicationsOf(subjects.Rebilly)
	keys := make([]string, 0, len(apps))
	for _, a := range apps {
		keys = append(keys, a.Rebilly.APIKey)
	}
	cfg := rebillysim.Config{OrganizationID: apps[0].Rebilly.OrganizationID, APIKeys: keys,
		ResendDelay: r.cfg.Simulator.ResendDelay, Seed: uint64(time.Now().UnixNano())}
	if r.ingURL != "" {
		a := apps[0]
		cfg.Webhooks = []rebillysim.Webhook{{URL: r.ingURL + RebillyWebhookPath(a.Name), AuthType: a.Rebilly.Webhook.Auth,
			Username: a.Rebilly.Webhook.Username, Password: a.Rebilly.WebhookPassword}}
	}
	var err error
	r.rebSim.sim, err = rebillysim.New(cfg, r.log.With().Str("component", "rebilly-simulator").Logger())
	if err != nil {
		_ = r.rebSim.ln.Close()
		return fmt.Errorf("rebilly simulator: %w", err)
	}
	r.rebSim.http = &http.Server{Handler: r.rebSim.sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	r.serve(r.rebSim.http, r.rebSim.ln, "rebilly-simulator")
	return nil
}

// RebillyNotificationPath and RebillyWebhookPath are where an application's
// Rebilly calls arrive on the ingress.
func RebillyNotificationPath(app string) string { return "/rebilly/" + app + "/notification" }

// RebillyWebhookPath is the webhook path of a Rebilly application.
func RebillyWebhookPath(app string) string { return "/rebilly/" + app + "/webhook" }

// RebillySimulator is the built-in Rebilly simulator, when running.
func (r *Runtime) RebillySimulator() *rebillysim.Simulator {
	if r.rebSim == nil {
		return nil
	}
	return r.rebSim.sim
}

// rebillyClients builds one Rebilly client per Rebilly application.
func (r *Runtime) rebillyClients() (map[string]*rebilly.Client, error) {
	apps := r.cfg.ApplicationsOf(subjects.Rebilly)
	if len(apps) == 0 {
		return nil, nil
	}
	if r.cfg.Rebilly.BaseURL == "" {
		return nil, errors.New("rebilly.base_url is empty and no Rebilly simulator runs in this process; set REBILLY_BASE_URL")
	}
	out := make(map[string]*rebilly.Client, len(apps))
	for _, a := range apps {
		c, err := rebilly.NewClient(r.cfg.RebillyClientConfig(a))
		if err != nil {
			return nil, fmt.Errorf("applications (%s): %w", a.Name, err)
		}
		out[a.Name] = c
	}
	return out, nil
}

// ingressRebillyApps is what the ingress needs to confirm each Rebilly
// application's calls: its client and its webhook credential.
func (r *Runtime) ingressRebillyApps() ([]ingress.RebillyApplication, error) {
	clients, err := r.rebillyClients()
	if err != nil {
		return nil, err
	}
	var out []ingress.RebillyApplication
	for _, a := range r.cfg.ApplicationsOf(subjects.Rebilly) {
		w := a.Rebilly.Webhook
		out = append(out, ingress.RebillyApplication{
			Name: a.Name, OrganizationID: a.Rebilly.OrganizationID, Client: clients[a.Name],
			Auth:   ingress.RebillyAuth(w.Auth),
			Basic:  rebilly.BasicAuth{Username: w.Username, Password: a.Rebilly.WebhookPassword},
			Digest: rebilly.DigestAuth{Username: w.Username, Password: a.Rebilly.WebhookPassword, Realm: w.Realm, Algorithm: w.Algorithm},
		})
	}
	return out, nil
}

// startRebillyWorker starts the worker of the Rebilly applications: the
// same core as Praxis' (claims, leases, lookups before any repeat,
// results, dead letters), with Rebilly's protocol.
func (r *Runtime) startRebillyWorker(ctx context.Context, js jetstream.JetStream) error {
	rebillyApps := r.cfg.ApplicationsOf(subjects.Rebilly)
	if len(rebillyApps) == 0 {
		return nil
	}
	clients, err := r.rebillyClients()
	if err != nil {
		return err
	}
	apps := make([]worker.Application, 0, len(rebillyApps))
	for _, a := range rebillyApps {
		apps = append(apps, worker.Application{Name: a.Name, Rebilly: clients[a.Name], WebsiteID: a.Rebilly.WebsiteID,
			ReturnURL: a.ReturnURL, RateLimit: a.RateLimit, Burst: a.Burst, AllowedReturnURLs: a.AllowedReturnURLs})
	}
	wcfg := r.workerConfig()
	wcfg.Provider, wcfg.Applications = subjects.Rebilly, apps
	// The provider call's timeout sets the call lease and the settle
	// window's floor, whichever provider it is.
	wcfg.PraxisTimeout = r.cfg.Rebilly.Timeout
	if wcfg.SettleWindow < 2*wcfg.PraxisTimeout {
		wcfg.SettleWindow = 2 * wcfg.PraxisTimeout
	}
	w, err := worker.New(wcfg, worker.Deps{NC: r.wrkNC, JS: js, Store: r.store, Log: r.log, Registry: r.reg, Tracing: r.tracing})
	if err != nil {
		return fmt.Errorf("rebilly worker: %w", err)
	}
	r.rebWrk = w
	r.goRun(ctx, "rebilly-worker", w.Run)
	return nil
}
