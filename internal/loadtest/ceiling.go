package loadtest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// ceilingJetStream is raw JetStream sync publishing of envelopes the size
// the ingress publishes, with the same concurrency, from one process, into
// a stream configured like the events stream: what the ingress could reach
// if verifying, deduplicating and HTTP cost nothing.
func ceilingJetStream(ctx context.Context, nc *nats.Conn, concurrency, n, size int) (float64, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	name := "BENCH_CEILING"
	_ = js.DeleteStream(ctx, name)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"bench.ceiling.>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}); err != nil {
		return 0, err
	}
	defer func() { _ = js.DeleteStream(context.Background(), name) }()
	data := make([]byte, size)
	for i := range data {
		data[i] = 'x'
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				msg := &nats.Msg{Subject: "bench.ceiling.deposit.approved", Data: data, Header: nats.Header{}}
				msg.Header.Set(jetstream.MsgIDHeader, "ceiling:"+strconv.FormatInt(i, 10))
				if _, err := js.PublishMsg(ctx, msg); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), firstErr
}

// ceilingRedis is SET NX round trips at the same concurrency: one of the
// two store round trips the ingress makes per notification.
func ceilingRedis(ctx context.Context, rdb *redis.Client, prefix string, concurrency, n int) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if err := rdb.SetNX(ctx, prefix+strconv.FormatInt(i, 10), "1", time.Minute).Err(); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	if f := failed.Load(); f > 0 {
		return rate, fmt.Errorf("%d SET NX failed", f)
	}
	return rate, nil
}
