package cli

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/runtime"
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

// natsEnv is the connection settings operator commands take from the
// environment, as the roles do (NATS_NKEY_SEED_FILE, NATS_TLS_*,
// NATS_JS_DOMAIN, NATS_CONNECTION_NAME).
func natsEnv(creds string) config.NATS {
	name := os.Getenv("NATS_CONNECTION_NAME")
	if name == "" {
		name = "praxis-adapter"
	}
	return config.NATS{
		CredsFile:    creds,
		NKeySeedFile: os.Getenv("NATS_NKEY_SEED_FILE"),
		TLS: config.TLSFiles{CAFile: os.Getenv("NATS_TLS_CA_FILE"), CertFile: os.Getenv("NATS_TLS_CERT_FILE"),
			KeyFile: os.Getenv("NATS_TLS_KEY_FILE")},
		JetStreamDomain: os.Getenv("NATS_JS_DOMAIN"),
		Name:            name,
		ConnectTimeout:  5 * time.Second,
	}
}

func (f natsFlags) connect() (*nats.Conn, jetstream.JetStream, error) {
	nc := natsEnv(*f.creds)
	opts, err := runtime.NATSOptions(nc, "cli")
	if err != nil {
		return nil, nil, err
	}
	conn, err := nats.Connect(*f.url, append(opts, nats.MaxReconnects(60))...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w (is the adapter running? set -nats or NATS_URL)", redact.URLs(*f.url), redact.Error(err, *f.url))
	}
	js, err := runtime.NewJetStream(conn, nc)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, js, nil
}
