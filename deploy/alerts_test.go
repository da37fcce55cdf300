package deploy

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestAlertRules: prometheus/alerts.yaml queries only metrics and labels
// the code defines, and every alert says how severe it is, what happened
// and what to do (a runbook).
func TestAlertRules(t *testing.T) {
	const file = "prometheus/alerts.yaml"
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	metrics := codeMetrics(t)
	var alerts []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			assert.NotEmpty(t, r.Alert, "%s: a rule without an alert name", file)
			assert.Contains(t, []string{"critical", "warning"}, r.Labels["severity"], "%s: %s: severity", file, r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], "%s: %s: summary", file, r.Alert)
			assert.Greater(t, len(r.Annotations["runbook"]), 80, "%s: %s: the runbook says what to do", file, r.Alert)
			names := seriesRE.FindAllString(r.Expr, -1)
			require.NotEmpty(t, names, "%s: %s queries no praxis_* metric", file, r.Alert)
			allowed := map[string]bool{}
			for _, n := range names {
				d, ok := seriesOf(n, metrics)
				if assert.True(t, ok, "%s: %s: metric %s is not defined in the code", file, r.Alert, n) {
					for l := range d.Labels {
						allowed[l] = true
					}
				}
			}
			for _, m := range byRE.FindAllStringSubmatch(r.Expr, -1) {
				for _, l := range strings.Split(m[1], ",") {
					assert.True(t, allowed[strings.TrimSpace(l)], "%s: %s: label %s", file, r.Alert, l)
				}
			}
			for _, m := range matcherRE.FindAllStringSubmatch(r.Expr, -1) {
				for _, part := range strings.Split(m[1], ",") {
					if lm := labelRE.FindStringSubmatch(part); lm != nil {
						assert.True(t, allowed[lm[1]], "%s: %s: label %s", file, r.Alert, lm[1])
					}
				}
			}
		}
	}
	for _, want := range []string{"PraxisLedgerSuspectNotification", "PraxisLedgerMovementHeld"} {
		assert.Contains(t, alerts, want)
	}
}
