package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// notificationBody is a ~1.5 KB approved-deposit notification shaped like
// the simulator's (and SIGNATURE.md's V3).
func notificationBody(tid int64, ts int64) []byte {
	return fmt.Appendf(nil, `{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","conversion_rate":"1.000000",`+
		`"customer":{"customer_token":"87cfb23a8f1e68e162c276b754d9c061","country":"GB","first_name":"John","last_name":"Johnson","avs_alert":0,"verification_alert":null},`+
		`"session":{"auth_token":"8a7sd87a8sd778ac961062c6bedddb8","intent":"payment","session_status":"successful","order_id":"bench-%d","currency":"EUR","amount":2500,`+
		`"conversion_rate":"1.000000","processed_currency":"EUR","processed_amount":2500,"payment_method":"Credit Card","gateway":"s-pTSZyK23E1Ee5KZpcNbX_aFl0HuhQ0","cid":"cust-%d",`+
		`"variable1":"campaign-autumn","variable2":null,"variable3":null},`+
		`"transaction":{"transaction_type":"sale","transaction_status":"approved","tid":%d,"transaction_id":"psp-%d","currency":"EUR","amount":2500,"conversion_rate":"1.000000",`+
		`"processed_currency":"EUR","processed_amount":2500,"fee":25,"fee_included":false,"fee_type":"fixed","payment_method":"Credit Card","payment_processor":"WireCard8",`+
		`"gateway":"s-pTSZyK23E1Ee5KZpcNbX_aFl0HuhQ0","card":{"card_token":"c0ffee00c0ffee00c0ffee00c0ffee00","card_type":"VISA","card_number":"411111******1111",`+
		`"card_exp":"12/2030","card_issuer_name":"Bench Bank","card_issuer_country":"GB","card_funding_source":"credit","card_subtype":"classic"},`+
		`"wallet":null,"mit":null,"status_code":"00","status_details":"Approved by the issuer","redirect_url":null},"version":"1.3","timestamp":%d}`,
		tid, tid%997, tid, tid, ts)
}

// ingressPlan is the pre-built traffic of one concurrency level: requests
// are serialised once, so the run measures the adapter, not the generator.
type ingressPlan struct {
	reqs        [][]byte
	want        []int // expected Praxis status per request: 0 or -1
	uniqueValid int
}

func buildIngressPlan(host string, firstTID int64, n int, dupShare, badShare float64, secret string, rnd *rand.Rand) ingressPlan {
	lists := praxis.DefaultLists().Get(praxis.ListNotificationRequest)
	ts := time.Now().Unix()
	p := ingressPlan{}
	var sent [][]byte
	tid := firstTID
	for i := 0; i < n; i++ {
		r := rnd.Float64()
		switch {
		case r < badShare:
			body := notificationBody(tid, ts)
			tid++
			sig, _ := lists.Sign(body, secret)
			bad := []byte(sig.String())
			bad[0] ^= 1 // still hex, wrong
			p.reqs = append(p.reqs, buildRequest(host, "/praxis/notification", body, map[string]string{praxis.HeaderSignature: string(bad)}))
			p.want = append(p.want, -1)
		case r < badShare+dupShare && len(sent) > 0:
			p.reqs = append(p.reqs, sent[rnd.IntN(len(sent))])
			p.want = append(p.want, 0)
		default:
			body := notificationBody(tid, ts)
			tid++
			sig, _ := lists.Sign(body, secret)
			req := buildRequest(host, "/praxis/notification", body, map[string]string{praxis.HeaderSignature: sig.String()})
			p.reqs = append(p.reqs, req)
			p.want = append(p.want, 0)
			sent = append(sent, req)
			p.uniqueValid++
		}
	}
	return p
}

// loadResult is what one level measured.
type loadResult struct {
	concurrency int
	requests    int
	elapsed     time.Duration
	latencies   []time.Duration // sorted
	byStatus    map[string]int
	wrong       int // answers other than the expected status
	errors      int
}

func (r loadResult) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r loadResult) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(r.latencies)-1))
	return r.latencies[i]
}

// runIngressLoad sends the plan over `concurrency` keep-alive connections.
func runIngressLoad(ctx context.Context, addr string, plan ingressPlan, concurrency int, maxTime time.Duration) (loadResult, error) {
	var next atomic.Int64
	next.Store(-1)
	res := loadResult{concurrency: concurrency, byStatus: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(maxTime)
	start := time.Now()
	var firstErr error
	for w := 0; w < concurrency; w++ {
		c, err := dial(addr)
		if err != nil {
			return res, fmt.Errorf("connect to the ingress: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			lat := make([]time.Duration, 0, len(plan.reqs)/concurrency+1)
			counts := map[string]int{}
			wrong, errs := 0, 0
			var werr error
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1))
				if i >= len(plan.reqs) {
					break
				}
				t0 := time.Now()
				code, body, err := c.do(plan.reqs[i])
				lat = append(lat, time.Since(t0))
				if err != nil {
					errs++
					werr = err
					break
				}
				st, _ := replyStatus(body)
				counts[fmt.Sprintf("HTTP %d / status %d", code, st)]++
				if st != plan.want[i] {
					wrong++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat...)
			for k, v := range counts {
				res.byStatus[k] += v
			}
			res.wrong += wrong
			res.errors += errs
			if werr != nil && firstErr == nil {
				firstErr = werr
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.latencies)
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	if res.requests < len(plan.reqs) && firstErr == nil && ctx.Err() == nil {
		firstErr = fmt.Errorf("only %d of %d requests within %v", res.requests, len(plan.reqs), maxTime)
	}
	return res, firstErr
}

// streamCount is the number of messages the events stream holds.
func streamCount(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	s, err := js.Stream(ctx, subjects.StreamEvents)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Host
}
