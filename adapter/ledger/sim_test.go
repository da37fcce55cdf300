package ledger

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// receiver stands in for the ingress (tested in its own package): it turns
// each simulator notification into the event the ingress publishes, with
// the ingress's dedup key, and acknowledges it only once stored.
func receiver(t *testing.T, e *env) *httptest.Server { return gatedReceiver(t, e, nil) }

// gatedReceiver is receiver with a gate: gate(typ, publish) may keep an
// event's publish for later (returning false) instead of storing it now.
func gatedReceiver(t *testing.T, e *env, gate func(typ string, publish func()) bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, err := praxis.Decode[praxis.Notification](raw)
		if err != nil || n.Transaction == nil {
			http.Error(w, "not a transaction notification", http.StatusBadRequest)
			return
		}
		tx, app := n.Transaction, subjects.AppName(n.ApplicationKey)
		status := praxis.NormalizeStatus(tx.TransactionStatus)
		typ := subjects.EventType(tx.TransactionType, n.Session.Intent, tx.WithdrawalRequestID != nil, true)
		id := fmt.Sprintf("%s:t:%d:%s:%d:%d:%s", app, tx.TID, status, *tx.Amount, *tx.ProcessedAmount, tx.Currency)
		data := cloudevent.Append(nil, cloudevent.Fields{ID: id, Source: "praxis/" + app, Type: "praxis." + typ + "." + status,
			Subject: strconv.FormatInt(tx.TID, 10), Time: time.Now(), Merchant: n.MerchantID, Application: app, Data: raw})
		publish := func() { e.raw(t, subjects.Event(app, typ, status), data, id) }
		if gate == nil || gate(typ, publish) {
			publish()
		}
		_, _ = fmt.Fprintf(w, `{"status":0,"description":"Ok","version":"1.3","timestamp":%d}`, time.Now().Unix())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSimulatorFlowsMatchItsBalances drives the simulator through a
// deposit partly refunded then charged back, a withdrawal completed then
// reversed, a cancelled withdrawal, an edited withdrawal and a split-mode
// withdrawal, and checks that the ledger's net per customer equals the
// simulator's balance movements; with its duplicate and out-of-order
// faults too.
func TestSimulatorFlowsMatchItsBalances(t *testing.T) {
	for _, faulty := range []bool{false, true} {
		t.Run(fmt.Sprintf("faults=%v", faulty), func(t *testing.T) {
			const merchant, secret = "Test-Integration-Merchant", "MerchantSecretKey"
			cfg := sim.Config{
				Applications: []sim.Application{
					{MerchantID: merchant, ApplicationKey: "Sandbox", Secrets: []string{secret}},
					{MerchantID: merchant, ApplicationKey: "Splitty", Secrets: []string{secret}, WithdrawalMode: sim.WithdrawalSplit},
				},
				ResendDelay: 20 * time.Millisecond, Seed: 7,
			}
			if faulty {
				cfg.Faults = sim.Faults{DuplicateRate: 0.5, OutOfOrderRate: 0.5, OutOfOrderHold: 30 * time.Millisecond}
			}
			s, err := sim.New(cfg, tu.Logger(t))
			require.NoError(t, err)
			simSrv := httptest.NewServer(s.Handler())
			t.Cleanup(func() { simSrv.Close(); _ = s.Close() })
			client, err := praxis.NewClient(praxis.ClientConfig{BaseURL: simSrv.URL, Timeout: 2 * time.Second})
			require.NoError(t, err)
			creds := func(key string) praxis.Credentials {
				return praxis.Credentials{MerchantID: merchant, ApplicationKey: key, Secrets: []string{secret}}
			}
			// The ledger confirms every notification with the simulator.
			lookup := PraxisLookup{Client: client, Credentials: map[string]praxis.Credentials{"sandbox": creds("Sandbox"), "splitty": creds("Splitty")}}
			e := newEnvLookup(t, kvStore, func(c *Config) {
				c.DebitOn = map[string]string{"sandbox": lifecycle.DebitOnRequested, "splitty": lifecycle.DebitOnInProgress}
			}, nil, lookup)
			hook := receiver(t, e)
			orders := 0
			open := func(key, intent string, amount int64) string {
				orders++
				req := praxis.SessionRequest{Intent: intent, Currency: "EUR", CID: "cust-" + key, Locale: "en-GB",
					NotificationURL: hook.URL, ReturnURL: "https://merchant.example/return", OrderID: fmt.Sprintf("o-%d", orders),
					CustomerToken: "87cfb23a8f1e68e162c276b754d9c061"}
				if amount > 0 {
					req.Amount = &amount
				}
				resp, err := client.CashierSession(t.Context(), creds(key), req)
				require.NoError(t, err)
				return resp.Session.AuthToken
			}
			// Without faults, the ledger catches up after each step, so it
			// sees (and Praxis' lookup reports) every milestone; under
			// faults it runs behind and folds milestones (same net).
			step := func() {
				if faulty {
					return
				}
				tu.Eventually(t, 10*time.Second, 5*time.Millisecond, func() error {
					if n := s.PendingNotifications(); n > 0 {
						return fmt.Errorf("%d notifications pending", n)
					}
					return nil
				})
				e.settle(t)
			}
			ctx := t.Context()
			complete := func(key string, w int64) {
				_, err := client.ManageWithdrawal(ctx, creds(key), praxis.ManageWithdrawalRequest{Intent: praxis.IntentCompleteWithdrawalRequest, WithdrawalRequestID: w, Gateway: "gw"})
				require.NoError(t, err)
			}

			// A deposit, partly refunded (the worker links the refund first), then charged back.
			dep, err := s.Pay(ctx, open("Sandbox", "payment", 10000), sim.PayOptions{PaymentMethod: "WireOnline", Fee: 100})
			require.NoError(t, err)
			tu.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
				if tx, _ := s.Transaction(dep.TID); tx.Status != "approved" {
					return fmt.Errorf("deposit is %s", tx.Status)
				}
				return nil
			})
			step()
			require.NoError(t, e.svc.Links().Link(ctx, "sandbox", "refund-1", dep.TID))
			_, err = client.Refund(ctx, creds("Sandbox"), praxis.RefundRequest{TransactionType: "refund", Currency: "EUR", Amount: 3000,
				CID: "cust-Sandbox", Locale: "en-GB", OrderID: "refund-1", ReferenceID: dep.TID})
			require.NoError(t, err)
			step()
			_, err = s.Chargeback(ctx, dep.TID)
			require.NoError(t, err)
			step()

			// A withdrawal completed, then reversed.
			w1, err := s.RequestWithdrawal(ctx, open("Sandbox", "withdrawal", 0), 4000)
			require.NoError(t, err)
			step()
			complete("Sandbox", w1.TID)
			step()
			_, err = s.ReversePayout(ctx, w1.TID)
			require.NoError(t, err)
			// A withdrawal cancelled.
			w2, err := s.RequestWithdrawal(ctx, open("Sandbox", "withdrawal", 0), 1500)
			require.NoError(t, err)
			step()
			_, err = client.ManageWithdrawal(ctx, creds("Sandbox"), praxis.ManageWithdrawalRequest{Intent: praxis.IntentCancelWithdrawalRequest, WithdrawalRequestID: w2.TID})
			require.NoError(t, err)
			// A withdrawal edited by the back office before authorization.
			w3, err := s.RequestWithdrawal(ctx, open("Sandbox", "withdrawal", 0), 2000)
			require.NoError(t, err)
			step()
			_, err = s.EditWithdrawal(ctx, w3.TID, sim.EditOptions{Amount: ptr(int64(1800)), Fee: ptr(int64(20))})
			require.NoError(t, err)
			_, err = s.AuthorizeWithdrawal(ctx, w3.TID)
			require.NoError(t, err)
			complete("Sandbox", w3.TID)
			// Split mode: the request is paid by a payout tid.
			w4, err := s.RequestWithdrawal(ctx, open("Splitty", "withdrawal", 0), 2500)
			require.NoError(t, err)
			complete("Splitty", w4.TID)

			tu.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
				if n := s.PendingNotifications(); n > 0 {
					return fmt.Errorf("%d notifications pending", n)
				}
				return nil
			})
			e.settle(t)
			got := e.ledger(t)
			net := map[string]int64{}
			for _, g := range got {
				net[g.Application+"/"+g.CID+"/"+g.Currency] += g.Signed()
			}
			want := map[string]int64{}
			for k, v := range s.Balances() {
				want[subjects.AppName(k.ApplicationKey)+"/"+k.CID+"/"+k.Currency] += v
			}
			assert.Equal(t, want, net, "ledger net per customer = simulator balances; ledger: %v", ids(got))
			assert.Equal(t, map[string]int64{"sandbox/cust-Sandbox/EUR": 10000 - 3000 - 7000 - 1800, "splitty/cust-Splitty/EUR": -2500}, net)
			if faulty {
				var dups, reordered int
				for _, d := range s.Deliveries() {
					if d.Duplicate {
						dups++
					}
					if d.OutOfOrder {
						reordered++
					}
				}
				assert.Positive(t, dups, "the duplicate fault fired")
				assert.Positive(t, reordered, "the out-of-order fault fired")
				return // reordering may fold the edit into the debit (same net)
			}
			slices.SortFunc(got, func(a, b stored) int { return compareIDs(a.ID, b.ID) })
			var lines []string
			for _, g := range got {
				lines = append(lines, fmt.Sprintf("%s %d", g.Kind, g.Amount))
			}
			assert.Equal(t, []string{
				"deposit.credited 10000", "deposit.reversed 3000", "deposit.reversed 7000", // dep: credit, refund, chargeback
				"payout.debited 4000", "payout.reversed 4000", // w1
				"payout.debited 1500", "payout.released 1500", // w2 (debited on requested)
				"payout.debited 2000", "payout.adjusted 1800", // w3: edited after the debit
				"payout.debited 2500", // w4, split
			}, lines)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// compareIDs orders by anchor (app, tid), then movement in booking order.
func compareIDs(a, b string) int {
	key := func(id string) string {
		parts := strings.SplitN(id, ":", 3)
		tid, _ := strconv.ParseInt(parts[1], 10, 64)
		ref := parts[2]
		if strings.HasPrefix(ref, "deposit.reversed:refund:") {
			ref = "deposit.reversed:refund"
		}
		rank := slices.Index([]string{"deposit.credited", "deposit.reversed:refund", "deposit.reversed:chargeback",
			"payout.debited", "payout.adjusted:1", "payout.released", "payout.reversed"}, ref)
		return fmt.Sprintf("%s/%012d/%d", parts[0], tid, rank)
	}
	return strings.Compare(key(a), key(b))
}
