package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil/proc"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer = tu.SyncBuffer

// cli runs one praxis-adapter command line and returns its exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	code := Main(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	code, _, errOut := cli(t)
	assert.Equal(t, 2, code)
	for _, name := range []string{"run", "ingress", "worker", "sim", "send", "tail", "dlq", "streams", "verify"} {
		assert.Contains(t, errOut, "  "+name+" ", "usage lists %s", name)
	}
	code, _, errOut = cli(t, "teleport")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown command "teleport"`)
}

func TestSendWaitsForTheResult(t *testing.T) {
	p := proc.Start(t, proc.Options{})
	code, out, errOut := cli(t, "send", "-nats", p.NATSURL, command.CashierSession,
		`{"intent":"payment","currency":"EUR","amount":2500,"cid":"cust-42","order_id":"cli-order-1",`+proc.Customer+`}`)
	require.Equal(t, 0, code, errOut)
	var r command.Result
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, command.OutcomeOK, r.Outcome)
	assert.Regexp(t, `^cli-[0-9a-f]{12}$`, r.ID, "send adds an id when the command has none")
	assert.NotEmpty(t, r.RedirectURL)

	code, _, errOut = cli(t, "send", "-nats", p.NATSURL, command.TransactionFind, `{"id":"cli-find","tid":1}`)
	assert.Equal(t, 1, code, "a command that is not ok exits 1")
	assert.Contains(t, errOut, "outcome rejected")
}

func TestTailPrintsEvents(t *testing.T) {
	p := proc.Start(t, proc.Options{})
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() { done <- Main(ctx, []string{"tail", "-nats", p.NATSURL}, &out, &errOut) }()
	tu.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if !strings.Contains(errOut.String(), "following") {
			return fmt.Errorf("tail not started")
		}
		return nil
	})
	r := p.Send(t, command.CashierSession, proc.SessionCommand("tail-1", "payment", "tail-order", 100))
	_, err := p.RT.Simulator().Pay(t.Context(), r.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	tu.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		s := out.String()
		for _, want := range []string{"praxis.results.sandbox.cashier.session ", "praxis.events.sandbox.deposit.approved "} {
			if !strings.Contains(s, want) {
				return fmt.Errorf("no %q line yet", want)
			}
		}
		return nil
	})
	assert.NotContains(t, out.String(), "praxis.requests.", "tail does not listen on request subjects by default")
	cancel()
	assert.Equal(t, 0, <-done)
}

func TestDeadLetterReplayMakesExactlyOneEffect(t *testing.T) {
	p := proc.Start(t, proc.Options{ExtraYAML: "worker: {max_attempts: 2, retry_base: 10ms, retry_max: 20ms}\n"})
	s := p.RT.Simulator()
	r := p.Send(t, command.CashierSession, proc.SessionCommand("auth-s", "authorization", "auth-order", 1000))
	require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
	tx, err := s.Pay(t.Context(), r.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	require.Equal(t, praxis.StatusAuthorized, tx.Status)

	// Praxis performs the capture but every answer is lost, lookups too:
	// the worker cannot learn the outcome, gives up, dead-letters it.
	require.NoError(t, s.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{sim.AllEndpoints: {TimeoutRate: 1}}}))
	res := p.Send(t, command.AuthorizationCapture, fmt.Sprintf(`{"id":"cap-1","tid":%d}`, tx.TID))
	require.Equal(t, command.OutcomeFailed, res.Outcome)
	assert.Equal(t, 1, s.Effects().Captures[tx.TID], "Praxis did capture, unknown to the worker")
	require.NoError(t, s.SetFaults(sim.Faults{}))

	code, out, errOut := cli(t, "dlq", "list", "-nats", p.NATSURL)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "cap-1")
	assert.Contains(t, out, "failed")
	seq := regexp.MustCompile(`(?m)^(\d+)\s.*cap-1`).FindStringSubmatch(out)
	require.NotNil(t, seq, "dlq list shows the sequence: %s", out)

	// Flags may follow positional arguments.
	code, out, errOut = cli(t, "dlq", "show", seq[1], "-nats", p.NATSURL)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Praxis-Dlq-Reason:")
	assert.Contains(t, out, `"id": "cap-1"`)

	// -o json is what scripts read; filters select by header.
	code, out, errOut = cli(t, "dlq", "list", "-nats", p.NATSURL, "-o", "json", "-command", "authorization.capture")
	require.Equal(t, 0, code, errOut)
	var listed []dlqEntry
	require.NoError(t, json.Unmarshal([]byte(out), &listed), out)
	require.Len(t, listed, 1)
	assert.Equal(t, "cap-1", listed[0].CommandID)
	assert.Equal(t, "sandbox", listed[0].App)
	assert.Equal(t, "authorization.capture", listed[0].Command)
	assert.Equal(t, "failed", listed[0].Outcome)
	code, out, errOut = cli(t, "dlq", "list", "-nats", p.NATSURL, "-o", "json", "-command", "refund.create")
	require.Equal(t, 0, code, errOut)
	assert.JSONEq(t, `[]`, out, "a filter that matches nothing lists nothing")

	// A dry run of a bulk replay selects and publishes nothing.
	results := p.Count(t, subjects.StreamResults, "praxis.results.sandbox.authorization.capture")
	commands := p.Count(t, subjects.StreamCommands, subjects.AllCommands)
	code, out, errOut = cli(t, "dlq", "replay", "-all", "-outcome", "failed", "-dry-run", "-nats", p.NATSURL)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "would replay dead letter "+seq[1])
	assert.Equal(t, commands, p.Count(t, subjects.StreamCommands, subjects.AllCommands), "a dry run publishes nothing")

	code, out, errOut = cli(t, "dlq", "replay", "-all", "-reason", "no such reason", "-nats", p.NATSURL)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out, "no dead letter matches, none replayed")

	code, out, errOut = cli(t, "dlq", "replay", "-all", "-command", "authorization.capture", "-nats", p.NATSURL, "-delete")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "replayed dead letter")
	tu.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		if n := p.Count(t, subjects.StreamResults, "praxis.results.sandbox.authorization.capture"); n <= results {
			return fmt.Errorf("no new result yet")
		}
		return nil
	})
	msgs := p.Messages(t, subjects.StreamResults, "praxis.results.sandbox.authorization.capture")
	var last command.Result
	require.NoError(t, json.Unmarshal(msgs[len(msgs)-1].Data(), &last))
	assert.Equal(t, "cap-1", last.ID)
	assert.Equal(t, command.OutcomeOK, last.Outcome, last.Reason)
	assert.True(t, last.Reconciled, "the replay looked Praxis up before calling")
	assert.Equal(t, 1, s.Effects().Captures[tx.TID], "exactly one capture after the replay")
	assert.Zero(t, p.Count(t, subjects.StreamDLQ, subjects.AllDLQ), "-delete removed the dead letter")
}

func TestStreams(t *testing.T) {
	p := proc.Start(t, proc.Options{})
	code, out, errOut := cli(t, "streams", "-nats", p.NATSURL)
	require.Equal(t, 0, code, errOut)
	for _, s := range []string{subjects.StreamEvents, subjects.StreamCommands, subjects.StreamResults, subjects.StreamDLQ, subjects.StreamLedger, subjects.ConsumerWorker} {
		assert.Contains(t, out, s)
	}

	code, out, errOut = cli(t, "streams", "-o", "json", "-nats", p.NATSURL)
	require.Equal(t, 0, code, errOut)
	var doc struct {
		Streams   []streamRow   `json:"streams"`
		Consumers []consumerRow `json:"consumers"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	names := map[string]bool{}
	for _, s := range doc.Streams {
		assert.Empty(t, s.Missing, s.Name)
		names[s.Name] = true
	}
	for _, s := range []string{subjects.StreamEvents, subjects.StreamCommands, subjects.StreamResults, subjects.StreamDLQ, subjects.StreamLedger} {
		assert.True(t, names[s], "stream %s listed", s)
	}
	var worker bool
	for _, c := range doc.Consumers {
		worker = worker || c.Name == subjects.ConsumerWorker
	}
	assert.True(t, worker, "the worker's consumer is listed")
}

// TestUsageErrorsAndVersion: flag errors exit 2 and are printed once; the
// version is printed for --version too (issue 15).
func TestUsageErrorsAndVersion(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStderr string
	}{
		{name: "unknown flag", args: []string{"send", "-bogus"}, code: 2,
			stderr: "flag provided but not defined: -bogus", noStderr: "praxis-adapter send:"},
		{name: "bad -o", args: []string{"streams", "-o", "yaml"}, code: 2, stderr: "want table or json"},
		{name: "--version", args: []string{"--version"}, code: 0, stdout: "praxis-adapter "},
		{name: "version", args: []string{"version"}, code: 0, stdout: "praxis-adapter "},
		{name: "version -o json", args: []string{"version", "-o", "json"}, code: 0, stdout: `"version"`},
		{name: "help shows no backquoted placeholder", args: []string{"streams", "-h"}, code: 0,
			stderr: "-nats string", noStderr: "-nats make run"},
		{name: "sim -h documents the test API and the secret", args: []string{"sim", "-h"}, code: 0,
			stderr: "POST /sim/sessions/{auth_token}/pay"},
		{name: "replay needs seqs or -all", args: []string{"dlq", "replay"}, code: 2, stderr: "sequence numbers or -all"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, tc.args...)
			assert.Equal(t, tc.code, code, "stdout %q stderr %q", out, errOut)
			if tc.stdout != "" {
				assert.Contains(t, out, tc.stdout)
			}
			assert.NotContains(t, out+errOut, "(devel)")
			if tc.stderr != "" {
				assert.Contains(t, errOut, tc.stderr)
				assert.Equal(t, 1, strings.Count(errOut, tc.stderr), "printed once: %q", errOut)
			}
			if tc.noStderr != "" {
				assert.NotContains(t, errOut, tc.noStderr)
			}
		})
	}
}

func TestParseFlagsInterspersed(t *testing.T) {
	cases := []struct {
		args []string
		nats string
		pos  []string
	}{
		{[]string{"a", "-nats", "x", "b"}, "x", []string{"a", "b"}},
		{[]string{"-nats", "x", "a"}, "x", []string{"a"}},
		{[]string{"a", "b", "-nats=x"}, "x", []string{"a", "b"}},
		{[]string{"a", "--", "-nats", "x"}, "d", []string{"a", "-nats", "x"}},
		{[]string{"-", "-nats", "x"}, "x", []string{"-"}},
		{nil, "d", []string{}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
			fs := newFlags(env, "t", "[flags]")
			nats := fs.String("nats", "d", "")
			require.NoError(t, parseFlags(fs, tc.args))
			assert.Equal(t, tc.nats, *nats)
			assert.Equal(t, tc.pos, append([]string{}, fs.Args()...))
		})
	}
}

func TestVerify(t *testing.T) {
	raw, err := os.ReadFile("../../adapter/praxis/testdata/vectors.json")
	require.NoError(t, err)
	var vs []struct{ ID, Body, SHA384 string }
	require.NoError(t, json.Unmarshal(raw, &vs))
	v3 := vs[2]
	require.Equal(t, "V3", v3.ID)
	body := filepath.Join(t.TempDir(), "body.json")
	require.NoError(t, os.WriteFile(body, []byte(v3.Body), 0o600))
	t.Setenv("PRAXIS_VERIFY_SECRET", "MerchantSecretKey")

	code, out, errOut := cli(t, "verify", "-signature", strings.ToUpper(v3.SHA384), body)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "result:   OK")
	assert.Contains(t, out, "transaction.conversion_rate")
	assert.NotContains(t, out, "MerchantSecretKey", "the secret is never printed")

	code, out, _ = cli(t, "verify", "-signature", strings.Repeat("0", 96), body)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "MISMATCH")

	code, out, _ = cli(t, "verify", "-lists")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "refund_request")
	assert.Contains(t, out, "UNCONFIRMED")
}
