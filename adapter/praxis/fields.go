package praxis

import (
	"fmt"
	"sort"
	"strings"
)

// ListName names one message's signature field list. The names are the keys
// of the `signature_fields` config override.
type ListName string

// Every signature field list of SIGNATURE.md §4. "Request" lists sign what the
// caller sends; "Response"/"Reply" lists sign the answer.
const (
	ListCashierRequest            ListName = "cashier_request"
	ListCashierResponse           ListName = "cashier_response"
	ListVirtualTerminalRequest    ListName = "virtual_terminal_request"
	ListVirtualTerminalResponse   ListName = "virtual_terminal_response"
	ListManageTransactionRequest  ListName = "manage_transaction_request"
	ListManageTransactionResponse ListName = "manage_transaction_response"
	ListManageWithdrawalRequest   ListName = "manage_withdrawal_request_request"
	ListManageWithdrawalResponse  ListName = "manage_withdrawal_request_response"
	ListFindTransactionRequest    ListName = "find_transaction_request"
	ListFindTransactionResponse   ListName = "find_transaction_response"
	ListFindOrderRequest          ListName = "find_order_request"
	ListFindOrderResponse         ListName = "find_order_response"
	ListGatewayOptionsRequest     ListName = "get_gateway_options_request"
	ListRefundRequest             ListName = "refund_request"
	ListRefundResponse            ListName = "refund_response"
	ListDirectProcessRequest      ListName = "direct_process_request"
	ListNotificationRequest       ListName = "notification_request"
	ListValidationRequest         ListName = "validation_request"
	ListCustomerSyncRequest       ListName = "customer_sync_request"
	ListSubscriptionRequest       ListName = "subscription_request"
	ListWebhookReply              ListName = "webhook_reply"
	ListCustomerSyncReply         ListName = "customer_sync_reply"
)

// ListSpec documents one field list: its default fields, and whether Praxis
// documentation confirms it. Unconfirmed lists are best guesses that the
// config may override (SIGNATURE.md marks them UNCONFIRMED).
type ListSpec struct {
	Name      ListName
	Fields    []string
	Confirmed bool
	Note      string
}

// ListSpecs returns every list with its default fields, in a stable order.
// It returns fresh slices on every call, so callers may keep them.
func ListSpecs() []ListSpec {
	cashierReq := []string{"merchant_id", "application_key", "timestamp", "intent", "cid", "order_id"}
	cashierResp := []string{"status", "timestamp", "redirect_url", "customer.customer_token"}
	agentResponse := []string{"status", "timestamp", "transaction.tid", "transaction.transaction_status",
		"transaction.processed_currency", "transaction.processed_amount"}
	findResponse := []string{"status", "timestamp", "customer.customer_token", "transaction.tid",
		"transaction.transaction_status", "transaction.processed_currency", "transaction.processed_amount"}
	specs := []ListSpec{
		{ListCashierRequest, cashierReq, true, "latest cashier page; V1"},
		{ListCashierResponse, cashierResp, true, "latest cashier page; V2"},
		{ListVirtualTerminalRequest, cashierReq, false, "page tail not retrievable; assumed equal to the cashier request"},
		{ListVirtualTerminalResponse, cashierResp, false, "page tail not retrievable; assumed equal to the cashier response"},
		{ListManageTransactionRequest, []string{"merchant_id", "application_key", "timestamp", "intent", "tid"}, true, "V5"},
		{ListManageTransactionResponse, agentResponse, true, "V6"},
		{ListManageWithdrawalRequest, []string{"merchant_id", "application_key", "timestamp", "intent", "withdrawal_request_id"}, true, "V10"},
		{ListManageWithdrawalResponse, agentResponse, false, "not documented; assumed equal to the manage-transaction response"},
		{ListFindTransactionRequest, []string{"merchant_id", "application_key", "timestamp", "tid"}, true, "V11"},
		{ListFindTransactionResponse, findResponse, false, "documented list cut after transaction.p…; the tail is a guess"},
		{ListFindOrderRequest, []string{"merchant_id", "application_key", "timestamp", "order_id"}, true, "V12"},
		{ListFindOrderResponse, findResponse, false, "not documented; assumed equal to the find-transaction response"},
		{ListGatewayOptionsRequest, []string{"merchant_id", "application_key", "timestamp"}, true, "latest page"},
		{ListRefundRequest, []string{"merchant_id", "application_key", "timestamp", "transaction_type", "cid", "order_id", "currency", "amount", "reference_id"}, false,
			"page cut before the list; guessed from the direct-process list"},
		{ListRefundResponse, agentResponse, false, "not documented; assumed equal to the manage-transaction response"},
		{ListDirectProcessRequest, []string{"merchant_id", "application_key", "timestamp", "transaction_type", "cid", "order_id", "currency", "amount",
			"gateway", "notification_url", "return_url", "card_data.card_number"}, false, "public C# sample, not the doc page"},
		{ListNotificationRequest, []string{"merchant_id", "application_key", "timestamp", "customer.customer_token", "session.order_id",
			"transaction.tid", "transaction.currency", "transaction.amount", "transaction.conversion_rate",
			"transaction.processed_currency", "transaction.processed_amount"}, true, "V3, V7"},
		{ListValidationRequest, []string{"merchant_id", "application_key", "timestamp", "customer.customer_token", "session.order_id",
			"transaction_attempt.currency", "transaction_attempt.amount", "transaction_attempt.conversion_rate",
			"transaction_attempt.attempted_currency", "transaction_attempt.attempted_amount"}, true, "V8 (white-label copy of the reference)"},
		{ListCustomerSyncRequest, []string{"merchant_id", "application_key", "timestamp", "cid"}, true, "V14; order_id is not signed"},
		{ListSubscriptionRequest, []string{"event", "merchant_id", "application_key", "cid", "plan_id", "subscription_id",
			"subscription_status", "timestamp"}, true, "V13"},
		{ListWebhookReply, []string{"status", "timestamp"}, false, "reply to notification, validation and subscription webhooks; V4, V9"},
		{ListCustomerSyncReply, []string{"status", "timestamp"}, false, "not documented; assumed equal to the webhook reply"},
	}
	for i := range specs {
		specs[i].Fields = append([]string(nil), specs[i].Fields...)
	}
	return specs
}

// Lists is the immutable set of field lists an adapter or simulator uses:
// the defaults, with any configured overrides applied.
type Lists struct {
	m map[ListName]FieldList
}

// DefaultLists compiles every list with its documented default fields.
func DefaultLists() Lists {
	l, err := NewLists(nil)
	if err != nil {
		panic(err) // the defaults are constants; this cannot fail
	}
	return l
}

// NewLists compiles the defaults with overrides applied. An override for an
// unknown list name or with an empty or malformed field is an error that
// names the list, so config validation can point at it.
func NewLists(overrides map[string][]string) (Lists, error) {
	l := Lists{m: make(map[ListName]FieldList)}
	for _, spec := range ListSpecs() {
		l.m[spec.Name] = NewFieldList(spec.Name, spec.Fields...)
	}
	names := make([]string, 0, len(overrides))
	for name := range overrides {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := l.m[ListName(name)]; !ok {
			return Lists{}, fmt.Errorf("signature_fields.%s: unknown list; known lists: %s", name, strings.Join(knownListNames(), ", "))
		}
		fields := overrides[name]
		seen := make(map[string]bool, len(fields))
		for i, f := range fields {
			if f == "" || strings.HasPrefix(f, ".") || strings.HasSuffix(f, ".") || strings.Contains(f, "..") {
				return Lists{}, fmt.Errorf("signature_fields.%s[%d]: %q is not a dot path like transaction.tid", name, i, f)
			}
			if seen[f] {
				return Lists{}, fmt.Errorf("signature_fields.%s[%d]: %q appears twice", name, i, f)
			}
			seen[f] = true
		}
		l.m[ListName(name)] = NewFieldList(ListName(name), fields...)
	}
	return l, nil
}

// Get returns the named list. Asking for a name that is not one of the
// constants above is a programming error and panics.
func (l Lists) Get(name ListName) FieldList {
	fl, ok := l.m[name]
	if !ok {
		panic("praxis: unknown field list " + string(name))
	}
	return fl
}

func knownListNames() []string {
	specs := ListSpecs()
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = string(s.Name)
	}
	return out
}
