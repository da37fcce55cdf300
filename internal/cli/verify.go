package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// runVerify is the support tool: does a pasted Praxis body match a pasted
// signature under the configured secret? It prints the signed fields and
// their concatenation, never the secret.
func runVerify(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "verify", "[flags] -signature <hex> [body.json | - ]\n\n"+
		"Checks a Praxis body against its GT-Authentication signature. The secret comes from the\n"+
		"config (-config, -app) or from $PRAXIS_VERIFY_SECRET. The body is read from a file or stdin.")
	path := configFlag(fs)
	app := fs.String("app", "", "application name in the config whose secrets to use (default: the body's application_key)")
	list := fs.String("list", string(praxis.ListNotificationRequest), "signature field list (see -lists)")
	sig := fs.String("signature", "", "the GT-Authentication header value")
	lists := fs.Bool("lists", false, "print every field list and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var cfg *config.Config
	if *path != "" {
		var err error
		if cfg, err = config.Load(*path, os.Getenv); err != nil {
			return err
		}
	}
	fl := praxis.DefaultLists()
	if cfg != nil {
		fl = cfg.Lists()
	}
	if *lists {
		for _, s := range praxis.ListSpecs() {
			conf := "confirmed"
			if !s.Confirmed {
				conf = "UNCONFIRMED"
			}
			fmt.Fprintf(env.Stdout, "%-36s %-11s %s\n", s.Name, conf, strings.Join(fl.Get(s.Name).Fields(), ", "))
		}
		return nil
	}
	if *sig == "" || fs.NArg() > 1 {
		fs.Usage()
		return fmt.Errorf("%w: -signature and one body (file or -) are required", errUsage)
	}
	var body []byte
	var err error
	if fs.NArg() == 0 || fs.Arg(0) == "-" {
		body, err = io.ReadAll(io.LimitReader(os.Stdin, 8<<20))
	} else {
		body, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		return err
	}
	body = []byte(strings.TrimSpace(string(body)))
	if !isKnownList(*list) {
		return fmt.Errorf("%w: unknown list %q; run verify -lists", errUsage, *list)
	}
	field := fl.Get(praxis.ListName(*list))

	secrets, source, err := verifySecrets(cfg, *app, body)
	if err != nil {
		return err
	}
	text, err := field.SigningText(nil, body)
	if err != nil {
		return fmt.Errorf("cannot read the signed fields: %w", err)
	}
	vals := make([]praxis.Value, field.Paths().Len())
	_ = field.Paths().Extract(body, vals)
	fmt.Fprintf(env.Stdout, "list:     %s\n", *list)
	for i, name := range field.Fields() {
		t, _ := vals[i].Text()
		if !vals[i].Present() {
			t = "(" + vals[i].Kind.String() + ": skipped)"
		}
		fmt.Fprintf(env.Stdout, "  %-40s %s\n", name, t)
	}
	fmt.Fprintf(env.Stdout, "signing text (before the secret): %s\n", text)
	fmt.Fprintf(env.Stdout, "secrets:  %d from %s\n", len(secrets), source)
	for i, s := range secrets {
		fmt.Fprintf(env.Stdout, "expected with secret #%d: %s\n", i+1, praxis.Digest(text, s))
	}
	fmt.Fprintf(env.Stdout, "received:                 %s\n", strings.ToLower(*sig))
	idx, err := praxis.MatchSecret(text, *sig, secrets...)
	if err != nil {
		fmt.Fprintln(env.Stdout, "result:   MISMATCH")
		return fmt.Errorf("signature does not verify: %w", err)
	}
	fmt.Fprintf(env.Stdout, "result:   OK (secret #%d)\n", idx+1)
	return nil
}

func isKnownList(name string) bool {
	for _, s := range praxis.ListSpecs() {
		if string(s.Name) == name {
			return true
		}
	}
	return false
}

func verifySecrets(cfg *config.Config, app string, body []byte) ([]string, string, error) {
	if s := os.Getenv("PRAXIS_VERIFY_SECRET"); s != "" {
		return []string{s}, "$PRAXIS_VERIFY_SECRET", nil
	}
	if cfg == nil {
		return nil, "", errors.New("no secret: set -config (and -app) or PRAXIS_VERIFY_SECRET")
	}
	if app != "" {
		a, ok := cfg.Application(app)
		if !ok {
			return nil, "", fmt.Errorf("application %q is not in the config", app)
		}
		return a.Secrets, "config application " + app, nil
	}
	paths := praxis.CompilePaths("merchant_id", "application_key")
	var v [2]praxis.Value
	if err := paths.Extract(body, v[:]); err != nil {
		return nil, "", err
	}
	m, _ := v[0].Text()
	k, _ := v[1].Text()
	for _, a := range cfg.Applications {
		if a.MerchantID == m && a.ApplicationKey == k {
			return a.Secrets, "config application " + a.Name, nil
		}
	}
	return nil, "", fmt.Errorf("no configured application has merchant_id %q and application_key %q; pass -app", m, k)
}
