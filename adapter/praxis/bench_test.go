package praxis

import (
	"testing"
)

func v3Body(b *testing.B) []byte {
	for _, v := range loadVectors(b) {
		if v.ID == "V3" {
			return []byte(v.Body)
		}
	}
	b.Fatal("no V3")
	return nil
}

func BenchmarkSign(b *testing.B) {
	body := v3Body(b)
	fl := DefaultLists().Get(ListNotificationRequest)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fl.Sign(body, vectorSecret); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	body := v3Body(b)
	fl := DefaultLists().Get(ListNotificationRequest)
	sig, _ := fl.Sign(body, vectorSecret)
	header := sig.String()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := fl.Verify(body, header, "old-secret", vectorSecret); err != nil {
			b.Fatal(err)
		}
	}
}

// benchFields are the notification paths the ingress extracts.
func benchFields() []string {
	return append(DefaultLists().Get(ListNotificationRequest).Fields(),
		"transaction", "transaction.transaction_type", "transaction.transaction_status", "session.session_status",
		"session.intent", "transaction.payment_processor", "transaction.withdrawal_request_id")
}

func benchExtract(b *testing.B, paths *Paths) {
	body := v3Body(b)
	out := make([]Value, paths.Len())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := paths.Extract(body, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract(b *testing.B) { benchExtract(b, CompilePaths(benchFields()...)) }

// BenchmarkDecodeNotification is the typed decode consumers (the ledger) use.
func BenchmarkDecodeNotification(b *testing.B) {
	body := v3Body(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode[Notification](body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractStrict is Extract as the ingress runs it: with the
// notification schema's strict checks in the same pass.
func BenchmarkExtractStrict(b *testing.B) {
	benchExtract(b, NotificationSchema().CompilePaths(benchFields()...))
}
