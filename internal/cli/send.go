package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

func runSend(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "send", "[flags] <command> '<json>'\n\nPraxis commands: "+fmt.Sprint(command.Names())+
		"\nRebilly commands (-provider rebilly): "+fmt.Sprint(command.RebillyNames()))
	nf := addNATSFlags(fs)
	providerName := fs.String("provider", "praxis", "the provider whose commands subject to publish on: praxis or rebilly")
	app := fs.String("app", "", "application name (the <app> subject token; default sandbox for Praxis, shop for Rebilly), or 'frontend' to route Praxis commands by website+currency")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the result")
	get := fs.String("get", "", "print only this field of the result (e.g. auth_token, tid, rebilly.cashier_id), for scripts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("%w: want a command name and its JSON body", errUsage)
	}
	name, body := fs.Arg(0), []byte(fs.Arg(1))
	provider, ok := subjects.ParseProvider(*providerName)
	if !ok {
		return fmt.Errorf("%w: -provider %q is not praxis or rebilly", errUsage, *providerName)
	}
	lookup, names, defaultApp := command.Lookup, command.Names, "sandbox"
	if provider == subjects.Rebilly {
		lookup, names, defaultApp = command.RebillyLookup, command.RebillyNames, "shop"
	}
	if *app == "" {
		*app = defaultApp
	}
	if _, ok := lookup(name); !ok {
		return fmt.Errorf("%w: unknown %s command %q; known: %v", errUsage, provider, name, names())
	}
	body, id, err := ensureID(body)
	if err != nil {
		return err
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()

	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: provider.Command(*app, name), Data: body, Header: nats.Header{}}
	msg.Header.Set(worker.HeaderReplyTo, inbox)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(pctx, msg); err != nil {
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	fmt.Fprintf(env.Stderr, "sent %s id=%s on %s; waiting for its result...\n", name, id, msg.Subject)
	wctx, wcancel := context.WithTimeout(ctx, *timeout)
	defer wcancel()
	reply, err := sub.NextMsgWithContext(wctx)
	if err != nil {
		return fmt.Errorf("no result within %v (is a worker running?): %w", *timeout, err)
	}
	var res command.Result
	if err := json.Unmarshal(reply.Data, &res); err != nil {
		return fmt.Errorf("result does not decode: %w", err)
	}
	if *get != "" {
		v, ok := resultField(reply.Data, *get)
		if !ok && res.Outcome == command.OutcomeOK {
			return fmt.Errorf("the result has no field %q", *get)
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			fmt.Fprintln(env.Stdout, s)
		} else if ok {
			fmt.Fprintln(env.Stdout, string(v))
		}
	} else {
		var out bytes.Buffer
		if err := json.Indent(&out, reply.Data, "", "  "); err != nil {
			out.Write(reply.Data)
		}
		fmt.Fprintln(env.Stdout, out.String())
	}
	if res.Outcome != command.OutcomeOK {
		return fmt.Errorf("outcome %s: %s", res.Outcome, res.Reason)
	}
	return nil
}

// ensureID adds a random id when the body has none, so a quick demo
// command works; a real CRM always chooses its own id.
func ensureID(body []byte) ([]byte, string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("%w: the command body is not a JSON object: %v", errUsage, err)
	}
	if raw, ok := m["id"]; ok {
		var id string
		if json.Unmarshal(raw, &id) != nil || id == "" {
			return nil, "", errors.New("id must be a non-empty string")
		}
		return body, id, nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := "cli-" + hex.EncodeToString(b[:])
	m["id"], _ = json.Marshal(id)
	out, err := json.Marshal(m)
	return out, id, err
}

// resultField reads a result's field by a dotted path (tid,
// rebilly.cashier_id).
func resultField(data []byte, path string) (json.RawMessage, bool) {
	v := json.RawMessage(data)
	for _, key := range strings.Split(path, ".") {
		var fields map[string]json.RawMessage
		if json.Unmarshal(v, &fields) != nil {
			return nil, false
		}
		next, ok := fields[key]
		if !ok {
			return nil, false
		}
		v = next
	}
	return v, true
}
