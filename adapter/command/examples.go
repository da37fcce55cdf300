package command

// Examples returns one valid body per command, as the README and the JSON
// Schemas show them; a test parses each, so they cannot go stale.
func Examples() map[string]string {
	return map[string]string{
		CashierSession: `{"id":"cmd-1001","intent":"payment","currency":"EUR","amount":2500,"cid":"cust-42","order_id":"order-1001",` +
			`"customer_data":{"country":"GB","first_name":"Jane","last_name":"Doe","email":"jane@example.com"}}`,
		VirtualTerminal: `{"id":"cmd-1002","intent":"payment","currency":"EUR","amount":1000,"cid":"cust-42","order_id":"order-1002",` +
			`"agent_name":"agent-7","customer_token":"87cfb23a8f1e68e162c276b754d9c061"}`,
		AuthorizationCapture: `{"id":"cmd-1003","tid":1234567}`,
		AuthorizationCancel:  `{"id":"cmd-1004","tid":1234567}`,
		WithdrawalComplete:   `{"id":"cmd-1005","withdrawal_request_id":7654321}`,
		WithdrawalCancel:     `{"id":"cmd-1006","withdrawal_request_id":7654321}`,
		RefundCreate:         `{"id":"cmd-1007","reference_id":1234567,"amount":500,"currency":"EUR","cid":"cust-42","order_id":"refund-1007"}`,
		TransactionFind:      `{"id":"cmd-1008","tid":1234567}`,
		OrderFind:            `{"id":"cmd-1009","order_id":"order-1001"}`,
	}
}
