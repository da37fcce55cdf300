package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

const withRebilly = minimal + `
  - name: shop-eu
    provider: rebilly
    rebilly:
      organization_id: org_live
      website_id: shop-eu
      api_key_env: SHOP_REBILLY_KEY
      webhook:
        username: rebilly
        password_env: SHOP_WEBHOOK_PW
rebilly:
  base_url: https://api.rebilly.com
`

func TestRebillyApplication(t *testing.T) {
	c, err := Load(writeFile(t, withRebilly), envMap(map[string]string{
		"SANDBOX_SECRET": "s", "SHOP_REBILLY_KEY": "sk_live_1", "SHOP_WEBHOOK_PW": "pw"}))
	require.NoError(t, err)
	a, ok := c.Application("shop-eu")
	require.True(t, ok)
	assert.True(t, a.IsRebilly())
	assert.Equal(t, "sk_live_1", a.Rebilly.APIKey)
	assert.Equal(t, "pw", a.Rebilly.WebhookPassword)
	assert.Equal(t, WebhookAuthBasic, a.Rebilly.Webhook.Auth, "basic by default")
	assert.Equal(t, RebillyDebitOnRequested, a.Rebilly.PayoutDebitOn)
	assert.Equal(t, []subjects.Provider{subjects.Praxis, subjects.Rebilly}, c.Providers())
	assert.Equal(t, c.Providers(), c.NATS.Streams.Providers, "streams carry the providers in use")
	assert.Equal(t, c.Praxis.Timeout, c.Rebilly.Timeout)
	cc := c.RebillyClientConfig(a)
	assert.Equal(t, "org_live", cc.OrganizationID)
}

func TestRebillyValidation(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"unknown provider", strings.Replace(withRebilly, "provider: rebilly", "provider: stripe", 1), nil,
			`applications[1].provider: "stripe" is not praxis or rebilly`},
		{"no api key", withRebilly, map[string]string{"SHOP_WEBHOOK_PW": "pw"},
			"applications[1].rebilly.api_key_env: environment variable SHOP_REBILLY_KEY is empty"},
		{"no organization", strings.Replace(withRebilly, "organization_id: org_live", "organization_id: ''", 1), nil,
			"applications[1].rebilly.organization_id: required"},
		{"http without simulator", strings.Replace(withRebilly, "https://api.rebilly.com", "http://rebilly.local", 1), nil,
			"rebilly.base_url: must start with https://"},
		{"auth none against Rebilly", strings.Replace(withRebilly, "username: rebilly", "auth: none", 1), nil,
			"applications[1].rebilly.webhook.auth: none is allowed only with a simulator"},
		{"digest algorithm", strings.Replace(withRebilly, "username: rebilly", "username: rebilly\n        auth: digest\n        algorithm: SHA-1", 1), nil,
			"applications[1].rebilly.webhook.algorithm: is not MD5 or SHA-256"},
		{"debit stage", strings.Replace(withRebilly, "website_id: shop-eu", "website_id: shop-eu\n      payout_debit_on: in_progress", 1), nil,
			"applications[1].rebilly.payout_debit_on: is not requested or approved"},
		{"demo key against Rebilly", withRebilly, map[string]string{"SHOP_REBILLY_KEY": SimulatorAPIKey},
			"the API key is the simulator's demo key"},
		{"name clash across providers", strings.Replace(withRebilly, "name: shop-eu", "name: sandbox", 1), nil,
			`applications[1].name: "sandbox" is already used by applications[0]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SANDBOX_SECRET": "s", "SHOP_REBILLY_KEY": "k", "SHOP_WEBHOOK_PW": "pw"}
			for k, v := range tc.env {
				env[k] = v
			}
			if tc.env != nil && tc.env["SHOP_REBILLY_KEY"] == "" && tc.name == "no api key" {
				delete(env, "SHOP_REBILLY_KEY")
			}
			_, err := Load(writeFile(t, tc.yaml), envMap(env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "sk_", "no key in errors")
		})
	}
}
