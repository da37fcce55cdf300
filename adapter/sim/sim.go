package sim

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// firstTID is where the tid counter starts, so simulated tids look like
// Praxis' seven-digit ones.
const firstTID = 1_000_000

// Simulator is an in-process Praxis. Its HTTP side is Handler; its Go side
// (Pay, RequestWithdrawal, Effects, ...) lets tests act as the customer or
// the back office without HTTP. It is safe for concurrent use.
type Simulator struct {
	cfg    Config
	log    zerolog.Logger
	lists  praxis.Lists
	common *praxis.Paths // merchant_id, application_key, timestamp, version
	reply  *praxis.Paths // status, description of a webhook reply
	rng    *simkit.RNG
	faults *simkit.FaultSet[Faults]
	client *http.Client
	mux    *http.ServeMux
	apps   map[string]*appState // by application key; the map itself never changes
	merch  map[string]bool
	calls  map[string]*atomic.Int64 // per endpoint path; the map never changes

	mu      sync.Mutex // guards the apps' state, nextTID and effects
	nextTID int64
	effects Effects

	// deliv runs the notifications and logs them; its lock also guards
	// lanes and sent. Its pending count is of notifications queued or being
	// delivered.
	deliv *simkit.Deliveries[Delivery]
	lanes map[string]*lane
	sent  map[int64]sentNote // the latest genuine notification of each tid, for Forge
	slots chan struct{}      // one per webhook call in flight
}

// New validates cfg, applies its defaults and builds a simulator. Close it
// to stop webhook deliveries.
func New(cfg Config, log zerolog.Logger) (*Simulator, error) {
	cfg.Applications = append([]Application(nil), cfg.Applications...)
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Simulator{
		cfg:     cfg,
		log:     log.With().Str("component", "praxis-sim").Logger(),
		common:  praxis.CompilePaths("merchant_id", "application_key", "timestamp", "version"),
		reply:   praxis.CompilePaths("status", "description"),
		rng:     simkit.NewRNG(cfg.Seed),
		apps:    make(map[string]*appState, len(cfg.Applications)),
		merch:   make(map[string]bool),
		nextTID: cfg.FirstTID,
		effects: newEffects(),
		lanes:   make(map[string]*lane),
		sent:    make(map[int64]sentNote),
		calls:   make(map[string]*atomic.Int64, len(knownPaths)),
		slots:   make(chan struct{}, cfg.MaxConcurrentDeliveries),
	}
	for _, p := range knownPaths {
		s.calls[p] = new(atomic.Int64)
	}
	if cfg.Lists != nil {
		s.lists = *cfg.Lists
	} else {
		s.lists = praxis.DefaultLists()
	}
	for _, a := range cfg.Applications {
		a.Secrets = append([]string(nil), a.Secrets...)
		s.apps[a.ApplicationKey] = newAppState(a)
		s.merch[a.MerchantID] = true
	}
	s.faults = simkit.NewFaultSet(cfg.Faults, Faults.clone)
	s.client = cfg.HTTPClient
	if s.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 512
		t.MaxIdleConnsPerHost = 256
		s.client = &http.Client{Transport: t, Timeout: cfg.WebhookTimeout}
	}
	s.deliv = simkit.NewDeliveries(cfg.DeliveryLogLimit, func(d *Delivery, seq int64) { d.Seq = seq })
	s.mux = s.routes()
	return s, nil
}

// Handler serves the Praxis API, the cashier page and the /sim test API.
func (s *Simulator) Handler() http.Handler { return s.mux }

// Close stops every webhook delivery and waits for the delivery goroutines.
// Notifications not yet delivered are dropped. It is safe to call twice.
func (s *Simulator) Close() error {
	s.deliv.Close()
	return nil
}

// Reset forgets every session, transaction, effect and delivery, and stops
// pending deliveries. The tid counter keeps counting, so a tid is never
// reused while a consumer may still remember it.
func (s *Simulator) Reset() {
	s.mu.Lock()
	for _, a := range s.apps {
		a.reset()
	}
	s.effects = newEffects()
	for _, c := range s.calls {
		c.Store(0)
	}
	s.mu.Unlock()

	s.deliv.Reset(func() {
		s.lanes = make(map[string]*lane)
		s.sent = make(map[int64]sentNote)
	})
}

// SetFaults replaces the injected faults; it is how tests switch a fault on
// in the middle of a flow.
func (s *Simulator) SetFaults(f Faults) error { return s.faults.Set(f) }

// Faults returns the faults in force.
func (s *Simulator) Faults() Faults { return s.faults.Get() }

// State returns a snapshot of every application's sessions and transactions.
func (s *Simulator) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := State{Applications: make([]AppState, 0, len(s.apps))}
	for _, a := range s.cfg.Applications {
		out.Applications = append(out.Applications, s.apps[a.ApplicationKey].snapshot())
	}
	return out
}

// Transaction returns a snapshot of one transaction.
func (s *Simulator) Transaction(tid int64) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findTx(tid)
	if t == nil {
		return Transaction{}, false
	}
	return t.snapshot(), true
}

// Session returns a snapshot of one session by its auth_token.
func (s *Simulator) Session(authToken string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.findSession(authToken)
	if se == nil {
		return Session{}, false
	}
	return se.snapshot(), true
}

// Effects returns a copy of the effect and call counters.
func (s *Simulator) Effects() Effects {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.effects.clone()
	for p, c := range s.calls {
		if n := c.Load(); n > 0 {
			e.Calls[p] = int(n)
		}
	}
	return e
}

// Balances returns the net movement of every wallet that has seen money
// move, as implied by final statuses (zero when it netted out).
func (s *Simulator) Balances() map[BalanceKey]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[BalanceKey]int64)
	for _, a := range s.apps {
		for _, t := range a.txs {
			if m, ok := t.movement(); ok {
				out[BalanceKey{a.app.ApplicationKey, t.sess.cid, t.currency}] += m
			}
		}
	}
	return out
}

// BalanceList is Balances as a list sorted by application, cid, currency.
func (s *Simulator) BalanceList() []Balance {
	m := s.Balances()
	out := make([]Balance, 0, len(m))
	for k, v := range m {
		out = append(out, Balance{k.ApplicationKey, k.CID, k.Currency, v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ApplicationKey != b.ApplicationKey {
			return a.ApplicationKey < b.ApplicationKey
		}
		if a.CID != b.CID {
			return a.CID < b.CID
		}
		return a.Currency < b.Currency
	})
	return out
}

func (s *Simulator) findTx(tid int64) *tx {
	for _, a := range s.apps {
		if t := a.txs[tid]; t != nil {
			return t
		}
	}
	return nil
}

func (s *Simulator) findSession(token string) *session {
	for _, a := range s.apps {
		if se := a.sessions[token]; se != nil {
			return se
		}
	}
	return nil
}

func (s *Simulator) now() time.Time { return s.cfg.Now() }

// newTx allocates a tid and registers the transaction with its session.
func (s *Simulator) newTx(se *session, typ string, amount int64) *tx {
	s.nextTID++
	t := &tx{
		tid: s.nextTID, typ: typ, sess: se, currency: se.currency, amount: amount,
		paymentMethod: se.paymentMethod, gateway: se.gateway,
	}
	if t.paymentMethod == "" {
		t.paymentMethod = creditCard
	}
	if t.gateway == "" {
		t.gateway = simGateway
	}
	se.app.txs[t.tid] = t
	se.tids = append(se.tids, t.tid)
	return t
}

// setStatus moves t to status and queues its notification.
func (s *Simulator) setStatus(t *tx, status string) {
	t.status = status
	t.history = append(t.history, status)
	s.notifyLocked(t)
}

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
