// Command praxis-adapter puts a NATS JetStream bus between a merchant's
// platform and the Praxis Cashier gateway. Run it without arguments for help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/praxis-adapter/praxis-adapter/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
