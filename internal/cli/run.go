package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/runtime"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// demoConfig is what `run` uses without a config file: a Praxis
// application with the credentials of Praxis' documentation and a Rebilly
// application, each served by its provider's simulator.
const demoConfig = `
applications:
  - name: sandbox
    merchant_id: Test-Integration-Merchant
    application_key: Sandbox
    return_url: https://shop.example/return
  - name: shop
    provider: rebilly
    return_url: https://shop.example/return
    rebilly:
      organization_id: org_sim
      website_id: shop-web
      # The simulator's webhooks carry Basic credentials; run makes up the
      # password for each process.
      webhook: {username: rebilly}
ledger:
  # The demo shows a forged notification refused within seconds.
  recheck_horizon: 5s
`

// configFlag registers -config, defaulting to $PRAXIS_CONFIG.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", os.Getenv("PRAXIS_CONFIG"), "YAML config file (env PRAXIS_CONFIG); see deploy/config.example.yaml")
}

func loadConfig(path string, demo bool) (*config.Config, error) {
	if path == "" && demo {
		return config.LoadBytes([]byte(demoConfig), os.Getenv)
	}
	if path == "" {
		return nil, fmt.Errorf("%w: -config (or PRAXIS_CONFIG) is required; start from deploy/config.example.yaml", errUsage)
	}
	return config.Load(path, os.Getenv)
}

// roleConfig parses a role's flags and loads its config; demo allows the
// built-in demo config when no file is named.
func roleConfig(env *Env, name string, args []string, demo bool) (*config.Config, error) {
	fs := newFlags(env, name, "[flags]")
	path := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return loadConfig(*path, demo)
}

func runRun(ctx context.Context, env *Env, args []string) error {
	cfg, err := roleConfig(env, "run", args, true)
	if err != nil {
		return err
	}
	// A simulator stands in for each provider that has applications and no
	// base_url.
	roles := runtime.Roles{Ingress: true, Worker: true,
		Simulator:        cfg.Praxis.BaseURL == "" && len(cfg.ApplicationsOf(subjects.Praxis)) > 0,
		RebillySimulator: cfg.Rebilly.BaseURL == "" && len(cfg.ApplicationsOf(subjects.Rebilly)) > 0}
	return serve(ctx, env, cfg, roles, true)
}

func runIngress(ctx context.Context, env *Env, args []string) error {
	cfg, err := roleConfig(env, "ingress", args, false)
	if err != nil {
		return err
	}
	return serve(ctx, env, cfg, runtime.Roles{Ingress: true}, false)
}

func runWorker(ctx context.Context, env *Env, args []string) error {
	cfg, err := roleConfig(env, "worker", args, false)
	if err != nil {
		return err
	}
	if cfg.Praxis.BaseURL == "" && len(cfg.ApplicationsOf(subjects.Praxis)) > 0 {
		return fmt.Errorf("%w: praxis.base_url (PRAXIS_BASE_URL) is required for a worker; the simulator runs only in 'run'", errUsage)
	}
	if cfg.Rebilly.BaseURL == "" && len(cfg.ApplicationsOf(subjects.Rebilly)) > 0 {
		return fmt.Errorf("%w: rebilly.base_url (REBILLY_BASE_URL) is required for a worker serving Rebilly applications; the simulator runs only in 'run'", errUsage)
	}
	return serve(ctx, env, cfg, runtime.Roles{Worker: true}, false)
}

// serve starts roles, prints where they listen, waits for a signal or a
// failed component, and shuts down within cfg.ShutdownTimeout.
func serve(ctx context.Context, env *Env, cfg *config.Config, roles runtime.Roles, banner bool) error {
	log := runtime.Logger(cfg, env.Stderr)
	rt, err := runtime.Start(ctx, cfg, roles, log)
	if err != nil {
		return err
	}
	ep := rt.Endpoints()
	log.Info().Str("nats", ep.NATS).Str("store", ep.Store).Str("ingress", ep.Ingress).Str("admin", ep.Admin).
		Str("simulator", ep.Simulator).Str("rebilly_simulator", ep.RebillySimulator).Str("console", ep.Console).Msg("praxis-adapter started")
	if banner {
		printBanner(env.Stdout, ep)
	}
	var runErr error
	select {
	case <-ctx.Done():
		log.Info().Msg("signal received; shutting down")
	case runErr = <-rt.Errors():
		log.Error().Err(runErr).Msg("a component failed; shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := rt.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	log.Info().Dur("took", time.Since(start)).Msg("stopped")
	return runErr
}

func printBanner(w io.Writer, ep runtime.Endpoints) {
	nats := strings.TrimSuffix(ep.NATS, " (embedded)")
	fmt.Fprintf(w, `
praxis-adapter is running (one process).
  NATS        %s
  store       %s
  ingress     %s   (Praxis webhooks: /praxis/notification, /praxis/validation, /praxis/customer-sync, /praxis/subscription)
  admin       %s/metrics   health %s/healthz   ready %s/readyz   (operators only)
  simulator   %s   (stands in for Praxis; state at /sim/state)
  rebilly     %s   (stands in for Rebilly; transactions at /sim/transactions)
  console     %s   (operator console: timeline, dead letters, streams)

Try it, in another terminal (see README.md, "Demo"):
  export NATS_URL=%s
  go run ./cmd/praxis-adapter tail &
  go run ./cmd/praxis-adapter send cashier.session '{"id":"demo-1","intent":"payment","currency":"EUR","amount":2500,"cid":"cust-42","order_id":"order-1","customer_data":{"country":"GB","first_name":"Jane","last_name":"Doe","email":"jane@example.com"}}'
  curl -s -X POST %s/sim/sessions/<auth_token from the result>/pay
  go run ./cmd/praxis-adapter send -provider rebilly cashier.create '{"id":"demo-4","customer_id":"cust-42","currency":"EUR"}'
  curl -s -X POST -d '{"amount":1050}' %s/sim/cashiers/<rebilly.cashier_id from the result>/pay

Stop with Ctrl-C.
`, ep.NATS, ep.Store, ep.Ingress, ep.Admin, ep.Admin, ep.Admin, orNone(ep.Simulator), orNone(ep.RebillySimulator), consoleOrOff(ep.Console), nats, orNone(ep.Simulator), orNone(ep.RebillySimulator))
}

func consoleOrOff(s string) string {
	if s == "" {
		return "(off: console.enabled)"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none: praxis.base_url is set)"
	}
	return s
}
