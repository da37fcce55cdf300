package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/praxis-adapter/praxis-adapter/idempotency"
)

// RefundLinks remembers which deposit a refund order refunds, because a
// refund tid's notification does not say (API.md §7.1 lists no reference
// field): with the link, the ledger books the refund on its deposit, so a
// later chargeback reverses only what was not refunded. The worker writes
// the link before it calls /direct/refund, so it always exists before any
// notification of that refund.
type RefundLinks struct {
	records idempotency.Records
	prefix  string
}

// NewRefundLinks returns links stored in records under prefix (default
// DefaultKeyPrefix; it must match the service's KeyPrefix).
func NewRefundLinks(records idempotency.Records, prefix string) (*RefundLinks, error) {
	if records == nil {
		return nil, errors.New("ledger: NewRefundLinks: nil records")
	}
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return &RefundLinks{records: records, prefix: prefix}, nil
}

func (l *RefundLinks) key(app, orderID string) string {
	return l.prefix + app + ":refund-order:" + orderID
}

// depositKey marks a deposit that has at least one linked refund order.
func (l *RefundLinks) depositKey(app string, depositTID int64) string {
	return l.prefix + app + ":refunded-deposit:" + strconv.FormatInt(depositTID, 10)
}

// Link records that the refund with order id orderID refunds depositTID.
// Repeating it is harmless; linking the order to another deposit is an
// error (order ids are unique per application in Praxis).
func (l *RefundLinks) Link(ctx context.Context, app, orderID string, depositTID int64) error {
	if app == "" || orderID == "" || depositTID <= 0 {
		return fmt.Errorf("ledger: link refund: need an application, a refund order id and a positive deposit tid (got %q, %q, %d)", app, orderID, depositTID)
	}
	_, err := l.records.PutRecord(ctx, l.key(app, orderID), []byte(strconv.FormatInt(depositTID, 10)), 0, 0)
	if errors.Is(err, idempotency.ErrVersionConflict) {
		got, ok, lerr := l.Lookup(ctx, app, orderID)
		switch {
		case lerr != nil:
			return lerr
		case ok && got == depositTID:
			return nil
		}
		return fmt.Errorf("ledger: refund order %q of %s is already linked to deposit %d, not %d", orderID, app, got, depositTID)
	}
	if err != nil {
		return fmt.Errorf("ledger: link refund order %q of %s: %w", orderID, app, err)
	}
	// The deposit side, so a chargeback seen before the refund's own
	// notification waits for it instead of being held as if the refund
	// were unknown (HasLinkedRefund).
	if _, err := l.records.PutRecord(ctx, l.depositKey(app, depositTID), []byte("1"), 0, 0); err != nil && !errors.Is(err, idempotency.ErrVersionConflict) {
		return fmt.Errorf("ledger: link refund order %q of %s: mark its deposit: %w", orderID, app, err)
	}
	return nil
}

// HasLinkedRefund reports whether a refund order was linked to depositTID:
// the worker sent, or is about to send, a refund of it.
func (l *RefundLinks) HasLinkedRefund(ctx context.Context, app string, depositTID int64) (bool, error) {
	_, _, err := l.records.GetRecord(ctx, l.depositKey(app, depositTID))
	if errors.Is(err, idempotency.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ledger: refunds linked to deposit %d of %s: %w", depositTID, app, err)
	}
	return true, nil
}

// Lookup returns the deposit a refund order refunds, if linked.
func (l *RefundLinks) Lookup(ctx context.Context, app, orderID string) (int64, bool, error) {
	if orderID == "" {
		return 0, false, nil
	}
	raw, _, err := l.records.GetRecord(ctx, l.key(app, orderID))
	if errors.Is(err, idempotency.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("ledger: look up refund order %q of %s: %w", orderID, app, err)
	}
	tid, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || tid <= 0 {
		return 0, false, fmt.Errorf("ledger: refund order %q of %s: stored link %q is not a tid", orderID, app, raw)
	}
	return tid, true, nil
}
