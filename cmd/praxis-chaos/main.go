// Command praxis-chaos is the fault-injection suite behind `make chaos`:
// a 3-node JetStream cluster, Redis with AOF, two ingress and two worker
// processes and the simulator under load while components are killed or
// paused; it prints what each fault cost and fails when a guarantee broke.
// A development tool, not part of the product.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/praxis-adapter/praxis-adapter/internal/chaos"
)

func main() {
	o := chaos.Options{}
	flag.StringVar(&o.AdapterBin, "adapter", "bin/praxis-adapter", "the praxis-adapter binary")
	flag.StringVar(&o.NATSServerBin, "nats-server", "bin/nats-server", "nats-server binary (make chaos builds it from the module in go.mod)")
	flag.StringVar(&o.RedisServerBin, "redis-server", "/usr/bin/redis-server", "redis-server binary")
	flag.IntVar(&o.Notifications, "notifications", 20000, "unique notifications")
	flag.Float64Var(&o.DupShare, "duplicates", 0.10, "share of notifications sent twice at once")
	flag.IntVar(&o.Commands, "commands", 2000, "cashier.session commands")
	flag.Float64Var(&o.RepublishShare, "republish", 0.10, "share of commands published again")
	flag.DurationVar(&o.ResendDelay, "resend-delay", 5*time.Minute, "Praxis' resend delay as modelled (UNCONFIRMED, ~5m)")
	flag.DurationVar(&o.DuplicateWindow, "duplicate-window", 15*time.Minute, "the streams' duplicate window (the default 15m; the adapter refuses one not above -resend-delay)")
	faults := flag.String("faults", strings.Join(chaos.FaultKinds, ","), "faults in order (empty: none): "+strings.Join(chaos.FaultKinds, ","))
	flag.IntVar(&o.Concurrency, "concurrency", 32, "concurrent webhook deliveries")
	flag.Uint64Var(&o.Seed, "seed", uint64(time.Now().UnixNano()), "random seed (fault moments, duplicates)")
	flag.BoolVar(&o.Sentinel, "sentinel", false, "Redis as primary + replica + 3 sentinels (redis-server --sentinel); the Redis fault kills the primary")
	flag.BoolVar(&o.Keep, "keep", false, "keep the run directory (logs, data)")
	flag.DurationVar(&o.PraxisLatency, "praxis-latency", time.Second, "the simulated Praxis' time to open a cashier session (plus up to as much jitter), so commands are in flight when a worker is killed")
	flag.DurationVar(&o.WorkerAckWait, "worker-ack-wait", 0, "the workers' worker.ack_wait (0: the binary's default); a command held by a killed worker is redelivered after it")
	flag.BoolVar(&o.LegacyConfig, "legacy-config", false, "leave out ingress.resend_delay, for a binary built before it existed (reproducing issue 13 on old code)")
	flag.Parse()
	if *faults != "" {
		o.Faults = strings.Split(*faults, ",")
	}
	if _, err := os.Stat(o.RedisServerBin); err != nil {
		fmt.Fprintln(os.Stderr, "praxis-chaos: redis-server not found; install it or set -redis-server")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("seed %d\n", o.Seed)
	if err := chaos.Run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "praxis-chaos:", err)
		os.Exit(1)
	}
}
