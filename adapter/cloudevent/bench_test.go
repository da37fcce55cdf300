package cloudevent

import (
	"bytes"
	"testing"
	"time"
)

func BenchmarkAppend(b *testing.B) {
	data := bytes.Repeat([]byte(`{"a":"0123456789"},`), 75)
	data = append(append([]byte(`[`), data[:len(data)-1]...), ']')
	f := Fields{ID: "sandbox:t:1234567:approved:100:100:USD", Source: "/praxis/sandbox", Type: "praxis.deposit.approved",
		Subject: "1234567", Time: time.Now(), RawMerchant: []byte(`"Test-Integration-Merchant"`), Application: "sandbox",
		Processor: "TestCardProcessor", Data: data,
		RawTID: []byte(`1234567`), Status: "approved", RawAmount: []byte(`100`), RawCurrency: []byte(`"USD"`),
		RawProcessedAmount: []byte(`100`), RawProcessedCurrency: []byte(`"USD"`), RawOrderID: []byte(`"test-1560610955"`)}
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], f)
	}
}
