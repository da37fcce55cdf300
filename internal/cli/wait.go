package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// runWait blocks until each subject holds at least one message in the
// streams, then prints the latest one per subject: scripts and the README's
// demo use it to wait for an event or a ledger instruction.
func runWait(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "wait", "[flags] <subject> [subject ...]\n\n"+
		"Waits until the streams hold a message on every subject (wildcards allowed),\n"+
		"then prints the newest one of each as <subject> <json>.")
	nf := addNATSFlags(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: name at least one subject", errUsage)
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	for _, subject := range fs.Args() {
		stream, err := streamFor(subject)
		if err != nil {
			return err
		}
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		for {
			m, err := s.GetLastMsgForSubject(ctx, subject)
			if err == nil {
				fmt.Fprintf(env.Stdout, "%s %s\n", m.Subject, strings.TrimSpace(string(m.Data)))
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("nothing on %s within %v", subject, *timeout)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// streamFor names the stream that stores subject.
func streamFor(subject string) (string, error) {
	if stream := subjects.StreamOf(subject); stream != "" {
		return stream, nil
	}
	return "", fmt.Errorf("%w: %s is not stored by any stream (<provider>.events, ledger, review, results, dlq, commands)", errUsage, subject)
}
