package cli

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/internal/redact"
)

// defaultNATSURL is the embedded server's address under `make run`.
const defaultNATSURL = "nats://127.0.0.1:14222"

// natsFlags registers -nats and -creds for operator commands.
type natsFlags struct {
	url   *string
	creds *string
}

func addNATSFlags(fs *flag.FlagSet) natsFlags {
	url := os.Getenv("NATS_URL")
	if url == "" {
		url = defaultNATSURL
	}
	return natsFlags{
		url:   fs.String("nats", url, "NATS server URL (env NATS_URL); make run listens on "+defaultNATSURL),
		creds: fs.String("creds", os.Getenv("NATS_CREDS"), "NATS credentials file (env NATS_CREDS)"),
	}
}

func (f natsFlags) connect() (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{nats.Name("praxis-adapter-cli"), nats.Timeout(5 * time.Second)}
	if *f.creds != "" {
		opts = append(opts, nats.UserCredentials(*f.creds))
	}
	nc, err := nats.Connect(*f.url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w (is the adapter running? set -nats or NATS_URL)", redact.URLs(*f.url), redact.Error(err, *f.url))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}
