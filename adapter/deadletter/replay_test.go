package deadletter

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"

	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
)

func TestCommandSubject(t *testing.T) {
	for _, tc := range []struct {
		name, dlq, header, want, err string
	}{
		{"praxis header", "praxis.dlq.shop.refund.create", "praxis.commands.frontend.refund.create", "praxis.commands.frontend.refund.create", ""},
		{"praxis derived", "praxis.dlq.shop.refund.create", "", "praxis.commands.shop.refund.create", ""},
		{"rebilly derived", "rebilly.dlq.shop.cashier.create", "", "rebilly.commands.shop.cashier.create", ""},
		{"rebilly header", "rebilly.dlq.shop.refund.create", "rebilly.commands.shop.refund.create", "rebilly.commands.shop.refund.create", ""},
		{"crosses providers", "rebilly.dlq.shop.refund.create", "praxis.commands.shop.refund.create", "", "is not a command subject"},
		{"not a command", "praxis.dlq.shop.refund.create", "praxis.ledger.shop.deposit.credited", "", "is not a command subject"},
		{"unknown provider", "stripe.dlq.shop.refund.create", "", "", "provider prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := nats.Header{}
			if tc.header != "" {
				h.Set(worker.HeaderDLQSubject, tc.header)
			}
			got, err := CommandSubject(&jetstream.RawStreamMsg{Subject: tc.dlq, Header: h, Sequence: 7})
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
