package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
)

// publicTestSecret is the secret of Praxis' published examples: fine for a
// local simulator, never for anything reachable by others.
const publicTestSecret = "MerchantSecretKey"

// simSynopsis is `sim -h`: the flags, the secret, and the test API a
// developer drives the simulated customer and Praxis with.
const simSynopsis = `[flags]

Serves a faithful Praxis simulator: the Cashier, Agent and Direct APIs (signed
as Praxis signs), a cashier page, and signed webhooks with Praxis-like resends.

Secret: PRAXIS_SIM_SECRET, or else the PUBLIC test secret of Praxis'
documentation ("MerchantSecretKey", the one 'run' also uses for the built-in
simulator when an application names no secret). Local use only.

Test API (JSON in and out, unsigned; errors are {"error": "..."}: 404 unknown
token or tid, 409 state forbids the action, 400 bad input, 422 declined):
  POST /sim/sessions/{auth_token}/pay       {"amount","payment_method","fee","three_ds"}
  POST /sim/sessions/{auth_token}/decline   {"amount","reason"}
  POST /sim/sessions/{auth_token}/cancel | expire
  POST /sim/sessions/{auth_token}/withdraw  {"amount"}
  POST /sim/transactions/{tid}/3ds          {"approve": bool}
  POST /sim/transactions/{tid}/authorize | reject | error | approve | reverse | chargeback
  POST /sim/transactions/{tid}/edit         {"amount","fee"}
  POST /sim/transactions/{tid}/forge        {"status","set":{path:json},"shift":{"from","to","n"}}:
                                            resend the tid's latest notification altered as an
                                            attacker could, under its genuine signature
  POST /sim/transactions/{tid}/replay       resend it verbatim
  GET  /sim/sessions/{auth_token}, /sim/transactions/{tid}
  GET  /sim/state, /sim/effects, /sim/deliveries (forged ones marked), /sim/balances, /sim/faults
  POST /sim/faults                          a Faults object (rates, delays in ms)
  POST /sim/reset
The cashier page is GET /cashier/session/{auth_token}.`

// runSim serves the Praxis simulator until ctx ends (Ctrl-C), so the adapter
// or a developer's curl can talk to a Praxis without the sandbox.
func runSim(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sim", simSynopsis)
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on")
	merchantID := fs.String("merchant-id", "Test-Integration-Merchant", "merchant_id the simulator accepts")
	appKey := fs.String("application-key", "Sandbox", "application_key the simulator accepts")
	baseURL := fs.String("base-url", "", "URL prefix of the cashier page in redirect_url (default: from each request's Host)")
	resendDelay := fs.Duration("resend-delay", 5*time.Minute, "pause before an unacknowledged notification is resent")
	maxDeliveries := fs.Int("max-deliveries", 10, "attempts per notification before giving up")
	mode := fs.String("withdrawal-mode", string(sim.WithdrawalSameID), "how complete-withdrawal-request pays: same_id or split")
	seed := fs.Uint64("seed", 1, "seed of the simulator's random source (tokens, faults)")
	verbose := fs.Bool("v", false, "log at debug level (every refused call)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}

	level := zerolog.InfoLevel
	if *verbose {
		level = zerolog.DebugLevel
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: env.Stderr, TimeFormat: time.TimeOnly}).Level(level).With().Timestamp().Logger()

	secret := os.Getenv("PRAXIS_SIM_SECRET")
	if secret == "" {
		secret = publicTestSecret
		log.Warn().Msg("PRAXIS_SIM_SECRET is not set: using the PUBLIC test secret from Praxis' documentation. " +
			"Anyone can sign requests with it. Never expose this simulator beyond your machine.")
	}

	s, err := sim.New(sim.Config{
		Applications: []sim.Application{{
			MerchantID: *merchantID, ApplicationKey: *appKey, Secrets: []string{secret},
			WithdrawalMode: sim.WithdrawalMode(*mode),
		}},
		BaseURL:       *baseURL,
		ResendDelay:   *resendDelay,
		MaxDeliveries: *maxDeliveries,
		Seed:          *seed,
		FirstTID:      sim.ClockTID(time.Now()),
	}, log)
	if err != nil {
		return err
	}
	defer s.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(env.Stdout, "praxis simulator listening on http://%s (merchant_id %q, application_key %q, withdrawal mode %s)\n",
		ln.Addr(), *merchantID, *appKey, *mode)
	fmt.Fprintf(env.Stdout, "test API: http://%s/sim/state; stop with Ctrl-C\n", ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
