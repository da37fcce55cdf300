package ledger

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetricsUseTheAppLabel: the ledger's series are labelled `app`, like
// the ingress's and the worker's (they said `application`, issue 15), so
// one dashboard variable filters them all.
func TestMetricsUseTheAppLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	require.NoError(t, err)
	for _, v := range []*prometheus.CounterVec{m.Events, m.Instructions, m.Confirmations, m.Suspects, m.Holds, m.Resolutions, m.Flags} {
		v.WithLabelValues("shop", "x").Inc()
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	n := 0
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				assert.NotEqual(t, "application", l.GetName(), "%s still uses label application", mf.GetName())
				if l.GetName() == "app" {
					n++
				}
			}
		}
	}
	assert.Equal(t, 7, n, "every per-application series carries app")
}
