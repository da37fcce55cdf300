package buildinfo

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadNeverEmpty(t *testing.T) {
	i := Read()
	assert.NotEmpty(t, i.Version, "a version is always printed, devel at worst")
	assert.NotEqual(t, "(devel)", i.Version, "Go's placeholder is not shown to users")
	assert.True(t, strings.HasPrefix(i.String(), "praxis-adapter "), i.String())
	assert.Contains(t, i.String(), i.GoVersion)
}

func TestRegisterBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	require.NoError(t, Register(reg))
	n, err := testutil.GatherAndCount(reg, "praxis_build_info")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "one series")
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	assert.Equal(t, 1.0, mfs[0].GetMetric()[0].GetGauge().GetValue())
	labels := map[string]string{}
	for _, l := range mfs[0].GetMetric()[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	assert.Equal(t, Read().Version, labels["version"])
	assert.Contains(t, labels, "revision")
	assert.Contains(t, labels, "goversion")
}
