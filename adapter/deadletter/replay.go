// Package deadletter re-publishes dead-lettered commands. The CLI's
// `dlq replay` and the operator console share it, so both keep the same
// promise: the command goes back unchanged, with its id, to the subject it
// came from, and the worker's idempotency record decides what happens (a
// command whose outcome was unknown reconciles with Praxis before any new
// call; one that succeeded meanwhile is answered from its record).
package deadletter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// HeaderReplayedFrom marks a command re-published from a dead letter; its
// value is the dead letter's sequence in the DLQ stream. The worker reads
// it (a replay always reconciles first), so the name is the worker's.
const HeaderReplayedFrom = worker.HeaderReplayedFrom

// Replayed says where a dead letter went.
type Replayed struct {
	// Subject is the command subject it was re-published to.
	Subject string
	// CommandID is the command's id, from the dead letter's headers.
	CommandID string
	// Sequence is the new message's sequence in the commands stream.
	Sequence uint64
}

// CommandSubject is the subject a dead letter's command came from: the
// header the worker wrote, or the one derived from the DLQ subject.
func CommandSubject(m *jetstream.RawStreamMsg) (string, error) {
	p, app, name, err := subjects.ParseAnyDeadLetter(m.Subject)
	if err != nil {
		return "", fmt.Errorf("dead letter %d: %w", m.Sequence, err)
	}
	subject := m.Header.Get(worker.HeaderDLQSubject)
	if subject == "" {
		subject = p.Command(app, name)
	}
	// A dead letter goes back to its own provider's commands only.
	if !strings.HasPrefix(subject, string(p)+".commands.") {
		return "", fmt.Errorf("dead letter %d: %q is not a command subject", m.Sequence, subject)
	}
	return subject, nil
}

// Replay re-publishes the dead-lettered command m, byte for byte, to its
// command subject and waits (at most 5 s) for the commands stream's PubAck.
func Replay(ctx context.Context, js jetstream.JetStream, m *jetstream.RawStreamMsg) (Replayed, error) {
	subject, err := CommandSubject(m)
	if err != nil {
		return Replayed{}, err
	}
	msg := &nats.Msg{Subject: subject, Data: m.Data, Header: nats.Header{}}
	msg.Header.Set(HeaderReplayedFrom, strconv.FormatUint(m.Sequence, 10))
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(pctx, msg, jetstream.WithExpectStream(subjects.StreamCommands))
	if err != nil {
		return Replayed{}, fmt.Errorf("re-publish to %s: %w", subject, err)
	}
	return Replayed{Subject: subject, CommandID: m.Header.Get(worker.HeaderDLQCommandID), Sequence: ack.Sequence}, nil
}
