package praxis

// JSON methods that keep unknown fields in Extra. Each uses a method-free
// alias of its type so encoding/json does not recurse into these methods.
//
// Decoding: the messages (and the request-side CustomerData and MIT) have
// an UnmarshalJSON; the objects nested in responses and webhooks (Customer,
// Session, Transaction, Card, Wallet, TransactionAttempt) do not, so
// encoding/json decodes a whole message in one standard pass, and the
// message then collects every level's unknown keys in one scanner walk.
// Encoding: every type writes its Extra back out.

func (v *Customer) collect(b []byte) error {
	if v == nil {
		return nil
	}
	return collectExtra(b, customerKeys, &v.Extra, nil)
}

func (v *Session) collect(b []byte) error {
	if v == nil {
		return nil
	}
	return collectExtra(b, sessionKeys, &v.Extra, nil)
}

func (v *Transaction) collect(b []byte) error {
	if v == nil {
		return nil
	}
	return collectExtra(b, transactionKeys, &v.Extra, func(key string, val []byte) error {
		switch key {
		case "card":
			if v.Card != nil {
				return collectExtra(val, cardKeys, &v.Card.Extra, nil)
			}
		case "wallet":
			if v.Wallet != nil {
				return collectExtra(val, walletKeys, &v.Wallet.Extra, nil)
			}
		}
		return nil
	})
}

func (v *TransactionAttempt) collect(b []byte) error {
	if v == nil {
		return nil
	}
	return collectExtra(b, transactionAttemptKeys, &v.Extra, nil)
}

// collectTransactionPart keeps the unknown fields of the three objects a
// transaction response and a notification share, so both stay lossless.
// It runs after decoding, so the pointers are the decoded ones.
func collectTransactionPart(key string, val []byte, c *Customer, s *Session, t *Transaction) error {
	switch key {
	case "customer":
		return c.collect(val)
	case "session":
		return s.collect(val)
	case "transaction":
		return t.collect(val)
	}
	return nil
}

// MarshalJSON writes Extra back out.
func (v Customer) MarshalJSON() ([]byte, error) {
	type plain Customer
	return marshalKeep(plain(v), customerKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *CustomerData) UnmarshalJSON(b []byte) error {
	type plain CustomerData
	return unmarshalKeep(b, (*plain)(v), customerDataKeys, &v.Extra, nil)
}

// MarshalJSON writes Extra back out.
func (v CustomerData) MarshalJSON() ([]byte, error) {
	type plain CustomerData
	return marshalKeep(plain(v), customerDataKeys, v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Session) MarshalJSON() ([]byte, error) {
	type plain Session
	return marshalKeep(plain(v), sessionKeys, v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Transaction) MarshalJSON() ([]byte, error) {
	type plain Transaction
	return marshalKeep(plain(v), transactionKeys, v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Card) MarshalJSON() ([]byte, error) {
	type plain Card
	return marshalKeep(plain(v), cardKeys, v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Wallet) MarshalJSON() ([]byte, error) {
	type plain Wallet
	return marshalKeep(plain(v), walletKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *MIT) UnmarshalJSON(b []byte) error {
	type plain MIT
	return unmarshalKeep(b, (*plain)(v), mitKeys, &v.Extra, nil)
}

// MarshalJSON writes Extra back out.
func (v MIT) MarshalJSON() ([]byte, error) {
	type plain MIT
	return marshalKeep(plain(v), mitKeys, v.Extra)
}

// MarshalJSON writes Extra back out.
func (v TransactionAttempt) MarshalJSON() ([]byte, error) {
	type plain TransactionAttempt
	return marshalKeep(plain(v), transactionAttemptKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *SessionRequest) UnmarshalJSON(b []byte) error {
	type plain SessionRequest
	return unmarshalKeep(b, (*plain)(v), sessionRequestKeys, &v.Extra, nil)
}

// MarshalJSON writes Extra back out, so a field this adapter does not model
// yet can still be sent to Praxis.
func (v SessionRequest) MarshalJSON() ([]byte, error) {
	type plain SessionRequest
	return marshalKeep(plain(v), sessionRequestKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *SessionResponse) UnmarshalJSON(b []byte) error {
	type plain SessionResponse
	return unmarshalKeep(b, (*plain)(v), sessionResponseKeys, &v.Extra, func(key string, val []byte) error {
		switch key {
		case "customer":
			return v.Customer.collect(val)
		case "session":
			return v.Session.collect(val)
		}
		return nil
	})
}

// MarshalJSON writes Extra back out.
func (v SessionResponse) MarshalJSON() ([]byte, error) {
	type plain SessionResponse
	return marshalKeep(plain(v), sessionResponseKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *TransactionResponse) UnmarshalJSON(b []byte) error {
	type plain TransactionResponse
	return unmarshalKeep(b, (*plain)(v), transactionResponseKeys, &v.Extra, func(key string, val []byte) error {
		return collectTransactionPart(key, val, v.Customer, v.Session, v.Transaction)
	})
}

// MarshalJSON writes Extra back out.
func (v TransactionResponse) MarshalJSON() ([]byte, error) {
	type plain TransactionResponse
	return marshalKeep(plain(v), transactionResponseKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *Notification) UnmarshalJSON(b []byte) error {
	type plain Notification
	return unmarshalKeep(b, (*plain)(v), notificationKeys, &v.Extra, func(key string, val []byte) error {
		return collectTransactionPart(key, val, v.Customer, v.Session, v.Transaction)
	})
}

// MarshalJSON writes Extra back out.
func (v Notification) MarshalJSON() ([]byte, error) {
	type plain Notification
	return marshalKeep(plain(v), notificationKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *ValidationRequest) UnmarshalJSON(b []byte) error {
	type plain ValidationRequest
	return unmarshalKeep(b, (*plain)(v), validationRequestKeys, &v.Extra, func(key string, val []byte) error {
		switch key {
		case "customer":
			return v.Customer.collect(val)
		case "session":
			return v.Session.collect(val)
		case "transaction_attempt":
			return v.TransactionAttempt.collect(val)
		}
		return nil
	})
}

// MarshalJSON writes Extra back out.
func (v ValidationRequest) MarshalJSON() ([]byte, error) {
	type plain ValidationRequest
	return marshalKeep(plain(v), validationRequestKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *CustomerSyncRequest) UnmarshalJSON(b []byte) error {
	type plain CustomerSyncRequest
	return unmarshalKeep(b, (*plain)(v), customerSyncRequestKeys, &v.Extra, nil)
}

// MarshalJSON writes Extra back out.
func (v CustomerSyncRequest) MarshalJSON() ([]byte, error) {
	type plain CustomerSyncRequest
	return marshalKeep(plain(v), customerSyncRequestKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *CustomerSyncReply) UnmarshalJSON(b []byte) error {
	type plain CustomerSyncReply
	return unmarshalKeep(b, (*plain)(v), customerSyncReplyKeys, &v.Extra, nil)
}

// MarshalJSON writes Extra back out.
func (v CustomerSyncReply) MarshalJSON() ([]byte, error) {
	type plain CustomerSyncReply
	return marshalKeep(plain(v), customerSyncReplyKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *SubscriptionNotification) UnmarshalJSON(b []byte) error {
	type plain SubscriptionNotification
	return unmarshalKeep(b, (*plain)(v), subscriptionKeys, &v.Extra, nil)
}

// MarshalJSON writes Extra back out.
func (v SubscriptionNotification) MarshalJSON() ([]byte, error) {
	type plain SubscriptionNotification
	return marshalKeep(plain(v), subscriptionKeys, v.Extra)
}
