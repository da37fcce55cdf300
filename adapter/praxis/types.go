package praxis

import (
	"encoding/json"
	"fmt"
)

// Version is the API version this adapter speaks (header signatures).
const Version = "1.3"

// Envelope is the part every Praxis response and every webhook reply shares.
// Status is the API communication status, never the payment status: 0 is
// success, negative is a transient failure, positive a business error.
type Envelope struct {
	Status      int        `json:"status"`
	Description string     `json:"description"`
	Version     FlexString `json:"version,omitempty"`
	Timestamp   int64      `json:"timestamp"`
}

// Customer is Praxis' view of the customer (API.md §4.1). Names and address
// are PII: never log them.
type Customer struct {
	CustomerToken            string   `json:"customer_token"`
	Country                  string   `json:"country,omitempty"`
	FirstName                string   `json:"first_name,omitempty"`
	LastName                 string   `json:"last_name,omitempty"`
	AVSAlert                 *int     `json:"avs_alert,omitempty"`
	VerificationAlert        *int     `json:"verification_alert,omitempty"`
	BillingInfoAddressEdited *bool    `json:"billing_info_address_edited,omitempty"`
	BillingAddress           *Address `json:"billing_address,omitempty"`
	Extra                    Extra    `json:"-"`
}

// Address is a customer's billing address (PII).
type Address struct {
	Address string `json:"address,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Zip     string `json:"zip,omitempty"`
	Country string `json:"country,omitempty"`
}

// CustomerData is what the merchant tells Praxis about a customer (API.md
// §4.2); everything in it is PII.
type CustomerData struct {
	Country   string     `json:"country,omitempty"`
	FirstName string     `json:"first_name,omitempty"`
	LastName  string     `json:"last_name,omitempty"`
	DOB       string     `json:"dob,omitempty"`
	Email     string     `json:"email,omitempty"`
	Phone     FlexString `json:"phone,omitempty"`
	Zip       string     `json:"zip,omitempty"`
	State     string     `json:"state,omitempty"`
	City      string     `json:"city,omitempty"`
	Address   string     `json:"address,omitempty"`
	Profile   *int       `json:"profile,omitempty"`
	Encrypted string     `json:"encrypted,omitempty"`
	Extra     Extra      `json:"-"`
}

// Session is a cashier session as Praxis reports it (API.md §4.3).
type Session struct {
	AuthToken         string     `json:"auth_token,omitempty"`
	Intent            string     `json:"intent,omitempty"`
	SessionStatus     string     `json:"session_status,omitempty"`
	OrderID           string     `json:"order_id,omitempty"`
	Currency          string     `json:"currency,omitempty"`
	Amount            *int64     `json:"amount,omitempty"`
	ConversionRate    FlexString `json:"conversion_rate,omitempty"`
	ProcessedCurrency string     `json:"processed_currency,omitempty"`
	ProcessedAmount   *int64     `json:"processed_amount,omitempty"`
	PaymentMethod     string     `json:"payment_method,omitempty"`
	Gateway           string     `json:"gateway,omitempty"`
	CID               string     `json:"cid,omitempty"`
	Variable1         string     `json:"variable1,omitempty"`
	Variable2         string     `json:"variable2,omitempty"`
	Variable3         string     `json:"variable3,omitempty"`
	Extra             Extra      `json:"-"`
}

// Transaction is one Praxis transaction (API.md §4.4). TID is the primary
// key for idempotency; Amount/Currency of the final notification is what to
// book. Fee fields are kept as text because their semantics are UNCONFIRMED.
type Transaction struct {
	TransactionType     string          `json:"transaction_type,omitempty"`
	TransactionStatus   string          `json:"transaction_status,omitempty"`
	TID                 int64           `json:"tid"`
	TransactionID       string          `json:"transaction_id,omitempty"`
	Currency            string          `json:"currency,omitempty"`
	Amount              *int64          `json:"amount,omitempty"`
	ConversionRate      FlexString      `json:"conversion_rate,omitempty"`
	ProcessedCurrency   string          `json:"processed_currency,omitempty"`
	ProcessedAmount     *int64          `json:"processed_amount,omitempty"`
	Fee                 FlexString      `json:"fee,omitempty"`
	FeeIncluded         json.RawMessage `json:"fee_included,omitempty"`
	FeeType             FlexString      `json:"fee_type,omitempty"`
	PaymentMethod       string          `json:"payment_method,omitempty"`
	PaymentProcessor    string          `json:"payment_processor,omitempty"`
	Gateway             string          `json:"gateway,omitempty"`
	Card                *Card           `json:"card,omitempty"`
	Wallet              *Wallet         `json:"wallet,omitempty"`
	MIT                 *MIT            `json:"mit,omitempty"`
	StatusCode          FlexString      `json:"status_code,omitempty"`
	StatusDetails       json.RawMessage `json:"status_details,omitempty"`
	RedirectURL         string          `json:"redirect_url,omitempty"`
	WithdrawalRequestID *int64          `json:"withdrawal_request_id,omitempty"`
	Extra               Extra           `json:"-"`
}

// Card is the masked card of a transaction (API.md §4.4). card_holder is PII.
type Card struct {
	CardToken         string `json:"card_token,omitempty"`
	CardType          string `json:"card_type,omitempty"`
	CardNumber        string `json:"card_number,omitempty"`
	CardExp           string `json:"card_exp,omitempty"`
	CardIssuerName    string `json:"card_issuer_name,omitempty"`
	CardIssuerCountry string `json:"card_issuer_country,omitempty"`
	CardHolder        string `json:"card_holder,omitempty"`
	CardFundingSource string `json:"card_funding_source,omitempty"`
	CardSubtype       string `json:"card_subtype,omitempty"`
	Extra             Extra  `json:"-"`
}

// Wallet is an e-wallet used by a transaction.
type Wallet struct {
	WalletToken       string          `json:"wallet_token,omitempty"`
	AccountIdentifier string          `json:"account_identifier,omitempty"`
	Data              json.RawMessage `json:"data,omitempty"`
	Extra             Extra           `json:"-"`
}

// MIT carries merchant-initiated-transaction settings (API.md §4.6).
type MIT struct {
	Type           string `json:"type"`
	Expiry         *int   `json:"expiry,omitempty"`
	MITReferenceID *int64 `json:"mit_reference_id,omitempty"`
	Extra          Extra  `json:"-"`
}

// CardData is the masked card of a validation attempt.
type CardData struct {
	CardNumber string `json:"card_number,omitempty"`
	CardExp    string `json:"card_exp,omitempty"`
	CVV        string `json:"cvv,omitempty"`
}

// TransactionAttempt is what the customer is about to do, sent in the
// validation callback before processing (API.md §4.5).
type TransactionAttempt struct {
	Intent              string          `json:"intent,omitempty"`
	Currency            string          `json:"currency,omitempty"`
	Amount              *int64          `json:"amount,omitempty"`
	ConversionRate      FlexString      `json:"conversion_rate,omitempty"`
	AttemptedCurrency   string          `json:"attempted_currency,omitempty"`
	AttemptedAmount     *int64          `json:"attempted_amount,omitempty"`
	PaymentMethod       string          `json:"payment_method,omitempty"`
	CardData            *CardData       `json:"card_data,omitempty"`
	WalletData          json.RawMessage `json:"wallet_data,omitempty"`
	WithdrawalRequestID *int64          `json:"withdrawal_request_id,omitempty"`
	Extra               Extra           `json:"-"`
}

// Auth is the part of every outbound request that identifies the merchant.
type Auth struct {
	MerchantID     string     `json:"merchant_id"`
	ApplicationKey string     `json:"application_key"`
	Version        FlexString `json:"version"`
	Timestamp      int64      `json:"timestamp"`
}

// SessionRequest opens a cashier session, a payment link (SessionType
// "payment_link") or, with AgentName set, a virtual terminal (API.md §5.1–5.3).
type SessionRequest struct {
	Auth
	Intent               string          `json:"intent"`
	Currency             string          `json:"currency"`
	Amount               *int64          `json:"amount,omitempty"`
	Balance              *int64          `json:"balance,omitempty"`
	CID                  string          `json:"cid"`
	Locale               string          `json:"locale"`
	CustomerToken        string          `json:"customer_token,omitempty"`
	CustomerData         *CustomerData   `json:"customer_data,omitempty"`
	PaymentMethod        string          `json:"payment_method,omitempty"`
	Gateway              string          `json:"gateway,omitempty"`
	ValidationURL        string          `json:"validation_url,omitempty"`
	NotificationURL      string          `json:"notification_url"`
	ReturnURL            string          `json:"return_url"`
	OrderID              string          `json:"order_id"`
	Variable1            string          `json:"variable1,omitempty"`
	Variable2            string          `json:"variable2,omitempty"`
	Variable3            string          `json:"variable3,omitempty"`
	MIT                  *MIT            `json:"mit,omitempty"`
	SessionConfiguration json.RawMessage `json:"session_configuration,omitempty"`
	SessionType          string          `json:"session_type,omitempty"`
	Expires              *int64          `json:"expires,omitempty"`
	CashierUIPreset      string          `json:"cashier_ui_preset,omitempty"`
	AgentName            string          `json:"agent_name,omitempty"`
	Extra                Extra           `json:"-"`
}

// SessionResponse answers a cashier session or virtual terminal request.
type SessionResponse struct {
	Envelope
	RedirectURL string    `json:"redirect_url,omitempty"`
	Customer    *Customer `json:"customer,omitempty"`
	Session     *Session  `json:"session,omitempty"`
	Extra       Extra     `json:"-"`
	Raw         []byte    `json:"-"`
}

// Agent API intents (API.md §5.4–5.5); there are no others.
const (
	IntentCaptureAuthorization      = "capture-authorization"
	IntentCancelAuthorization       = "cancel-authorization"
	IntentCompleteWithdrawalRequest = "complete-withdrawal-request"
	IntentCancelWithdrawalRequest   = "cancel-withdrawal-request"
)

// Session intents (API.md §5.1).
const (
	IntentPayment       = "payment"
	IntentAuthorization = "authorization"
	IntentWithdrawal    = "withdrawal"
)

// Session types (API.md §5.1–5.2).
const (
	SessionTypeCashier     = "cashier"
	SessionTypePaymentLink = "payment_link"
)

// ManageTransactionRequest captures or cancels an authorization.
type ManageTransactionRequest struct {
	Auth
	Intent string `json:"intent"`
	TID    int64  `json:"tid"`
}

// ManageWithdrawalRequest completes (pays out) or cancels a withdrawal request.
type ManageWithdrawalRequest struct {
	Auth
	Intent              string `json:"intent"`
	WithdrawalRequestID int64  `json:"withdrawal_request_id"`
	Gateway             string `json:"gateway,omitempty"`
}

// FindTransactionRequest reads a transaction's current state by tid.
type FindTransactionRequest struct {
	Auth
	TID int64 `json:"tid"`
}

// FindOrderRequest reads a cashier session's state by the merchant's order id.
type FindOrderRequest struct {
	Auth
	OrderID string `json:"order_id"`
}

// RefundRequest refunds (part of) an approved deposit through the Direct API.
type RefundRequest struct {
	Auth
	TransactionType     string `json:"transaction_type"`
	Currency            string `json:"currency"`
	Amount              int64  `json:"amount"`
	CID                 string `json:"cid"`
	Locale              string `json:"locale"`
	OrderID             string `json:"order_id"`
	ReferenceID         int64  `json:"reference_id"`
	WithdrawalRequestID *int64 `json:"withdrawal_request_id,omitempty"`
	Variable1           string `json:"variable1,omitempty"`
	Variable2           string `json:"variable2,omitempty"`
	Variable3           string `json:"variable3,omitempty"`
}

// TransactionResponse answers the Agent API, find-transaction, find-order
// and refund calls: the transaction in the shape of its last notification.
type TransactionResponse struct {
	Envelope
	Customer    *Customer    `json:"customer,omitempty"`
	Session     *Session     `json:"session,omitempty"`
	Transaction *Transaction `json:"transaction,omitempty"`
	Extra       Extra        `json:"-"`
	Raw         []byte       `json:"-"`
}

// Notification is the payment notification webhook (API.md §7.1).
// Transaction is nil for an expired session.
type Notification struct {
	MerchantID     string       `json:"merchant_id"`
	ApplicationKey string       `json:"application_key"`
	ConversionRate FlexString   `json:"conversion_rate,omitempty"`
	Customer       *Customer    `json:"customer,omitempty"`
	Session        *Session     `json:"session,omitempty"`
	Transaction    *Transaction `json:"transaction"`
	Version        FlexString   `json:"version"`
	Timestamp      int64        `json:"timestamp"`
	Extra          Extra        `json:"-"`
	Raw            []byte       `json:"-"`
}

// ValidationRequest is the validation callback sent before processing
// (API.md §7.2); a non-zero reply status blocks the attempt.
type ValidationRequest struct {
	MerchantID         string              `json:"merchant_id"`
	ApplicationKey     string              `json:"application_key"`
	Customer           *Customer           `json:"customer,omitempty"`
	Session            *Session            `json:"session,omitempty"`
	TransactionAttempt *TransactionAttempt `json:"transaction_attempt,omitempty"`
	Version            FlexString          `json:"version"`
	Timestamp          int64               `json:"timestamp"`
	Extra              Extra               `json:"-"`
	Raw                []byte              `json:"-"`
}

// CustomerSyncRequest asks the CRM for a customer's data and balance when an
// agent opens the virtual terminal (API.md §7.3).
type CustomerSyncRequest struct {
	MerchantID     string     `json:"merchant_id"`
	ApplicationKey string     `json:"application_key"`
	CID            string     `json:"cid"`
	OrderID        string     `json:"order_id,omitempty"`
	Version        FlexString `json:"version"`
	Timestamp      int64      `json:"timestamp"`
	Extra          Extra      `json:"-"`
	Raw            []byte     `json:"-"`
}

// CustomerSyncReply is the CRM's answer to a customer sync.
type CustomerSyncReply struct {
	Envelope
	CustomerData          *CustomerData `json:"customer_data,omitempty"`
	ManualValidationURL   string        `json:"manual_validation_url,omitempty"`
	ManualNotificationURL string        `json:"manual_notification_url,omitempty"`
	Balance               *int64        `json:"balance,omitempty"`
	Currency              string        `json:"currency,omitempty"`
	Extra                 Extra         `json:"-"`
}

// SubscriptionNotification is the subscription webhook (API.md §7.4).
type SubscriptionNotification struct {
	Event              string          `json:"event"`
	MerchantID         string          `json:"merchant_id"`
	ApplicationKey     string          `json:"application_key"`
	CID                string          `json:"cid"`
	PlanID             string          `json:"plan_id"`
	SubscriptionID     string          `json:"subscription_id"`
	SubscriptionStatus string          `json:"subscription_status"`
	EventData          json.RawMessage `json:"event_data,omitempty"`
	Version            FlexString      `json:"version"`
	Timestamp          int64           `json:"timestamp"`
	Extra              Extra           `json:"-"`
	Raw                []byte          `json:"-"`
}

// Reply is the merchant's answer to a notification, validation or
// subscription webhook: the bare envelope.
type Reply = Envelope

// rawKeeper is a message that remembers the exact bytes it was decoded from
// and knows its strict schema.
type rawKeeper interface {
	setRaw([]byte)
	schema() *Schema
}

// Decode parses body into a message and keeps body as its Raw bytes, which
// signature checks must use. Numbers are never turned into floats. It reads
// strictly, through the same scanner as the ingress (see Schema): a
// repeated key, a key that differs from a known field only in case, invalid
// UTF-8 or a signed field out of format is an error, so what Decode returns
// is what the ingress verified.
func Decode[T any, PT interface {
	*T
	rawKeeper
}](body []byte) (*T, error) {
	var v T
	if err := PT(&v).schema().Check(body); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	PT(&v).setRaw(body)
	return &v, nil
}

func (m *SessionResponse) setRaw(b []byte)          { m.Raw = b }
func (m *TransactionResponse) setRaw(b []byte)      { m.Raw = b }
func (m *Notification) setRaw(b []byte)             { m.Raw = b }
func (m *ValidationRequest) setRaw(b []byte)        { m.Raw = b }
func (m *CustomerSyncRequest) setRaw(b []byte)      { m.Raw = b }
func (m *SubscriptionNotification) setRaw(b []byte) { m.Raw = b }

func (*SessionResponse) schema() *Schema          { return sessionResponseSchema }
func (*TransactionResponse) schema() *Schema      { return transactionResponseSchema }
func (*Notification) schema() *Schema             { return notificationSchema }
func (*ValidationRequest) schema() *Schema        { return validationSchema }
func (*CustomerSyncRequest) schema() *Schema      { return customerSyncSchema }
func (*SubscriptionNotification) schema() *Schema { return subscriptionSchema }
