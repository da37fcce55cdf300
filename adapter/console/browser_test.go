package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil/proc"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// operatorToken is the test's operator token (from a token_file).
const operatorToken = "test-operator-token-0123456789abcdef"

// chromium finds Debian's chromium; without it the test skips, except
// under CI=true, where it must run.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI=true requires the browser test: apt-get install -y chromium (.ci/run does)")
	}
	t.Skip("chromium is not installed: apt-get install -y chromium to run the console's browser test")
	return ""
}

// browser starts headless Chromium with a fresh profile for the test.
func browser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // the test runs as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 960),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// text returns the page's visible text after navigating to url.
func text(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(url)))
	body, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
	require.NoError(t, err)
	return body
}

// eventuallyShows reloads url until its text contains every want.
func eventuallyShows(t *testing.T, ctx context.Context, url string, want ...string) string {
	t.Helper()
	var last string
	tu.Eventually(t, 20*time.Second, 200*time.Millisecond, func() error {
		last = text(t, ctx, url)
		for _, w := range want {
			if !strings.Contains(last, w) {
				return fmt.Errorf("%s does not show %q yet; it shows:\n%s", url, w, last)
			}
		}
		return nil
	})
	return last
}

// screenshot saves a PNG of the page under $PRAXIS_CONSOLE_SCREENSHOTS
// (docs/console when refreshing the README's pictures).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PRAXIS_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// TestConsoleInBrowser drives headless Chromium through the console
// against the whole process with the simulator: a deposit and a refund
// appear on the order's timeline; a capture whose outcome was lost is
// dead-lettered, shown read-only to a visitor, replayed by a logged-in
// operator with a reason, audited, and reconciled exactly once.
func TestConsoleInBrowser(t *testing.T) {
	chrome := chromium(t)
	tokenFile := filepath.Join(t.TempDir(), "operator-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(operatorToken+"\n"), 0o600))
	p := proc.Start(t, proc.Options{ExtraYAML: fmt.Sprintf("worker: {max_attempts: 2, retry_base: 10ms, retry_max: 20ms}\nconsole: {token_file: %q}\n", tokenFile)})
	s := p.RT.Simulator()
	base := p.RT.ConsoleURL()
	require.NotEmpty(t, base, "run serves the console by default")

	// A deposit of 25.00 EUR, then a refund of 10.00 EUR of it.
	r := p.Send(t, command.CashierSession, proc.SessionCommand("demo-1", "payment", "order-1", 2500))
	require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
	_, err := s.Pay(t.Context(), r.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	waitFor(t, p, subjects.StreamLedger, "praxis.ledger.sandbox.deposit.credited")
	found := p.Send(t, command.OrderFind, `{"id":"demo-2","order_id":"order-1"}`)
	require.NotNil(t, found.TID)
	ref := p.Send(t, command.RefundCreate, fmt.Sprintf(`{"id":"demo-3","reference_id":%d,"amount":1000,"currency":"EUR","cid":"cust-42","order_id":"refund-1"}`, *found.TID))
	require.Equal(t, command.OutcomeOK, ref.Outcome, ref.Reason)
	waitFor(t, p, subjects.StreamLedger, "praxis.ledger.sandbox.deposit.reversed")

	// A capture Praxis performs while every answer is lost: dead-lettered.
	auth := p.Send(t, command.CashierSession, proc.SessionCommand("auth-s", "authorization", "auth-order", 1000))
	tx, err := s.Pay(t.Context(), auth.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	require.Equal(t, praxis.StatusAuthorized, tx.Status)
	require.NoError(t, s.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{sim.AllEndpoints: {TimeoutRate: 1}}}))
	capRes := p.Send(t, command.AuthorizationCapture, fmt.Sprintf(`{"id":"cap-1","tid":%d}`, tx.TID))
	require.Equal(t, command.OutcomeFailed, capRes.Outcome)
	require.NoError(t, s.SetFaults(sim.Faults{}))

	ctx := browser(t, chrome)

	// A visitor (not logged in) sees the order's story, key fields only.
	page := eventuallyShows(t, ctx, base+"timeline?q=order-1",
		"praxis.commands.sandbox.cashier.session", "deposit.approved", "deposit.credited", "refund.create", "refund.approved", "deposit.reversed", "order.find")
	assert.Contains(t, page, "log in to act")
	assert.NotContains(t, page, "jane@example.com", "no customer data on the timeline")
	assert.NotContains(t, page, "Doe")
	screenshot(t, ctx, "timeline")
	page = text(t, ctx, base+"dlq")
	assert.Contains(t, page, "cap-1")
	assert.Contains(t, page, "failed")
	assert.NotContains(t, page, "Replay selected", "a visitor cannot replay")

	// The dead letter's page hides the body from a visitor.
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#dead-letters tbody tr td.num a`), "href"))
	require.NoError(t, err)
	seq := href.Value[strings.LastIndex(href.Value, "/")+1:]
	page = text(t, ctx, base+"dlq/"+seq)
	assert.Contains(t, page, "shown to a logged-in operator only")
	assert.NotContains(t, page, `"tid"`)

	// Log in: a wrong token is refused, the right one admits.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"login"),
		chromedp.SendKeys(chromedp.ID("name"), "alice"), chromedp.SendKeys(chromedp.ID("token"), "wrong-token-wrong-token"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("error"))))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"login"),
		chromedp.SendKeys(chromedp.ID("name"), "alice"), chromedp.SendKeys(chromedp.ID("token"), operatorToken),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("operator"))))

	// The operator sees the body (secrets masked) and replays the dead letter.
	page = text(t, ctx, base+"dlq/"+seq)
	assert.Contains(t, page, `"id": "cap-1"`)
	results := p.Count(t, subjects.StreamResults, "praxis.results.sandbox.authorization.capture")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"dlq"), chromedp.WaitVisible(chromedp.ID("pick-"+seq))))
	screenshot(t, ctx, "dead-letters")
	// The page's script: "select all" ticks every row, and a replay with
	// nothing selected is stopped in the browser.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("select-all"))))
	picked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("input.pick")].every(b => b.checked)`))
	require.NoError(t, err)
	assert.True(t, picked, "select all ticks every dead letter")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("select-all"))))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("pick-"+seq)),
		chromedp.SendKeys(chromedp.ID("why"), "Praxis answers again (test)"),
		chromedp.Click(chromedp.ID("replay")),
		chromedp.WaitVisible(chromedp.ID("flash"))))
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("flash")))
	require.NoError(t, err)
	assert.Contains(t, flash, "replayed 1 dead letter(s): #"+seq)
	waitFor(t, p, subjects.StreamResults, "praxis.results.sandbox.authorization.capture", results+1)
	msgs := p.Messages(t, subjects.StreamResults, "praxis.results.sandbox.authorization.capture")
	var last command.Result
	require.NoError(t, json.Unmarshal(msgs[len(msgs)-1].Data(), &last))
	assert.Equal(t, command.OutcomeOK, last.Outcome, last.Reason)
	assert.True(t, last.Reconciled, "the replay looked Praxis up before calling")
	assert.Equal(t, 1, s.Effects().Captures[tx.TID], "exactly one capture after the replay")

	// The command's timeline: the failure, the dead letter, the audited
	// replay with who and why, and the reconciled result.
	page = eventuallyShows(t, ctx, base+"timeline?q=cap-1",
		"dead letter", "audit", "dlq.replay", "alice", "Praxis answers again (test)", "reconciled", "replayed_from_dead_letter")
	assert.Contains(t, page, "outcome failed")
	assert.Contains(t, page, "outcome ok")
	screenshot(t, ctx, "timeline-replay")
	audits := p.Messages(t, subjects.StreamAudit, subjects.AllAudit)
	require.Len(t, audits, 2, "one record before the replay, one with its outcome")
	assert.Contains(t, string(audits[1].Data()), `"outcome":"done"`)

	// Streams and consumers with their lag.
	page = text(t, ctx, base+"streams")
	for _, want := range []string{subjects.StreamEvents, subjects.StreamDLQ, subjects.StreamAudit, subjects.ConsumerWorker, subjects.ConsumerLedger, subjects.ConsumerConsoleIndex, "pending (lag)"} {
		assert.Contains(t, page, want)
	}
	screenshot(t, ctx, "streams")

	// An operator sees an event's body with the auth token masked.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"timeline?q=order-1"),
		chromedp.Click(chromedp.CSS(`tr[data-label="deposit.approved"] td:last-child a`)), chromedp.WaitVisible(chromedp.ID("body"))))
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("body")))
	require.NoError(t, err)
	assert.Contains(t, body, `"tid"`)
	assert.NotContains(t, body, r.AuthToken, "the auth token is masked")
	screenshot(t, ctx, "message")
}

// waitFor waits until a stream holds more than n (default 0) messages on subject.
func waitFor(t *testing.T, p *proc.Process, stream, subject string, n ...uint64) {
	t.Helper()
	var floor uint64
	if len(n) > 0 {
		floor = n[0] - 1
	}
	tu.Eventually(t, 20*time.Second, 20*time.Millisecond, func() error {
		if c := p.Count(t, stream, subject); c <= floor {
			return fmt.Errorf("%s holds %d message(s) on %s", stream, c, subject)
		}
		return nil
	})
}
