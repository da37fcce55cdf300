// Command praxis-bench is the load harness behind `make bench`: it starts
// NATS (in-process unless -nats), the adapter as a child process, and the
// simulator, drives the ingress and the worker, and prints the figures that
// BENCHMARKS.md records. It is a development tool, not part of the product.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/praxis-adapter/praxis-adapter/internal/loadtest"
)

func main() {
	o := loadtest.Options{}
	flag.StringVar(&o.AdapterBin, "adapter", "bin/praxis-adapter", "the praxis-adapter binary to benchmark (make bench builds it)")
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379"
	}
	flag.StringVar(&o.RedisURL, "redis", redisURL, "Redis (env REDIS_URL)")
	flag.StringVar(&o.NATSURL, "nats", "", "an external NATS server; empty starts one")
	flag.StringVar(&o.NATSServerBin, "nats-server", "", "a nats-server binary to run as its own process; empty runs the same server (nats-server/v2) inside the harness")
	flag.IntVar(&o.Requests, "requests", 60000, "notifications per ingress level (level 1 sends a tenth)")
	flag.Float64Var(&o.DupShare, "duplicates", 0.10, "share of duplicate notifications")
	flag.Float64Var(&o.BadShare, "bad-signatures", 0.01, "share of notifications with a bad signature")
	flag.DurationVar(&o.MaxTime, "max-time", 60*time.Second, "bound on each level")
	flag.IntVar(&o.WorkerCommands, "commands", 8000, "commands per worker throughput run")
	flag.IntVar(&o.InFlight, "in-flight", 256, "worker max_in_flight")
	only := flag.String("only", "", "run only 'ingress', 'limits' or 'worker'")
	flag.IntVar(&o.Attack.Idle, "attack-idle", 5000, "limits: idle keep-alive connections")
	flag.IntVar(&o.Attack.Slow, "attack-slow", 500, "limits: slow never-finished chunked uploads")
	flag.IntVar(&o.Attack.SlowBytes, "attack-slow-bytes", 1<<20, "limits: bytes each slow upload trickles")
	flag.DurationVar(&o.Attack.Duration, "attack-time", 20*time.Second, "limits: length of the attack (the baseline runs half as long)")
	flag.IntVar(&o.Attack.GenuineRate, "attack-genuine-rate", 200, "limits: genuine notifications per second before and during the attack")
	flag.IntVar(&o.GOMAXPROCS, "adapter-gomaxprocs", 0, "GOMAXPROCS of the adapter process (0: Go's default, the CPU count)")
	flag.StringVar(&o.ProfileDir, "profile", "", "write CPU and heap profiles of the adapter under load into this directory")
	flag.Parse()
	o.Ingress = *only == "" || *only == "ingress"
	o.Worker = *only == "" || *only == "worker"
	o.Limits = *only == "" || *only == "limits"
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := loadtest.Run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "praxis-bench:", err)
		os.Exit(1)
	}
}
