package testutil

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// testSecrets are the secrets the test suite uses; none may appear in a log.
func testSecrets() []string {
	return []string{"MerchantSecretKey", "s3cret", "previous-secret", "other-secret", "new-secret", "old-secret"}
}

// Patterns of personal or card data that must never reach a log line.
var (
	emailRE      = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	maskedCardRE = regexp.MustCompile(`\b\d{6}\*{2,}\d{4}\b`)
	panRE        = regexp.MustCompile(`\b[3-6]\d{12,18}\b`)
)

// Logger returns a zerolog logger for a component under test. Every line
// is checked: an e-mail address, a card number (Luhn-valid, or masked like
// 411111******1111), one of the suite's secrets or one of extraSecrets
// (e.g. FieldValues of the bodies the test sends) fails the test, naming
// the pattern but not repeating the value. The lines are printed only if
// the test fails. This is how the suite proves the adapter logs no PII.
func Logger(t testing.TB, extraSecrets ...string) zerolog.Logger {
	t.Helper()
	w := &scanWriter{secrets: append(testSecrets(), extraSecrets...)}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.closed = true
		for _, f := range w.findings {
			t.Errorf("a log line contains %s: %s", f.what, f.redacted)
		}
		if t.Failed() && w.buf.Len() > 0 {
			t.Logf("logs:\n%s", tail(w.buf.String(), 200))
		}
	})
	return zerolog.New(w).Level(zerolog.DebugLevel).With().Timestamp().Logger()
}

type finding struct{ what, redacted string }

type scanWriter struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	secrets  []string
	findings []finding
	closed   bool
}

func (w *scanWriter) Write(p []byte) (int, error) {
	line := string(p)
	var found []finding
	for _, s := range w.secrets {
		if strings.Contains(line, s) {
			found = append(found, finding{"a secret", strings.ReplaceAll(line, s, "[SECRET]")})
		}
	}
	if loc := emailRE.FindStringIndex(line); loc != nil {
		found = append(found, finding{"an e-mail address", line[:loc[0]] + "[EMAIL]" + line[loc[1]:]})
	}
	if loc := maskedCardRE.FindStringIndex(line); loc != nil {
		found = append(found, finding{"a masked card number", line[:loc[0]] + "[CARD]" + line[loc[1]:]})
	}
	for _, loc := range panRE.FindAllStringIndex(line, -1) {
		if luhn(line[loc[0]:loc[1]]) {
			found = append(found, finding{"a card number", line[:loc[0]] + "[PAN]" + line[loc[1]:]})
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	w.findings = append(w.findings, found...)
	w.buf.Write(p)
	return len(p), nil
}

func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
