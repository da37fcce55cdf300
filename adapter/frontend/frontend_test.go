package frontend

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/ingress"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// eachStore runs f against both Records implementations.
func eachStore(t *testing.T, f func(t *testing.T, rec idempotency.Records)) {
	t.Run("redis", func(t *testing.T) {
		p := tu.Prefix(t)
		rec, err := idempotency.NewRedis(tu.Redis(t), idempotency.RedisConfig{Prefix: p + "idem:", RecordsPrefix: p + "rec:"})
		require.NoError(t, err)
		f(t, rec)
	})
	t.Run("kv", func(t *testing.T) {
		_, _, js := tu.JetStream(t)
		rec, err := idempotency.NewKV(t.Context(), js, idempotency.KVConfig{Storage: jetstream.MemoryStorage})
		require.NoError(t, err)
		f(t, rec)
	})
}

// The seed's example (LEGACY_PLATFORM.md §2), plus a second website and an
// application without front ends.
func table() []Frontend {
	return FrontendsOf([]config.Application{
		{Name: "mpc-eur", Frontends: []config.Frontend{{Website: "MyPhoneCards", Currency: "EUR"}}},
		{Name: "mpc-usd", Frontends: []config.Frontend{{Website: "MyPhoneCards", Currency: "USD"}}},
		{Name: "mpc-gbp", Frontends: []config.Frontend{{Website: "MyPhoneCards", Currency: "GBP"}}},
		{Name: "other-eur", Frontends: []config.Frontend{{Website: "OtherSite", Currency: "EUR"}}},
		{Name: "solo"},
	})
}

func TestResolve(t *testing.T) {
	r, err := NewRouter(RouterConfig{Frontends: table()}, fakeRecords{})
	require.NoError(t, err)
	tests := []struct {
		website, currency, want string
	}{
		{"MyPhoneCards", "EUR", "mpc-eur"},
		{"MyPhoneCards", "usd", "mpc-usd"},
		{"OtherSite", "EUR", "other-eur"},
	}
	for _, tt := range tests {
		got, err := r.Resolve(t.Context(), tt.website, tt.currency)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%s/%s", tt.website, tt.currency)
	}
	_, err = r.Resolve(t.Context(), "OtherSite", "USD")
	var nf *worker.NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, `no application serves website "OtherSite" in currency USD`, err.Error())
}

func TestNewRouterRefusesABadTable(t *testing.T) {
	tests := []struct {
		name string
		fes  []Frontend
		want string
	}{
		{"pair twice", []Frontend{{"S", "EUR", "a"}, {"S", "EUR", "b"}}, "frontends[1]: S/EUR is already served by a"},
		{"bad currency", []Frontend{{"S", "euro", "a"}}, `currency "euro" is not an ISO 4217 code`},
		{"no website", []Frontend{{"", "EUR", "a"}}, "website and application are required"},
		{"colon in website", []Frontend{{"a:b", "EUR", "a"}}, "must not contain ':'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRouter(RouterConfig{Frontends: tt.fes}, fakeRecords{})
			assert.ErrorContains(t, err, tt.want)
		})
	}
	_, err := NewRouter(RouterConfig{}, nil)
	assert.ErrorContains(t, err, "nil records")
}

func TestCurrencyIsFixedOnceSeen(t *testing.T) {
	eachStore(t, func(t *testing.T, rec idempotency.Records) {
		r, err := NewRouter(RouterConfig{Frontends: table(), KeyPrefix: tu.Prefix(t)}, rec)
		require.NoError(t, err)
		steps := []struct {
			app, cid, currency, want string
		}{
			{"mpc-eur", "Bigdaddy", "EUR", ""},
			{"mpc-eur", "Bigdaddy", "eur", ""},
			{"mpc-usd", "Bigdaddy", "USD", "customer Bigdaddy is registered in EUR; this command is in USD (a customer's currency is fixed when first seen); use application mpc-eur, which serves MyPhoneCards in EUR"},
			{"mpc-eur", "Bigdaddy", "GBP", "customer Bigdaddy is registered in EUR; this command is in GBP (a customer's currency is fixed when first seen); use application mpc-eur, which serves MyPhoneCards in EUR"},
			{"mpc-usd", "NeverDull", "USD", ""},
			{"other-eur", "NeverDull", "EUR", ""}, // another website, another customer record
			{"solo", "Bigdaddy", "JPY", ""},       // no front ends: locked per application
			{"solo", "Bigdaddy", "EUR", "customer Bigdaddy is registered in JPY; this command is in EUR (a customer's currency is fixed when first seen)"},
			{"mpc-eur", "Win4Real", "euro", `currency "EURO" is not an ISO 4217 code like EUR`},
		}
		for i, s := range steps {
			got, err := r.CheckCurrency(t.Context(), s.app, s.cid, s.currency)
			require.NoError(t, err, "step %d", i)
			assert.Equal(t, s.want, got, "step %d: %s %s %s", i, s.app, s.cid, s.currency)
		}
		raw, _, err := rec.GetRecord(t.Context(), r.LockKey("mpc-gbp", "Bigdaddy"))
		require.NoError(t, err, "one lock per website, whichever application locked it")
		assert.Equal(t, "EUR", string(raw))
	})
}

func TestConcurrentFirstCommandsAgreeOnOneCurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, rec idempotency.Records) {
		r, err := NewRouter(RouterConfig{Frontends: table(), KeyPrefix: tu.Prefix(t)}, rec)
		require.NoError(t, err)
		currencies := []string{"EUR", "USD", "GBP"}
		reasons := make([]string, 30)
		var wg sync.WaitGroup
		for i := range reasons {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reason, err := r.CheckCurrency(context.Background(), "mpc-eur", "racer", currencies[i%3])
				assert.NoError(t, err)
				reasons[i] = reason
			}()
		}
		wg.Wait()
		raw, _, err := rec.GetRecord(t.Context(), r.LockKey("mpc-eur", "racer"))
		require.NoError(t, err)
		for i, reason := range reasons {
			if currencies[i%3] == string(raw) {
				assert.Empty(t, reason, "command %d in the locked currency", i)
			} else {
				assert.Contains(t, reason, "is registered in "+string(raw), "command %d", i)
			}
		}
	})
}

func TestCurrencyLockStoreFailureIsAnError(t *testing.T) {
	r, err := NewRouter(RouterConfig{Frontends: table()}, fakeRecords{err: errors.New("redis down")})
	require.NoError(t, err)
	_, err = r.CheckCurrency(t.Context(), "mpc-eur", "Bigdaddy", "EUR")
	assert.ErrorContains(t, err, "redis down")
}

func i64(v int64) *int64 { return &v }

func TestSessionRules(t *testing.T) {
	eachStore(t, func(t *testing.T, rec idempotency.Records) {
		rules, err := NewSessionRules(SessionRulesConfig{KeyPrefix: tu.Prefix(t)}, rec)
		require.NoError(t, err)
		sessions := []*command.Session{
			{Intent: "payment", Currency: "EUR", Amount: i64(1000), CID: "c1", OrderID: "fixed"},
			{Intent: "withdrawal", Currency: "EUR", Balance: i64(5000), CID: "c1", OrderID: "balance"},
			{Intent: "withdrawal", Currency: "EUR", Amount: i64(2000), Balance: i64(5000), CID: "c1", OrderID: "fixed-withdrawal"},
			{Intent: "payment", Currency: "JPY", Amount: i64(1500), CID: "c1", OrderID: "yen"},
			{Intent: "payment", Currency: "EUR", CID: "c1", OrderID: "free"},
			{Intent: "payment", Currency: "EUR", Balance: i64(10), CID: "c1", OrderID: "deposit-with-balance"},
		}
		for _, s := range sessions {
			require.NoError(t, rules.RecordSession(t.Context(), "shop", s))
		}
		type verdict struct {
			ok     bool
			status int
			desc   string
		}
		tests := []struct {
			name string
			app  string
			att  ingress.ValidationAttempt
			want verdict
		}{
			{"fixed amount, another amount", "shop", ingress.ValidationAttempt{OrderID: "fixed", Intent: "payment", Currency: "EUR", Amount: i64(1200)},
				verdict{true, 1, "This payment must be exactly 10.00 EUR; 12.00 EUR was entered."}},
			{"fixed amount, that amount: ask the CRM", "shop", ingress.ValidationAttempt{OrderID: "fixed", Intent: "payment", Currency: "EUR", Amount: i64(1000)},
				verdict{}},
			{"withdrawal above the balance", "shop", ingress.ValidationAttempt{OrderID: "balance", Intent: "withdrawal", Currency: "EUR", Amount: i64(6000)},
				verdict{true, 1, "The withdrawal of 60.00 EUR exceeds your available balance of 50.00 EUR."}},
			{"withdrawal of the whole balance: ask the CRM", "shop", ingress.ValidationAttempt{OrderID: "balance", Intent: "withdrawal", Currency: "EUR", Amount: i64(5000)},
				verdict{}},
			{"fixed withdrawal, another amount", "shop", ingress.ValidationAttempt{OrderID: "fixed-withdrawal", Intent: "withdrawal", Currency: "EUR", Amount: i64(1000)},
				verdict{true, 1, "This withdrawal must be exactly 20.00 EUR; 10.00 EUR was entered."}},
			{"zero-decimal currency", "shop", ingress.ValidationAttempt{OrderID: "yen", Currency: "JPY", Amount: i64(1600)},
				verdict{true, 1, "This payment must be exactly 1500 JPY; 1600 JPY was entered."}},
			{"no amount fixed: ask the CRM", "shop", ingress.ValidationAttempt{OrderID: "free", Intent: "payment", Currency: "EUR", Amount: i64(1)},
				verdict{}},
			{"a deposit's balance is no rule", "shop", ingress.ValidationAttempt{OrderID: "deposit-with-balance", Intent: "payment", Currency: "EUR", Amount: i64(99)},
				verdict{}},
			{"unknown order: ask the CRM", "shop", ingress.ValidationAttempt{OrderID: "nope", Currency: "EUR", Amount: i64(1)},
				verdict{}},
			{"same order id, other application", "other", ingress.ValidationAttempt{OrderID: "fixed", Currency: "EUR", Amount: i64(1200)},
				verdict{}},
			{"other currency: ask the CRM", "shop", ingress.ValidationAttempt{OrderID: "fixed", Currency: "USD", Amount: i64(1200)},
				verdict{}},
			{"other intent: ask the CRM", "shop", ingress.ValidationAttempt{OrderID: "fixed", Intent: "withdrawal", Currency: "EUR", Amount: i64(1200)},
				verdict{}},
			{"no amount in the attempt: ask the CRM", "shop", ingress.ValidationAttempt{OrderID: "fixed", Currency: "EUR"},
				verdict{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				reply, ok, err := rules.Decide(t.Context(), tt.app, tt.att)
				require.NoError(t, err)
				assert.Equal(t, tt.want, verdict{ok, reply.Status, reply.Description})
			})
		}
	})
}

func TestSessionRulesKeepRecordsPastAPaymentLink(t *testing.T) {
	spy := &ttlSpy{Records: fakeRecords{}}
	rules, err := NewSessionRules(SessionRulesConfig{}, spy)
	require.NoError(t, err)
	require.NoError(t, rules.RecordSession(t.Context(), "shop", &command.Session{Intent: "payment", Currency: "EUR", Amount: i64(1), OrderID: "o"}))
	assert.Equal(t, []time.Duration{73 * time.Hour}, spy.ttls)

	assert.ErrorContains(t, rules.RecordSession(t.Context(), "shop", nil), "nil session")
	assert.ErrorContains(t, rules.RecordSession(t.Context(), "shop", &command.Session{Amount: i64(1)}), "no order_id")

	failing, err := NewSessionRules(SessionRulesConfig{}, fakeRecords{err: errors.New("redis down")})
	require.NoError(t, err)
	_, ok, err := failing.Decide(t.Context(), "shop", ingress.ValidationAttempt{OrderID: "o", Amount: i64(1)})
	assert.False(t, ok)
	assert.ErrorContains(t, err, "redis down", "the ingress logs it and asks the CRM")
}

// fakeRecords is empty (or failing) storage for the tests that need no backend.
type fakeRecords struct{ err error }

func (f fakeRecords) GetRecord(context.Context, string) ([]byte, uint64, error) {
	if f.err != nil {
		return nil, 0, f.err
	}
	return nil, 0, idempotency.ErrNotFound
}

func (f fakeRecords) PutRecord(context.Context, string, []byte, uint64, time.Duration) (uint64, error) {
	if f.err != nil {
		return 0, f.err
	}
	return 1, nil
}

type ttlSpy struct {
	idempotency.Records
	ttls []time.Duration
}

func (s *ttlSpy) PutRecord(ctx context.Context, key string, value []byte, version uint64, ttl time.Duration) (uint64, error) {
	s.ttls = append(s.ttls, ttl)
	return s.Records.PutRecord(ctx, key, value, version, ttl)
}
