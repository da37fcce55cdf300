package praxis

// JSON methods that keep unknown fields in Extra. Each uses a method-free
// alias of its type so encoding/json does not recurse into these methods.

// UnmarshalJSON keeps unknown fields in Extra.
func (v *Customer) UnmarshalJSON(b []byte) error {
	type plain Customer
	return unmarshalKeep(b, (*plain)(v), customerKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Customer) MarshalJSON() ([]byte, error) {
	type plain Customer
	return marshalKeep(plain(v), customerKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *CustomerData) UnmarshalJSON(b []byte) error {
	type plain CustomerData
	return unmarshalKeep(b, (*plain)(v), customerDataKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v CustomerData) MarshalJSON() ([]byte, error) {
	type plain CustomerData
	return marshalKeep(plain(v), customerDataKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *Session) UnmarshalJSON(b []byte) error {
	type plain Session
	return unmarshalKeep(b, (*plain)(v), sessionKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Session) MarshalJSON() ([]byte, error) {
	type plain Session
	return marshalKeep(plain(v), sessionKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *Transaction) UnmarshalJSON(b []byte) error {
	type plain Transaction
	return unmarshalKeep(b, (*plain)(v), transactionKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Transaction) MarshalJSON() ([]byte, error) {
	type plain Transaction
	return marshalKeep(plain(v), transactionKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *Card) UnmarshalJSON(b []byte) error {
	type plain Card
	return unmarshalKeep(b, (*plain)(v), cardKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Card) MarshalJSON() ([]byte, error) {
	type plain Card
	return marshalKeep(plain(v), cardKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *Wallet) UnmarshalJSON(b []byte) error {
	type plain Wallet
	return unmarshalKeep(b, (*plain)(v), walletKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Wallet) MarshalJSON() ([]byte, error) {
	type plain Wallet
	return marshalKeep(plain(v), walletKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *MIT) UnmarshalJSON(b []byte) error {
	type plain MIT
	return unmarshalKeep(b, (*plain)(v), mitKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v MIT) MarshalJSON() ([]byte, error) {
	type plain MIT
	return marshalKeep(plain(v), mitKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *TransactionAttempt) UnmarshalJSON(b []byte) error {
	type plain TransactionAttempt
	return unmarshalKeep(b, (*plain)(v), transactionAttemptKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v TransactionAttempt) MarshalJSON() ([]byte, error) {
	type plain TransactionAttempt
	return marshalKeep(plain(v), transactionAttemptKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *SessionRequest) UnmarshalJSON(b []byte) error {
	type plain SessionRequest
	return unmarshalKeep(b, (*plain)(v), sessionRequestKeys, &v.Extra)
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
	return unmarshalKeep(b, (*plain)(v), sessionResponseKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v SessionResponse) MarshalJSON() ([]byte, error) {
	type plain SessionResponse
	return marshalKeep(plain(v), sessionResponseKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *TransactionResponse) UnmarshalJSON(b []byte) error {
	type plain TransactionResponse
	return unmarshalKeep(b, (*plain)(v), transactionResponseKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v TransactionResponse) MarshalJSON() ([]byte, error) {
	type plain TransactionResponse
	return marshalKeep(plain(v), transactionResponseKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *Notification) UnmarshalJSON(b []byte) error {
	type plain Notification
	return unmarshalKeep(b, (*plain)(v), notificationKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v Notification) MarshalJSON() ([]byte, error) {
	type plain Notification
	return marshalKeep(plain(v), notificationKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *ValidationRequest) UnmarshalJSON(b []byte) error {
	type plain ValidationRequest
	return unmarshalKeep(b, (*plain)(v), validationRequestKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v ValidationRequest) MarshalJSON() ([]byte, error) {
	type plain ValidationRequest
	return marshalKeep(plain(v), validationRequestKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *CustomerSyncRequest) UnmarshalJSON(b []byte) error {
	type plain CustomerSyncRequest
	return unmarshalKeep(b, (*plain)(v), customerSyncRequestKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v CustomerSyncRequest) MarshalJSON() ([]byte, error) {
	type plain CustomerSyncRequest
	return marshalKeep(plain(v), customerSyncRequestKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *CustomerSyncReply) UnmarshalJSON(b []byte) error {
	type plain CustomerSyncReply
	return unmarshalKeep(b, (*plain)(v), customerSyncReplyKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v CustomerSyncReply) MarshalJSON() ([]byte, error) {
	type plain CustomerSyncReply
	return marshalKeep(plain(v), customerSyncReplyKeys, v.Extra)
}

// UnmarshalJSON keeps unknown fields in Extra.
func (v *SubscriptionNotification) UnmarshalJSON(b []byte) error {
	type plain SubscriptionNotification
	return unmarshalKeep(b, (*plain)(v), subscriptionKeys, &v.Extra)
}

// MarshalJSON writes Extra back out.
func (v SubscriptionNotification) MarshalJSON() ([]byte, error) {
	type plain SubscriptionNotification
	return marshalKeep(plain(v), subscriptionKeys, v.Extra)
}
