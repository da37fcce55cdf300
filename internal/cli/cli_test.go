package cli

import (
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

	code, out, errOut = cli(t, "dlq", "show", "-nats", p.NATSURL, seq[1])
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Praxis-Dlq-Reason:")
	assert.Contains(t, out, `"id": "cap-1"`)

	results := p.Count(t, subjects.StreamResults, "praxis.results.sandbox.authorization.capture")
	code, out, errOut = cli(t, "dlq", "replay", "-nats", p.NATSURL, "-delete", seq[1])
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
