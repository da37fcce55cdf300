package subjects

import "testing"

func BenchmarkAppendEvent(b *testing.B) {
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], "sandbox", TypeDeposit, "approved")
	}
}

func BenchmarkEventNeedsNormalising(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Event("Sandbox", TypePayout, "In Progress")
	}
}
