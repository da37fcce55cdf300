package rebillysim

import (
	"errors"
	"fmt"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
)

// Errors the Go methods return; the test API maps them to 404, 409, 400.
var (
	// ErrNotFound means no resource has that id.
	ErrNotFound = errors.New("not found")
	// ErrInvalidState means the resource's state does not allow the action.
	ErrInvalidState = errors.New("not allowed in the current state")
	// ErrInvalidInput means an argument is unusable (amount outside the
	// deposit limits, wrong currency, ...).
	ErrInvalidInput = errors.New("invalid input")
)

// Deposit request statuses (API.md §5).
const (
	depCreated   = "created"
	depAttempted = "attempted"
	depCompleted = "completed"
	depExpired   = "expired"
)

// cashier is one customer-scoped cashier. Amounts are minor units.
type cashier struct {
	id, customerID, websiteID, currency string
	redirectURL, notificationURL        string
	minDeposit, maxDeposit              int64 // 0: no limit
	depositRequestID                    string
	token                               string
	created, expires, updated           time.Time
}

type depositRequest struct {
	id, cashierID, status string
	transactionIDs        []string
}

// txn is one transaction; amount in minor units.
type txn struct {
	id, typ, status, result           string
	amount                            int64
	currency                          string
	customerID, websiteID             string
	requestID, parentID               string
	children                          []string
	depositRequestID, payoutRequestID string
	notificationURL, redirectURL      string
	description                       string
	refunded                          int64
	revision                          int64
	created, updated, processed       time.Time
	history                           []string // status/result pairs, oldest first
}

type payoutRequest struct {
	id, customerID, websiteID, currency string
	amount                              int64
	status, description                 string
	paymentInstrumentID                 string
	canceledBy, cancelReason            string
	transactionID                       string
	created, updated                    time.Time
}

// Effects counts every state-changing effect actually applied, keyed by
// "<kind>:<resource id>" (cashier.create, transaction.create,
// payout.create, refund:<parent id>, payout_request.create,
// payout_request.cancel), and every call per operation, so a test can
// assert that a retried command ran exactly once.
type Effects struct {
	Applied map[string]int `json:"applied"`
	Calls   map[string]int `json:"calls"`
}

func newEffects() Effects { return Effects{Applied: map[string]int{}, Calls: map[string]int{}} }

func (e Effects) clone() Effects {
	out := newEffects()
	for k, v := range e.Applied {
		out.Applied[k] = v
	}
	for k, v := range e.Calls {
		out.Calls[k] = v
	}
	return out
}

// Total sums the effects whose key starts with kind ("refund", ...).
func (e Effects) Total(kind string) int {
	n := 0
	for k, v := range e.Applied {
		if len(k) > len(kind) && k[:len(kind)] == kind && k[len(kind)] == ':' {
			n += v
		}
	}
	return n
}

// wire renders a transaction as Rebilly sends it.
func (s *Simulator) wireTxn(t *txn) rebilly.Transaction {
	out := rebilly.Transaction{
		ID: t.id, Type: t.typ, Status: t.status, Result: t.result,
		Amount: rebilly.FromMinor(s.cur, t.amount, t.currency), Currency: t.currency,
		RequestAmount: rebilly.FromMinor(s.cur, t.amount, t.currency), RequestCurrency: t.currency,
		CustomerID: t.customerID, WebsiteID: t.websiteID, OrganizationID: s.cfg.OrganizationID,
		RequestID: t.requestID, ParentTransactionID: t.parentID, ChildTransactions: append([]string(nil), t.children...),
		DepositRequestID: t.depositRequestID, PayoutRequestID: t.payoutRequestID,
		GatewayName: "TestProcessor", Description: t.description, Revision: t.revision,
		NotificationURL: t.notificationURL, RedirectURL: t.redirectURL,
		CreatedTime: stamp(t.created), UpdatedTime: stamp(t.updated),
		Links: []rebilly.Link{{Rel: "self", Href: s.resourceURL("/transactions/" + t.id)}},
	}
	if !t.processed.IsZero() {
		out.ProcessedTime = stamp(t.processed)
	}
	if t.status == rebilly.StatusWaitingApproval {
		out.Links = append(out.Links, rebilly.Link{Rel: "approvalUrl", Href: "/sim/approve/" + t.id})
	}
	return out
}

func (s *Simulator) wireCashier(c *cashier) rebilly.Cashier {
	bal := s.balances[balanceKey{c.customerID, c.currency}]
	pending := s.pendingPayoutTotal(c.customerID, c.currency)
	out := rebilly.Cashier{
		ID: c.id, CustomerID: c.customerID, WebsiteID: c.websiteID, Currency: c.currency,
		RedirectURL: c.redirectURL, NotificationURL: c.notificationURL, ExpirationTime: stamp(c.expires),
		Balance: rebilly.FromMinor(s.cur, max(bal, 0), c.currency), BonusBalance: rebilly.FromMinor(s.cur, 0, c.currency),
		PendingPayoutTotal: rebilly.FromMinor(s.cur, pending, c.currency), CanWithdraw: bal > 0,
		LastDepositRequestID: c.depositRequestID, CreatedTime: stamp(c.created), UpdatedTime: stamp(c.updated),
		Links: []rebilly.Link{{Rel: "self", Href: s.resourceURL("/cashiers/" + c.id)}},
	}
	if d := s.deposits[c.depositRequestID]; d != nil && d.status != depCompleted && d.status != depExpired && s.now().Before(c.expires) {
		out.CashierToken = c.token
	}
	return out
}

func (s *Simulator) wirePayout(p *payoutRequest) rebilly.PayoutRequest {
	out := rebilly.PayoutRequest{
		ID: p.id, WebsiteID: p.websiteID, CustomerID: p.customerID, Currency: p.currency,
		Amount: rebilly.FromMinor(s.cur, p.amount, p.currency), Status: p.status, Description: p.description,
		PaymentInstrumentID: p.paymentInstrumentID, CreatedTime: stamp(p.created), UpdatedTime: stamp(p.updated),
		Links: []rebilly.Link{{Rel: "self", Href: s.resourceURL("/payout-requests/" + p.id)}},
	}
	if p.status == rebilly.PayoutPending || p.status == rebilly.PayoutReady {
		out.AvailableAmount = out.Amount
	}
	if p.status == rebilly.PayoutCanceled {
		out.CancellationReason = &rebilly.CancellationReason{CanceledBy: p.canceledBy, Description: p.cancelReason}
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// resourceURL is the org-scoped path of a resource (the simulator does not
// know its own host; a relative self link is enough for tests).
func (s *Simulator) resourceURL(path string) string {
	return "/organizations/" + s.cfg.OrganizationID + path
}

type balanceKey struct{ customer, currency string }

func (s *Simulator) pendingPayoutTotal(customer, currency string) int64 {
	var n int64
	for _, p := range s.payouts {
		if p.customerID == customer && p.currency == currency && p.status == rebilly.PayoutPending {
			n += p.amount
		}
	}
	return n
}

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
