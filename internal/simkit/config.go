package simkit

import (
	"fmt"
	"time"
)

// The delivery defaults both simulators document on their Config fields.
const (
	DefaultMaxDeliveries    = 10
	DefaultWebhookTimeout   = 10 * time.Second
	DefaultDeliveryLogLimit = 100_000
)

// DeliveryDefaults fills the zero delivery settings every simulator's
// Config has (each under the same name): MaxDeliveries, WebhookTimeout,
// DeliveryLogLimit and the clock. The resend delay is not among them: each
// provider documents its own.
func DeliveryDefaults(maxDeliveries *int, webhookTimeout *time.Duration, logLimit *int, now *func() time.Time) {
	if *maxDeliveries == 0 {
		*maxDeliveries = DefaultMaxDeliveries
	}
	if *webhookTimeout == 0 {
		*webhookTimeout = DefaultWebhookTimeout
	}
	if *logLimit == 0 {
		*logLimit = DefaultDeliveryLogLimit
	}
	if *now == nil {
		*now = time.Now
	}
}

// CheckDelivery names the first delivery setting that cannot work, by its
// config name (resend_delay, max_deliveries, webhook_timeout,
// delivery_log_limit).
func CheckDelivery(resendDelay time.Duration, maxDeliveries int, webhookTimeout time.Duration, logLimit int) error {
	switch {
	case resendDelay < 0:
		return fmt.Errorf("resend_delay %v: must not be negative", resendDelay)
	case maxDeliveries < 1:
		return fmt.Errorf("max_deliveries %d: must be at least 1", maxDeliveries)
	case webhookTimeout < 0:
		return fmt.Errorf("webhook_timeout %v: must not be negative", webhookTimeout)
	case logLimit < 1:
		return fmt.Errorf("delivery_log_limit %d: must be at least 1", logLimit)
	}
	return nil
}
