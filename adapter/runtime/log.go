package runtime

import (
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
)

// Logger builds the process logger from the config: JSON lines (or a
// console format for humans) at the configured level. It is passed to every
// component; nothing logs through a global.
func Logger(cfg *config.Config, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		level = zerolog.InfoLevel
	}
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Str("service", cfg.Telemetry.ServiceName).Logger()
}
