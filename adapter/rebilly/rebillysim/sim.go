package rebillysim

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// requestIDWindow is how long a requestId dedupes (API.md §8: 24 h).
const requestIDWindow = 24 * time.Hour

// Simulator is an in-process Rebilly organization. Its HTTP side is
// Handler; its Go side (PayDeposit, Finish, FulfillPayoutRequest, Effects,
// ...) lets tests play the customer and the gateway without HTTP. It is
// safe for concurrent use.
type Simulator struct {
	cfg    Config
	log    zerolog.Logger
	cur    money.Currencies
	rng    *simkit.RNG
	faults *simkit.FaultSet[Faults]
	client *http.Client
	mux    http.Handler

	mu         sync.Mutex // guards everything below
	cashiers   map[string]*cashier
	deposits   map[string]*depositRequest
	txns       map[string]*txn
	txnOrder   []string
	payouts    map[string]*payoutRequest
	requestIDs map[string]string // requestId → transaction id
	balances   map[balanceKey]int64
	effects    Effects
	window     time.Time // start of the rate-limit window
	used       int       // non-GET calls in the window

	// deliv runs the notification and webhook calls (one goroutine each)
	// and logs their attempts.
	deliv *simkit.Deliveries[Delivery]
}

// New validates cfg, applies its defaults and builds a simulator. Close it
// to stop deliveries.
func New(cfg Config, log zerolog.Logger) (*Simulator, error) {
	cfg.APIKeys = append([]string(nil), cfg.APIKeys...)
	cfg.Webhooks = append([]Webhook(nil), cfg.Webhooks...)
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Simulator{cfg: cfg, log: log.With().Str("component", "rebilly-sim").Logger(), rng: simkit.NewRNG(cfg.Seed)}
	if cfg.Currencies != nil {
		s.cur = *cfg.Currencies
	} else {
		s.cur, _ = money.NewCurrencies(nil)
	}
	s.resetState()
	s.faults = simkit.NewFaultSet(cfg.Faults, Faults.clone)
	s.client = cfg.HTTPClient
	if s.client == nil {
		s.client = &http.Client{Timeout: cfg.WebhookTimeout}
	}
	s.deliv = simkit.NewDeliveries(cfg.DeliveryLogLimit, func(d *Delivery, seq int64) { d.Seq = seq })
	s.mux = s.routes()
	return s, nil
}

func (s *Simulator) resetState() {
	s.cashiers = map[string]*cashier{}
	s.deposits = map[string]*depositRequest{}
	s.txns = map[string]*txn{}
	s.txnOrder = nil
	s.payouts = map[string]*payoutRequest{}
	s.requestIDs = map[string]string{}
	s.balances = map[balanceKey]int64{}
	s.effects = newEffects()
	s.window, s.used = time.Time{}, 0
}

// Handler serves the Rebilly API under /organizations/<id> (and org-less
// paths when allowed), the storefront reverse withdrawal and the /sim test
// API.
func (s *Simulator) Handler() http.Handler { return s.mux }

// Close stops every delivery and waits for the delivery goroutines. It is
// safe to call twice.
func (s *Simulator) Close() error {
	s.deliv.Close()
	return nil
}

// Reset forgets every resource, effect and delivery and stops pending
// deliveries.
func (s *Simulator) Reset() {
	s.mu.Lock()
	s.resetState()
	s.mu.Unlock()
	s.deliv.Reset(nil)
}

// SetFaults replaces the injected faults.
func (s *Simulator) SetFaults(f Faults) error { return s.faults.Set(f) }

// Faults returns the faults in force.
func (s *Simulator) Faults() Faults { return s.faults.Get() }

// Effects returns a copy of the effect and call counters.
func (s *Simulator) Effects() Effects {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.effects.clone()
}

// Transaction returns a transaction as GET /transactions/{id} would.
func (s *Simulator) Transaction(id string) (rebilly.Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.txns[id]
	if t == nil {
		return rebilly.Transaction{}, false
	}
	return s.wireTxn(t), true
}

// Transactions returns every transaction, oldest first.
func (s *Simulator) Transactions() []rebilly.Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]rebilly.Transaction, 0, len(s.txnOrder))
	for _, id := range s.txnOrder {
		out = append(out, s.wireTxn(s.txns[id]))
	}
	return out
}

// Cashier returns a cashier as GET /cashiers/{id} would.
func (s *Simulator) Cashier(id string) (rebilly.Cashier, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cashiers[id]
	if c == nil {
		return rebilly.Cashier{}, false
	}
	return s.wireCashier(c), true
}

// PayoutRequest returns a payout request as GET /payout-requests/{id} would.
func (s *Simulator) PayoutRequest(id string) (rebilly.PayoutRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payouts[id]
	if p == nil {
		return rebilly.PayoutRequest{}, false
	}
	return s.wirePayout(p), true
}

// Balance is the simulator's running balance of a customer in currency, in
// minor units: approved deposits, minus refunds, minus payout requests not
// cancelled, minus direct payouts (what Cashier.balance shows; where
// Rebilly takes it from is UNCONFIRMED).
func (s *Simulator) Balance(customerID, currency string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.balances[balanceKey{customerID, currency}]
}

func (s *Simulator) now() time.Time { return s.cfg.Now() }

// newID makes a Rebilly-looking id: prefix and 26 Crockford base-32
// characters.
func (s *Simulator) newID(prefix string) string { return prefix + s.rng.Base32(26) }

// newTxn registers a transaction at revision 1.
func (s *Simulator) newTxn(t *txn) *txn {
	now := s.now()
	t.id = s.newID("txn_")
	t.created, t.updated, t.revision = now, now, 1
	t.history = []string{t.status + "/" + t.result}
	if rebilly.FinalResult(t.result) {
		t.processed = now
	}
	s.txns[t.id] = t
	s.txnOrder = append(s.txnOrder, t.id)
	s.moneyMoved(t, "", t.result)
	return t
}

// change moves t to status/result, bumps its revision and queues what
// Rebilly sends: the notificationUrl call once a result is final, and
// webhooks.
func (s *Simulator) change(t *txn, status, result, event string) {
	before := t.result
	t.status, t.result = status, result
	t.revision++
	t.updated = s.now()
	if rebilly.FinalResult(result) && t.processed.IsZero() {
		t.processed = t.updated
	}
	t.history = append(t.history, status+"/"+result)
	s.moneyMoved(t, before, result)
	if rebilly.FinalResult(result) && !rebilly.FinalResult(before) {
		s.notifyLocked(t)
	}
	s.webhookLocked(event, t, nil)
}

// moneyMoved keeps the running balances in step with a result change.
func (s *Simulator) moneyMoved(t *txn, before, after string) {
	if before == rebilly.ResultApproved || after != rebilly.ResultApproved {
		return
	}
	k := balanceKey{t.customerID, t.currency}
	switch t.typ {
	case rebilly.TypeSale, rebilly.TypeCapture:
		s.balances[k] += t.amount
	case rebilly.TypeRefund:
		s.balances[k] -= t.amount
	case rebilly.TypeCredit:
		if t.payoutRequestID == "" { // a payout request's credit was held at request time
			s.balances[k] -= t.amount
		}
	}
}

// sortedPayouts lists payout requests oldest first.
func (s *Simulator) sortedPayouts() []*payoutRequest {
	out := make([]*payoutRequest, 0, len(s.payouts))
	for _, p := range s.payouts {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.Before(out[j].created)
		}
		return out[i].id < out[j].id
	})
	return out
}
