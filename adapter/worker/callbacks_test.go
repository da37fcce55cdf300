package worker

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
)

func TestCheckCallbackURLs(t *testing.T) {
	w := &Worker{cfg: Config{PublicURL: "https://hooks.shop.example/praxis-in"}}
	app := &appState{Application: Application{ReturnURL: "https://shop.example/return",
		AllowedCallbackURLs: []string{"https://crm.shop.example/praxis/"}, AllowedReturnURLs: []string{"https://shop.example/cashier"}}}
	tests := []struct {
		name                     string
		notification, valid, ret string
		wantField                string
	}{
		{"defaults", "https://hooks.shop.example/praxis-in/praxis/notification", "https://hooks.shop.example/praxis-in/praxis/validation", "https://shop.example/return", ""},
		{"merchant routing suffix", "https://hooks.shop.example/praxis-in/praxis/notification/deposits?x=1", "", "", ""},
		{"allowlisted callback", "https://crm.shop.example/praxis/notify", "https://crm.shop.example/praxis/validate", "", ""},
		{"allowlisted return", "", "", "https://shop.example/cashier/done?o=1", ""},
		{"attacker notification", "https://evil.example/collect", "", "", "notification_url"},
		{"attacker validation", "", "https://evil.example/decide", "", "validation_url"},
		{"attacker return", "", "", "https://evil.example/phish", "return_url"},
		{"http to an allowlisted host", "http://crm.shop.example/praxis/notify", "", "", "notification_url"},
		{"lookalike host", "https://hooks.shop.example.evil.example/praxis-in/x", "", "", "notification_url"},
		{"path prefix without boundary", "https://hooks.shop.example/praxis-inbox", "", "", "notification_url"},
		{"dot-dot out of the prefix", "", "https://crm.shop.example/praxis/../admin", "", "validation_url"},
		{"encoded dot-dot", "", "https://crm.shop.example/praxis/%2e%2e/admin", "", "validation_url"},
		{"userinfo", "https://x@hooks.shop.example/praxis-in/praxis/notification", "", "", "notification_url"},
		{"return outside allowlist path", "", "", "https://shop.example/other", "return_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason := w.checkCallbackURLs(app, &command.Session{NotificationURL: tt.notification, ValidationURL: tt.valid, ReturnURL: tt.ret})
			if tt.wantField == "" {
				assert.Empty(t, reason)
				return
			}
			assert.Contains(t, reason, tt.wantField)
			assert.NotContains(t, reason, "evil", "the reason names the field, not the value")
		})
	}
}

func TestCheckCallbackURLsPlainHTTPPublicURL(t *testing.T) {
	// In `run` the public URL is the ingress's own http address: the
	// defaults built from it pass, nothing else does.
	w := &Worker{cfg: Config{PublicURL: "http://127.0.0.1:8480"}}
	app := &appState{Application: Application{ReturnURL: "https://shop.example/return"}}
	assert.Empty(t, w.checkCallbackURLs(app, &command.Session{NotificationURL: "http://127.0.0.1:8480/praxis/notification"}))
	assert.NotEmpty(t, w.checkCallbackURLs(app, &command.Session{NotificationURL: "http://127.0.0.1:9999/praxis/notification"}))
}
