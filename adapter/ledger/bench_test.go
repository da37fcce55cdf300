package ledger

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// BenchmarkCreditLatency is the time from an approved deposit's event
// being stored in PRAXIS_EVENTS to its deposit.credited instruction being
// stored in PRAXIS_LEDGER, one credit at a time, with the ledger
// confirming by a find-transaction lookup against the simulator over
// loopback HTTP ("confirmed") and booking as signed ("trusted"). The
// difference is what confirmation adds per credit. p50 and p99 are
// reported as extra metrics.
//
//	go test -run '^$' -bench CreditLatency -benchtime 300x ./adapter/ledger/
func BenchmarkCreditLatency(b *testing.B) {
	for _, mode := range []string{"trusted", "confirmed"} {
		b.Run(mode, func(b *testing.B) { benchCredit(b, mode == "trusted") })
	}
}

func benchCredit(b *testing.B, trust bool) {
	s, err := sim.New(sim.Config{Applications: []sim.Application{{MerchantID: testMerchant, ApplicationKey: "Sandbox", Secrets: []string{testSecret}}},
		NoNotifications: true, Seed: 3}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(func() { srv.Close(); _ = s.Close() })
	client, err := praxis.NewClient(praxis.ClientConfig{BaseURL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	creds := praxis.Credentials{MerchantID: testMerchant, ApplicationKey: "Sandbox", Secrets: []string{testSecret}}
	ctx := context.Background()
	// Approved deposits Praxis knows, one per credit.
	tids := make([]int64, b.N)
	for i := range tids {
		amount := int64(2500)
		resp, err := client.CashierSession(ctx, creds, praxis.SessionRequest{Intent: "payment", Currency: "EUR", Amount: &amount, CID: "c-1",
			Locale: "en-GB", NotificationURL: "http://127.0.0.1:1/unused", ReturnURL: "https://merchant.example/r", OrderID: fmt.Sprintf("bench-%d", i),
			CustomerToken: "87cfb23a8f1e68e162c276b754d9c061"})
		if err != nil {
			b.Fatal(err)
		}
		tx, err := s.Pay(ctx, resp.Session.AuthToken, sim.PayOptions{PaymentMethod: "WireOnline"})
		if err != nil {
			b.Fatal(err)
		}
		tids[i] = tx.TID
	}

	_, nc, js := tu.JetStream(b)
	_ = nc
	if err := subjects.EnsureStreams(ctx, js, subjects.StreamsConfig{Memory: true}); err != nil {
		b.Fatal(err)
	}
	records, err := idempotency.NewKV(ctx, js, idempotency.KVConfig{Storage: jetstream.MemoryStorage})
	if err != nil {
		b.Fatal(err)
	}
	// The lookup rate limit is lifted: this measures the lookup itself.
	cfg := Config{PullWait: 50 * time.Millisecond, DebitOn: map[string]string{"sandbox": "in_progress"}, LookupRate: 1e6, LookupBurst: 1000}
	if trust {
		cfg.Trust = map[string]bool{"sandbox": true}
	}
	reg := prometheus.NewRegistry()
	svc, err := New(cfg, Deps{JS: js, Records: records, Log: zerolog.Nop(), Registry: reg,
		Lookup: PraxisLookup{Client: client, Credentials: map[string]praxis.Credentials{"sandbox": creds}}})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = svc.Run(rctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	ledger, err := js.Stream(ctx, subjects.StreamLedger)
	if err != nil {
		b.Fatal(err)
	}

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i, tid := range tids {
		n := note{app: "sandbox", tid: tid, typ: "sale", intent: "payment", status: "approved", amount: 2500, order: fmt.Sprintf("bench-%d", i)}
		id := fmt.Sprintf("sandbox:t:%d:approved:2500:2500:EUR", tid)
		data := cloudevent.Append(nil, cloudevent.Fields{ID: id, Source: "praxis/sandbox", Type: "praxis.deposit.approved",
			Subject: fmt.Sprint(tid), Time: time.Now(), Merchant: testMerchant, Application: "sandbox", Data: body(n)})
		msg := &nats.Msg{Subject: subjects.Event("sandbox", "deposit", "approved"), Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, id)
		start := time.Now()
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			b.Fatal(err)
		}
		for {
			info, err := ledger.Info(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if info.State.Msgs >= uint64(i+1) {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if h := mf.GetMetric(); mf.GetName() == "praxis_ledger_lookup_seconds" && len(h) == 1 && h[0].GetHistogram().GetSampleCount() > 0 {
			hist := h[0].GetHistogram()
			b.ReportMetric(hist.GetSampleSum()/float64(hist.GetSampleCount())*1e6, "lookup-µs")
		}
	}
}
