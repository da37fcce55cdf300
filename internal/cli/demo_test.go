package cli

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// demoBlock returns the shell block between the README's demo markers.
func demoBlock(t *testing.T, readme string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "<!-- demo:start -->")
	require.True(t, ok, "README.md has no <!-- demo:start --> marker")
	block, _, ok := strings.Cut(rest, "<!-- demo:end -->")
	require.True(t, ok, "README.md has no <!-- demo:end --> marker")
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```sh")
	block = strings.TrimSuffix(block, "```")
	return block
}

// TestREADMEDemo starts `make run` as a newcomer would and runs the README's
// demo block, exactly as written, against it: a cashier session, the
// simulated customer paying, the deposit event and ledger credit, a refund,
// the refund event and ledger reversal. Ports are picked by the OS (the
// banner says which) and the data directory is temporary.
func TestREADMEDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts make run")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	block := demoBlock(t, string(raw))

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "make", "run")
	run.Dir = "../.."
	run.Env = append(cleanEnv(), "PRAXIS_EMBEDDED_NATS_LISTEN=127.0.0.1:0", "PRAXIS_INGRESS_LISTEN=127.0.0.1:0", "PRAXIS_ADMIN_LISTEN=127.0.0.1:0",
		"PRAXIS_SIM_LISTEN=127.0.0.1:0", "REBILLY_SIM_LISTEN=127.0.0.1:0", "PRAXIS_EMBEDDED_NATS_DIR="+t.TempDir())
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	run.Stderr = &tailWriter{t: t}
	stdout, err := run.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, run.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = run.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
		}
	})

	natsRE := regexp.MustCompile(`NATS\s+(nats://\S+)`)
	simRE := regexp.MustCompile(`simulator\s+(http://\S+)`)
	rsimRE := regexp.MustCompile(`rebilly\s+(http://\S+)`)
	var natsURL, simURL, rsimURL string
	banner := bufio.NewScanner(stdout)
	for banner.Scan() && (natsURL == "" || simURL == "" || rsimURL == "") {
		if m := rsimRE.FindStringSubmatch(banner.Text()); m != nil {
			rsimURL = m[1]
		}
		if m := natsRE.FindStringSubmatch(banner.Text()); m != nil {
			natsURL = m[1]
		}
		if m := simRE.FindStringSubmatch(banner.Text()); m != nil {
			simURL = m[1]
		}
	}
	require.NotEmpty(t, natsURL, "make run printed where NATS listens")
	require.NotEmpty(t, simURL, "make run printed where the simulator listens")
	require.NotEmpty(t, rsimURL, "make run printed where the Rebilly simulator listens")
	go func() { // keep draining the banner
		for banner.Scan() {
		}
	}()

	// The demo backgrounds `tail`: run it in its own process group and end
	// the whole group when the script is done.
	demo := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+block)
	demo.Dir = "../.."
	demo.Env = append(cleanEnv(), "NATS_URL="+natsURL, "SIM="+simURL, "RSIM="+rsimURL)
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf syncBuffer
	demo.Stdout, demo.Stderr = &buf, &buf
	demo.WaitDelay = 5 * time.Second
	require.NoError(t, demo.Start())
	err = demo.Wait()
	_ = syscall.Kill(-demo.Process.Pid, syscall.SIGTERM)
	out := buf.String()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The backgrounded tail still held the output pipe when bash
		// exited; what matters is bash's own exit status.
		err = nil
	}
	require.NoError(t, err, "the README demo failed:\n%s", out)
	require.Equal(t, 0, demo.ProcessState.ExitCode(), "the README demo failed:\n%s", out)
	for _, want := range []string{
		"praxis.events.sandbox.deposit.approved ",
		"praxis.ledger.sandbox.deposit.credited ",
		`"outcome": "ok"`,
		"praxis.events.sandbox.refund.approved ",
		"praxis.ledger.sandbox.deposit.reversed ",
		"rebilly.events.shop.deposit.approved ",
		"rebilly.ledger.shop.deposit.credited ",
	} {
		assert.Contains(t, out, want)
	}
}

// cleanEnv is the environment without settings that would point the demo
// at other infrastructure than the one `make run` starts.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NATS_URL", "REDIS_URL", "PRAXIS_BASE_URL", "PRAXIS_CONFIG", "SIM", "REBILLY_BASE_URL", "RSIM":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// tailWriter forwards a child's log to the test log (shown on failure).
type tailWriter struct{ t *testing.T }

func (w *tailWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
