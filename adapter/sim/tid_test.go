package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestClockTIDNeverReusedAcrossRestarts: `make run` twice on the same data
// handed out tid 1000001 again and the ledger dropped the new deposit as a
// duplicate (issue 15). A restarted simulator starts past every tid an
// earlier run could have used at under a million transactions a second.
func TestClockTIDNeverReusedAcrossRestarts(t *testing.T) {
	start := time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		uptime  time.Duration
		created int64 // transactions the earlier run created
	}{
		{"restart a second later after a short demo", time.Second, 10},
		{"restart a minute later after a busy run", time.Minute, 50_000_000},
		{"restart a millisecond later", time.Millisecond, 999},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := ClockTID(start)
			lastUsed := first + tc.created
			restarted := ClockTID(start.Add(tc.uptime))
			assert.Greater(t, restarted, lastUsed, "the restarted simulator's first tid is new")
		})
	}
	now := ClockTID(time.Now())
	assert.Positive(t, now)
	assert.Less(t, now, int64(1e17), "well inside Praxis' 18-digit tids even decades from now")
}

func TestFirstTIDDefault(t *testing.T) {
	var c Config
	c.setDefaults()
	assert.Equal(t, int64(firstTID), c.FirstTID, "tests keep readable tids")
}
